// A thin, safe wrapper over one SQLite database file.
//
// Owns the connection, its pragmas (WAL, synchronous=FULL, foreign keys) and
// transactions. It knows no money and no jobs: ledger/, jobs/ and usage/ keep
// their own tables in the same file so one transaction can span them (a
// capture, the job's final state and its usage record commit together).
//
// Threads: one connection guarded by a recursive mutex. A Transaction holds the
// mutex from BEGIN IMMEDIATE to COMMIT; a Transaction opened while this thread
// already holds one joins it, so parts can be composed atomically.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tollgate::store {

class Database;

// A prepared statement. Bind indexes start at 1, column indexes at 0.
class Statement {
  public:
    Statement(Database& db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view value);
    Statement& bind_null(int index);

    // Advances: true when a row is available, false when done. Errors abort
    // the enclosing transaction (see Database::check).
    bool step();
    // Runs to completion, expecting no rows.
    void run();

    std::int64_t column_int64(int index) const;
    std::string column_text(int index) const;
    bool column_is_null(int index) const;

  private:
    Database& db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class Database {
  public:
    // Opens (creating if needed) the file at `path` and sets the pragmas.
    static core::Result<std::unique_ptr<Database>> open(const std::string& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Runs statements with no parameters and no results (schema, pragmas).
    core::Status exec(std::string_view sql);

    sqlite3* handle() { return db_; }
    std::recursive_mutex& mutex() { return mutex_; }
    const std::string& path() const { return path_; }

    // Turns a SQLite error code into an exception caught by Transaction; SQL
    // errors are programmer or disk errors, never domain outcomes.
    void check(int rc, const char* what);

  private:
    Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    friend class Transaction;
    sqlite3* db_;
    std::string path_;
    std::recursive_mutex mutex_;
    int depth_ = 0;
    bool failed_ = false;
};

// Thrown by Database::check inside a transaction; converted to core::Error by
// Database::transact. Never crosses a part's interface.
struct SqliteError {
    std::string message;
};

// RAII: BEGIN IMMEDIATE on construction (outermost only), ROLLBACK unless
// commit() was called. Nested transactions join the outer one.
class Transaction {
  public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    // Commits (outermost) durably; an inner commit only marks success.
    void commit();

  private:
    Database& db_;
    std::unique_lock<std::recursive_mutex> lock_;
    bool done_ = false;
};

// Runs `fn` inside a transaction and commits; any SqliteError becomes an
// Error with code "storage_error". `fn` returns core::Status; a non-ok
// status rolls back.
template <typename Fn>
core::Status transact(Database& db, Fn&& fn) {
    try {
        Transaction tx(db);
        core::Status s = fn();
        if (!s.ok()) return s;
        tx.commit();
        return {};
    } catch (const SqliteError& e) {
        return core::make_error("storage_error", e.message);
    }
}

}  // namespace tollgate::store
