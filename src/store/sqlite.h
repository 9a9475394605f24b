// A thin, safe wrapper over one SQLite database file, with group commit.
//
// Owns the connection, its pragmas (WAL, synchronous=FULL, foreign keys) and
// transactions. It knows no money and no jobs: ledger/, jobs/ and usage/ keep
// their own tables in the same file so one transaction can span them (a
// capture, the job's final state and its usage record commit together).
//
// Key invariant: when transact() returns ok, fn's writes are durable (fsynced
// in WAL with synchronous=FULL), and they were applied atomically: all of
// them or, on any error, none.
//
// Threads: any thread may call transact(). With group commit on (the
// default), an outermost transact() hands fn to the Database's committer
// thread and blocks until fn's batch has committed. The committer runs up to
// Options::batch_operations_max queued operations in arrival order inside one
// BEGIN IMMEDIATE ... COMMIT, each under its own savepoint, so a failing
// operation is undone alone and one fsync covers the batch. A transact() or
// Transaction opened while the calling thread is already inside a transaction
// of this Database (which is how fn's own nested calls reach the committer)
// joins it, so parts compose atomically. The connection itself is guarded by
// a recursive mutex held for the whole of each transaction or batch.
//
// Deadlock rule: fn runs on the committer thread and blocks every later
// operation while it runs, so it must not wait on another thread that itself
// calls transact() on this Database (that thread would queue behind fn), nor
// on a lock held by a thread blocked in transact().
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/result.h"

namespace tollgate::store {

class Database;

// A prepared statement. Bind indexes start at 1, column indexes at 0.
//
// Statements are reused: constructing one takes an idle compiled statement
// with the same SQL text from its Database when there is one (parsing and
// planning cost more than most of the queries here), and destroying it resets
// it, clears its bindings and gives it back.
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
    int column_count() const;

  private:
    Database& db_;
    sqlite3_stmt* stmt_ = nullptr;
    // Where stmt_ goes back to; null when the cache was full.
    std::vector<sqlite3_stmt*>* idle_ = nullptr;
};

// How an outermost transact() commits.
enum class Commit {
    // Through the committer when the Database has group commit on, else Alone.
    Batched,
    // On the calling thread, in a transaction of its own with its own fsync.
    Alone,
};

class Database {
  public:
    struct Options {
        // Batch concurrent transactions behind one committer thread (one fsync
        // per batch). Off: every outermost transaction commits on its caller's
        // thread with its own fsync.
        bool group_commit = true;
        // Bound on the operations one batch takes from the queue. The queue
        // itself holds at most one operation per blocked caller.
        int batch_operations_max = 256;
        // A reader beside the process's writing connection (reports): opened
        // read-only on a file that exists, without group commit; its
        // transactions are deferred (BEGIN), so each reads one snapshot and
        // never takes the write lock.
        bool read_only = false;
    };

    // Counters since open, for tests and benchmarks.
    struct Stats {
        // Durable commits: group batches plus transactions committed alone.
        std::uint64_t batches = 0;
        // Operations whose writes those commits made durable.
        std::uint64_t operations = 0;
        // Batched operations that failed and were rolled back alone, or lost
        // with their batch.
        std::uint64_t operations_failed = 0;
        // Checkpoints the checkpointer thread ran (group commit only).
        std::uint64_t checkpoints = 0;
    };

    // Signature of a type-erased transaction body; see transact().
    using Body = core::Status (*)(void* fn);

    // Opens (creating if needed) the file at `path` and sets the pragmas.
    // Group commit is on unless options say otherwise.
    static core::Result<std::unique_ptr<Database>> open(const std::string& path);
    static core::Result<std::unique_ptr<Database>> open(const std::string& path,
                                                        const Options& options);
    // Stops the committer once it has finished every queued operation. No
    // other thread may still be using the Database.
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Runs statements with no parameters and no results (schema, pragmas).
    // Outside a transaction each statement commits on its own.
    core::Status exec(std::string_view sql);

    sqlite3* handle() { return db_; }
    std::recursive_mutex& mutex() { return mutex_; }
    const std::string& path() const { return path_; }
    bool group_commit() const { return committer_.joinable(); }
    Stats stats() const;

    // Turns a SQLite error code into an exception caught by transact(); SQL
    // errors are programmer or disk errors, never domain outcomes.
    void check(int rc, const char* what);

    // Runs body(fn) as one transaction; see transact(), its typed front end.
    core::Status run_transaction(Body body, void* fn, Commit commit);

    // Compiled statements currently idle in the cache, for tests.
    std::size_t idle_statements_for_test();

    // Blocks until at least `count` operations wait in the committer's queue.
    void wait_until_queued_for_test(std::size_t count);
    // Makes the COMMIT of the next batch to begin fail (it rolls back instead).
    void fail_next_commit_for_test() { fail_next_commit_.store(true); }

