// SQLite wrapper with group commit.
//
// Errors inside a transaction throw SqliteError so that the caller's code
// reads straight-line; transact() converts it back to a Status at the part's
// boundary. The outermost transaction owns BEGIN/COMMIT, so composing ledger +
// jobs + usage writes into one atomic commit needs no extra plumbing.
//
// Group commit. With synchronous=FULL every COMMIT costs an fsync (about
// 160 us here), which caps one-transaction-per-operation at a few thousand
// operations per second however many threads call. So an outermost
// transact() does not commit on its caller's thread: it queues a pointer to
// an Op on the caller's stack and sleeps on the Op's condition variable. One
// committer thread per Database takes every queued Op (up to a bound) in
// arrival order, opens BEGIN IMMEDIATE, and runs each Op between SAVEPOINT and
// RELEASE; an Op that fails is undone with ROLLBACK TO, so only its own
// writes go. One COMMIT then makes the whole batch durable, and only then is
// each caller woken with its own result. Batches form by themselves: while
// the committer waits on one fsync, the next callers queue up. No timer
// delays a lone operation.
//
// Because each Op runs to completion on one thread before the next starts,
// operations stay serializable in arrival order, exactly as with one
// transaction each. Nested transact() calls inside an Op see that their
// thread already owns the transaction (tx_owner_) and join it, as before.
//
// If the batch's transaction is lost (COMMIT fails, or SQLite rolls the whole
// transaction back after an I/O error), every Op of the batch gets a
// storage_error: none of them was applied. An exception other than
// SqliteError thrown by an Op is caught on the committer, the Op is rolled
// back, and the exception is rethrown on the waiting caller's thread, so a
// bug surfaces where it would without group commit.
//
// Rejected: a connection per thread with WAL's concurrent readers (writers
// still serialize on SQLite's write lock and pay one fsync each);
// synchronous=NORMAL (an acknowledged reserve could vanish on power loss); a
// fixed batching delay (adds latency when the gateway is idle); pipelining
// the fsync (synchronous=NORMAL, with a thread that fsyncs the WAL behind
// the committer and answers each batch afterwards), measured slower with
// the ledger bench: COMMITs no longer wait, so batches shrink and the same
// hot pages are written to the WAL again by every small batch.
#include "store/sqlite.h"

#include <cstdio>

#include "core/assert.h"

namespace tollgate::store {

// One queued operation, owned by the caller blocked in run_batched(). The
// committer writes result and thrown, then sets done under queue_mutex_.
struct Database::Op {
    Body body;
    void* fn;
    core::Status result;
    std::exception_ptr thrown;
    bool done = false;
    std::condition_variable cv;
};

namespace {

core::Error storage_error(std::string message) {
    return core::make_error("storage_error", std::move(message));
}

}  // namespace

core::Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
    return open(path, Options{});
}

