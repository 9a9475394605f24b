// SQLite wrapper. Errors inside a transaction throw SqliteError so that the
// caller's code reads straight-line; transact() converts it back to a Status
// at the part's boundary. The outermost Transaction owns BEGIN/COMMIT, so
// composing ledger + jobs + usage writes into one atomic commit needs no extra
// plumbing.
#include "store/sqlite.h"

#include "core/assert.h"

namespace tollgate::store {

core::Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        return core::make_error("storage_error", "cannot open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db, 5000);
    std::unique_ptr<Database> out(new Database(db, path));
    core::Status s =
        out->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    if (!s.ok()) return s.error();
    return out;
}

Database::~Database() { sqlite3_close(db_); }

core::Status Database::exec(std::string_view sql) {
    std::lock_guard lock(mutex_);
    char* err = nullptr;
    std::string text(sql);
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        return core::make_error("storage_error", msg);
    }
    return {};
}

void Database::check(int rc, const char* what) {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
    failed_ = true;
    throw SqliteError{std::string(what) + ": " + sqlite3_errmsg(db_)};
}

Statement::Statement(Database& db, std::string_view sql) : db_(db) {
    db_.check(
        sqlite3_prepare_v2(db_.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr),
        "prepare");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::int64_t value) {
    db_.check(sqlite3_bind_int64(stmt_, index, value), "bind");
    return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
    db_.check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                                SQLITE_TRANSIENT),
              "bind");
    return *this;
}

Statement& Statement::bind_null(int index) {
    db_.check(sqlite3_bind_null(stmt_, index), "bind");
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    db_.check(rc, "step");
    return rc == SQLITE_ROW;
}

void Statement::run() {
    while (step()) {
    }
}

std::int64_t Statement::column_int64(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::column_text(int index) const {
    const unsigned char* p = sqlite3_column_text(stmt_, index);
    if (p == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool Statement::column_is_null(int index) const {
    return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

Transaction::Transaction(Database& db) : db_(db), lock_(db.mutex_) {
    if (db_.depth_++ == 0) {
        db_.failed_ = false;
        int rc = sqlite3_exec(db_.db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) {
            --db_.depth_;
            done_ = true;
            throw SqliteError{std::string("begin: ") + sqlite3_errmsg(db_.db_)};
        }
    }
}

void Transaction::commit() {
    TOLLGATE_ASSERT(!done_);
    done_ = true;
    if (--db_.depth_ > 0) return;
    if (db_.failed_) {
        sqlite3_exec(db_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw SqliteError{"transaction rolled back after an earlier error"};
    }
    int rc = sqlite3_exec(db_.db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = sqlite3_errmsg(db_.db_);
        sqlite3_exec(db_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw SqliteError{"commit: " + msg};
    }
}

Transaction::~Transaction() {
    if (done_) return;
    // Not committed: an exception or an early return. Inner scopes poison the
    // outer transaction so it rolls back as a whole.
    db_.failed_ = true;
    if (--db_.depth_ == 0) sqlite3_exec(db_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace tollgate::store