  private:
    struct Op;
    Database(sqlite3* db, std::string path, const Options& options)
        : db_(db),
          path_(std::move(path)),
          batch_operations_max_(options.batch_operations_max),
          read_only_(options.read_only) {}
    friend class Transaction;
    friend class Statement;

    // Bounds on the statement cache: distinct SQL texts, and idle compiled
    // statements per text (more exist only while that many are in use).
    static constexpr std::size_t kCachedSqlTextsMax = 256;
    // WAL length (pages) that wakes the checkpointer, and the length at which
    // the committer checkpoints by itself.
    static constexpr int kCheckpointPages = 10'000;
    static constexpr int kCheckpointPagesMax = 40'000;
    static constexpr std::size_t kIdleStatementsPerTextMax = 8;
    // An idle compiled statement for `sql`, or null; `*idle` is where to give
    // it back (null when the cache is full).
    sqlite3_stmt* take_statement(std::string_view sql, std::vector<sqlite3_stmt*>** idle);
    void give_back_statement(sqlite3_stmt* stmt, std::vector<sqlite3_stmt*>* idle);

    bool inside_transaction() const {
        return tx_owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
    }
    core::Status run_alone(Body body, void* fn);
    core::Status run_batched(Body body, void* fn);
    void commit_loop();
    void checkpoint_loop();
    // SQLite's WAL hook on the main connection: wakes the checkpointer.
    static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);
    void run_batch(const std::vector<Op*>& ops);
    bool run_op(Op& op);
    int exec_quietly(const char* sql);
    bool deferred_foreign_keys_pending();

    sqlite3* db_;
    std::string path_;
    const int batch_operations_max_;
    const bool read_only_;

    // The connection's transaction state; guarded by mutex_.
    std::recursive_mutex mutex_;
    int depth_ = 0;
    bool failed_ = false;
    // The thread inside a transaction (depth_ > 0), else a default id. Only
    // that thread stores its own id, so comparing with one's own id is exact.
    std::atomic<std::thread::id> tx_owner_{};

    // The committer's queue; guarded by queue_mutex_.
    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::deque<Op*> queue_;
    bool stopping_ = false;
    std::thread committer_;

    // With group commit, checkpoints run on a thread and connection of their
    // own, so that the committer never copies pages into the database file;
    // guarded by checkpoint_mutex_.
    sqlite3* checkpoint_db_ = nullptr;
    std::mutex checkpoint_mutex_;
    std::condition_variable checkpoint_cv_;
    bool checkpoint_wanted_ = false;
    bool checkpoint_stopping_ = false;
    std::thread checkpointer_;
    std::atomic<std::uint64_t> checkpoints_{0};

    std::atomic<bool> fail_next_commit_{false};

    // Idle compiled statements by SQL text; guarded by statements_mutex_.
    // Map nodes never move, so a Statement may keep a pointer to its list.
    std::mutex statements_mutex_;
    std::map<std::string, std::vector<sqlite3_stmt*>, std::less<>> idle_statements_;

    std::atomic<std::uint64_t> batches_{0};
    std::atomic<std::uint64_t> operations_{0};
    std::atomic<std::uint64_t> operations_failed_{0};
};

// Thrown by Database::check inside a transaction; converted to core::Error by
// transact(). Never crosses a part's interface.
struct SqliteError {
    std::string message;
};

// RAII, on the calling thread: BEGIN IMMEDIATE on construction (outermost
// only), ROLLBACK unless commit() was called. Nested transactions join the
// outer one. An outermost Transaction always commits alone (its own fsync);
// prefer transact(), which batches.
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

// Runs `fn` (returning core::Status) as one atomic transaction and returns
// its status once the transaction is durable or rolled back:
// - ok: fn returned ok and its writes are committed and fsynced;
// - fn's own error: fn returned it, and its writes were rolled back;
// - "storage_error": SQLite failed (fn threw SqliteError, or its batch could
//   not commit); none of fn's writes were applied.
// A call made inside a transaction of `db` on the same thread (fn's nested
// calls) joins it: its failure fails the enclosing transaction too. Any other
// exception fn throws rolls fn back and is rethrown to the caller of
// transact(), whichever thread fn ran on; the committer itself never dies of
// it. With group commit fn runs on the committer thread: see the deadlock
// rule at the top of this file.
template <typename Fn>
core::Status transact(Database& db, Fn&& fn, Commit commit = Commit::Batched) {
    using Callable = std::remove_reference_t<Fn>;
    Database::Body body = [](void* p) -> core::Status { return (*static_cast<Callable*>(p))(); };
    return db.run_transaction(body, const_cast<void*>(static_cast<const void*>(std::addressof(fn))),
                              commit);
}

}  // namespace tollgate::store