core::Result<std::unique_ptr<Database>> Database::open(const std::string& path,
                                                       const Options& options) {
    TOLLGATE_ASSERT(options.batch_operations_max >= 1);
    sqlite3* db = nullptr;
    const int flags =
        options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        return core::make_error("storage_error", "cannot open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db, 5000);
    std::unique_ptr<Database> out(new Database(db, path, options));
    // Checkpoints every 10,000 WAL pages (about 40 MB) rather than SQLite's
    // 1,000: pages that every batch rewrites (the ends of the time-ordered
    // indexes, busy accounts' balances) reach the database file once per
    // checkpoint, so fewer checkpoints write less. With group commit they run
    // on the checkpointer thread instead (see on_wal_commit). A 64 MB page cache and
    // reads through a 1 GB memory map keep the hot pages of a large ledger
    // (a million accounts, ten million entries) in memory without a system
    // call per page; writes still go through the WAL. Temporary tables,
    // sorts and statement journals stay in memory: on disk each one was a
    // file created, written and unlinked (about one per two jobs under load),
    // and every statement here is bounded.
    if (options.read_only) {
        core::Status s = out->exec(
            "PRAGMA query_only=ON; PRAGMA cache_size=-16384; PRAGMA mmap_size=1073741824; "
            "PRAGMA temp_store=MEMORY;");
        if (!s.ok()) return s.error();
        return out;
    }
    core::Status s = out->exec(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
        "PRAGMA wal_autocheckpoint=10000; PRAGMA cache_size=-65536; "
        "PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;");
    if (!s.ok()) return s.error();
    if (options.group_commit) {
        // A second connection checkpoints; the main one only asks for it.
        rc = sqlite3_open_v2(path.c_str(), &out->checkpoint_db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            return core::make_error(
                "storage_error", "cannot open " + path + " to checkpoint: " + sqlite3_errstr(rc));
        }
        sqlite3_wal_hook(db, &Database::on_wal_commit, out.get());
        out->checkpointer_ = std::thread([p = out.get()] { p->checkpoint_loop(); });
        out->committer_ = std::thread([p = out.get()] { p->commit_loop(); });
    }
    return out;
}

Database::~Database() {
    if (committer_.joinable()) {
        {
            std::lock_guard lock(queue_mutex_);
            stopping_ = true;
        }
        queue_cv_.notify_one();
        committer_.join();
    }
    if (checkpointer_.joinable()) {
        {
            std::lock_guard lock(checkpoint_mutex_);
            checkpoint_stopping_ = true;
        }
        checkpoint_cv_.notify_one();
        checkpointer_.join();
    }
    // Closed first, so that the main connection is the last one and
    // checkpoints what is left as it closes.
    if (checkpoint_db_ != nullptr) sqlite3_close(checkpoint_db_);
    for (auto& [sql, stmts] : idle_statements_) {
        for (sqlite3_stmt* stmt : stmts) sqlite3_finalize(stmt);
    }
    sqlite3_close(db_);
}

Database::Stats Database::stats() const {
    return Stats{batches_.load(std::memory_order_relaxed),
                 operations_.load(std::memory_order_relaxed),
                 operations_failed_.load(std::memory_order_relaxed),
                 checkpoints_.load(std::memory_order_relaxed)};
}

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

bool Database::deferred_foreign_keys_pending() {
    int current = 0;
    int highwater = 0;
    sqlite3_db_status(db_, SQLITE_DBSTATUS_DEFERRED_FKS, &current, &highwater, 0);
    return current > 0;
}

// One statement, compiled once and then taken from the statement cache: the
// transaction control statements run several times per operation.
int Database::exec_quietly(const char* sql) {
    std::vector<sqlite3_stmt*>* idle = nullptr;
    sqlite3_stmt* stmt = take_statement(sql, &idle);
    if (stmt == nullptr) {
        int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
        if (rc != SQLITE_OK) return rc;
    }
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) rc = SQLITE_OK;
    if (idle == nullptr) {
        sqlite3_finalize(stmt);
    } else {
        give_back_statement(stmt, idle);
    }
    return rc;
}

void Database::check(int rc, const char* what) {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
    // Only the thread inside the transaction may poison it; a stray statement
    // from another thread must not touch its state.
    if (inside_transaction()) failed_ = true;
    throw SqliteError{std::string(what) + ": " + sqlite3_errmsg(db_)};
}

core::Status Database::run_transaction(Body body, void* fn, Commit commit) {
    if (!inside_transaction() && commit == Commit::Batched && committer_.joinable()) {
        return run_batched(body, fn);
    }
    return run_alone(body, fn);
}

// The path without the committer, and the one nested calls take: outermost
// here means this thread's own BEGIN IMMEDIATE ... COMMIT.
core::Status Database::run_alone(Body body, void* fn) {
    try {
        Transaction tx(*this);
        core::Status s = body(fn);
        if (!s.ok()) return s;
        tx.commit();
        return {};
    } catch (const SqliteError& e) {
        return storage_error(e.message);
    }
}

core::Status Database::run_batched(Body body, void* fn) {
    // Only Ops run on the committer, and inside an Op the thread owns the
    // transaction, so reaching here from the committer would wait on itself.
    TOLLGATE_ASSERT(std::this_thread::get_id() != committer_.get_id());
    Op op{body, fn, {}, nullptr, false, {}};
    {
        std::unique_lock lock(queue_mutex_);
        TOLLGATE_ASSERT(!stopping_);
        queue_.push_back(&op);
        // All: besides the committer, a test may wait for the queue to fill.
        queue_cv_.notify_all();
        op.cv.wait(lock, [&] { return op.done; });
    }
    if (op.thrown) std::rethrow_exception(op.thrown);
    return std::move(op.result);
}

void Database::wait_until_queued_for_test(std::size_t count) {
    std::unique_lock lock(queue_mutex_);
    queue_cv_.wait(lock, [&] { return queue_.size() >= count; });
}

int Database::on_wal_commit(void* self, sqlite3* db, const char* name, int frames) {
    auto* d = static_cast<Database*>(self);
    if (frames >= kCheckpointPagesMax) {
        // The checkpointer is not keeping up (long readers, a slow disk):
        // bound the WAL here, as SQLite's own autocheckpoint would.
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (frames >= kCheckpointPages) {
        {
            std::lock_guard lock(d->checkpoint_mutex_);
            d->checkpoint_wanted_ = true;
        }
        d->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
}

void Database::checkpoint_loop() {
    for (;;) {
        {
            std::unique_lock lock(checkpoint_mutex_);
            checkpoint_cv_.wait(lock, [&] { return checkpoint_wanted_ || checkpoint_stopping_; });
            if (checkpoint_stopping_) return;
            checkpoint_wanted_ = false;
        }
        // PASSIVE: copies what no reader still needs, without blocking the
        // committer, which goes on appending to the WAL meanwhile.
        int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_, "main", SQLITE_CHECKPOINT_PASSIVE,
                                           nullptr, nullptr);
        if (rc == SQLITE_OK) checkpoints_.fetch_add(1, std::memory_order_relaxed);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
            // Not fatal: the WAL keeps every commit; the next one retries.
            std::fprintf(stderr, "tollgate: checkpoint of %s failed: %s\n", path_.c_str(),
                         sqlite3_errstr(rc));
        }
    }
}

void Database::commit_loop() {
    const auto batch_max = static_cast<std::size_t>(batch_operations_max_);
    std::vector<Op*> batch;
    batch.reserve(batch_max);
    for (;;) {
        {
            std::unique_lock lock(queue_mutex_);
            queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and every Op is answered
            while (!queue_.empty() && batch.size() < batch_max) {
                batch.push_back(queue_.front());
                queue_.pop_front();
            }
        }
        run_batch(batch);
        {
            // Notify under the lock: once it sees done, the caller may return
            // and destroy the Op with its condition variable.
            std::lock_guard lock(queue_mutex_);
            for (Op* op : batch) {
                op->done = true;
                op->cv.notify_one();
            }
        }
        batch.clear();
    }
}

void Database::run_batch(const std::vector<Op*>& ops) {
    std::lock_guard lock(mutex_);
    TOLLGATE_ASSERT(depth_ == 0);
    const bool fail_commit = fail_next_commit_.exchange(false);
    std::string lost;  // why the batch's transaction was lost, if it was
    if (exec_quietly("BEGIN IMMEDIATE") != SQLITE_OK) {
        lost = std::string("begin: ") + sqlite3_errmsg(db_);
    } else {
        depth_ = 1;
        tx_owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
        for (Op* op : ops) {
            if (!run_op(*op)) {
                lost = std::string("transaction lost: ") + sqlite3_errmsg(db_);
                break;
            }
        }
        depth_ = 0;
        tx_owner_.store(std::thread::id(), std::memory_order_relaxed);
        if (lost.empty() && fail_commit) {
            lost = "commit: failure injected by a test";
        } else if (lost.empty() && exec_quietly("COMMIT") != SQLITE_OK) {
            lost = std::string("commit: ") + sqlite3_errmsg(db_);
        }
        if (!lost.empty() && sqlite3_get_autocommit(db_) == 0) exec_quietly("ROLLBACK");
    }
    if (!lost.empty()) {
        for (Op* op : ops) {
            if (!op->thrown) op->result = storage_error(lost);
        }
        operations_failed_.fetch_add(ops.size(), std::memory_order_relaxed);
        return;
    }
    std::uint64_t applied = 0;
    for (const Op* op : ops) {
        if (op->result.ok() && !op->thrown) ++applied;
    }
    batches_.fetch_add(1, std::memory_order_relaxed);
    operations_.fetch_add(applied, std::memory_order_relaxed);
    operations_failed_.fetch_add(ops.size() - applied, std::memory_order_relaxed);
}

// Runs one Op under its own savepoint and undoes it alone if it failed.
// Returns false when the batch's transaction can no longer be trusted.
bool Database::run_op(Op& op) {
    failed_ = false;
    if (exec_quietly("SAVEPOINT tollgate_op") != SQLITE_OK) return false;
    try {
        op.result = op.body(op.fn);
        // A SqliteError that fn caught itself still fails the Op, as a
        // transaction of its own would have refused to commit.
        if (op.result.ok() && failed_) {
            op.result = storage_error("transaction rolled back after an earlier error");
        }
        // A deferred foreign key left dangling would fail the batch's COMMIT
        // and with it every neighbour; fail this Op instead.
        if (op.result.ok() && deferred_foreign_keys_pending()) {
            op.result = storage_error("commit: FOREIGN KEY constraint failed");
        }
    } catch (const SqliteError& e) {
        op.result = storage_error(e.message);
    } catch (...) {
        op.thrown = std::current_exception();
    }
    TOLLGATE_ASSERT(depth_ == 1);  // every nested Transaction has ended
    bool undo = op.thrown || !op.result.ok();
    if (undo && exec_quietly("ROLLBACK TO tollgate_op") != SQLITE_OK) return false;
    // RELEASE fails too if the Op ended the transaction itself, or if SQLite
    // rolled it back after an I/O error.
    return exec_quietly("RELEASE tollgate_op") == SQLITE_OK && sqlite3_get_autocommit(db_) == 0;
}

Statement::Statement(Database& db, std::string_view sql) : db_(db) {
    stmt_ = db_.take_statement(sql, &idle_);
    if (stmt_ != nullptr) return;
    db_.check(
        sqlite3_prepare_v2(db_.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr),
        "prepare");
}

Statement::~Statement() {
    if (stmt_ == nullptr) return;
    if (idle_ == nullptr) {
        sqlite3_finalize(stmt_);
        return;
    }
    db_.give_back_statement(stmt_, idle_);
}

sqlite3_stmt* Database::take_statement(std::string_view sql, std::vector<sqlite3_stmt*>** idle) {
    std::lock_guard lock(statements_mutex_);
    auto it = idle_statements_.find(sql);
    if (it == idle_statements_.end()) {
        *idle = nullptr;
        if (idle_statements_.size() >= kCachedSqlTextsMax) return nullptr;
        it = idle_statements_.emplace(std::string(sql), std::vector<sqlite3_stmt*>{}).first;
    }
    *idle = &it->second;
    if (it->second.empty()) return nullptr;
    sqlite3_stmt* stmt = it->second.back();
    it->second.pop_back();
    return stmt;
}

void Database::give_back_statement(sqlite3_stmt* stmt, std::vector<sqlite3_stmt*>* idle) {
    // A reset statement holds no read transaction open; its last error, if
    // any, was already reported by step().
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    {
        std::lock_guard lock(statements_mutex_);
        if (idle->size() < kIdleStatementsPerTextMax) {
            idle->push_back(stmt);
            return;
        }
    }
    sqlite3_finalize(stmt);
}

std::size_t Database::idle_statements_for_test() {
    std::lock_guard lock(statements_mutex_);
    std::size_t n = 0;
    for (const auto& [sql, stmts] : idle_statements_) n += stmts.size();
    return n;
}

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

int Statement::column_count() const { return sqlite3_column_count(stmt_); }

bool Statement::column_is_null(int index) const {
    return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

Transaction::Transaction(Database& db) : db_(db), lock_(db.mutex_) {
    if (db_.depth_++ == 0) {
        db_.failed_ = false;
        int rc = db_.exec_quietly(db_.read_only_ ? "BEGIN" : "BEGIN IMMEDIATE");
        if (rc != SQLITE_OK) {
            --db_.depth_;
            done_ = true;
            throw SqliteError{std::string("begin: ") + sqlite3_errmsg(db_.db_)};
        }
        db_.tx_owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    }
}

void Transaction::commit() {
    TOLLGATE_ASSERT(!done_);
    done_ = true;
    if (--db_.depth_ > 0) return;
    db_.tx_owner_.store(std::thread::id(), std::memory_order_relaxed);
    if (db_.failed_) {
        db_.exec_quietly("ROLLBACK");
        throw SqliteError{"transaction rolled back after an earlier error"};
    }
    int rc = db_.exec_quietly("COMMIT");
    if (rc != SQLITE_OK) {
        std::string msg = sqlite3_errmsg(db_.db_);
        db_.exec_quietly("ROLLBACK");
        throw SqliteError{"commit: " + msg};
    }
    db_.batches_.fetch_add(1, std::memory_order_relaxed);
    db_.operations_.fetch_add(1, std::memory_order_relaxed);
}

Transaction::~Transaction() {
    if (done_) return;
    // Not committed: an exception or an early return. Inner scopes poison the
    // outer transaction so it rolls back as a whole.
    db_.failed_ = true;
    if (--db_.depth_ == 0) {
        db_.tx_owner_.store(std::thread::id(), std::memory_order_relaxed);
        db_.exec_quietly("ROLLBACK");
    }
}

}  // namespace tollgate::store
