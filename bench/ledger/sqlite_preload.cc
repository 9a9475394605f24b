// Bulk preload: the ledger's own rows, generated inside SQLite by one
// INSERT ... SELECT per table over a recursive series, in transactions of
// kAccountsPerTransaction accounts.
//
// Account i has holds_of(i) = base + (i < extra ? 1 : 0) captured holds, where
// base and extra divide the holds evenly; its holds are numbered from
// first_hold(i) = i * base + min(i, extra). Its entries are generated in the
// order the ledger would have written them (grant, then hold and capture of
// each hold in turn), so entry ids ascend through each account's history and
// every balance_after is the running available balance. Every id and key
// ascends in insertion order (fixed-width decimal after the usual prefix), so
// each B-tree insert is an append.
//
// The connection keeps the store's settings throughout: foreign keys, every
// CHECK constraint and synchronous=FULL at each commit. The rows are
// consistent by construction; bench_ledger --verify runs the ledger's
// verify() on them. (Turning foreign keys off or enlarging the page cache
// made the load no faster.)
//
// Rejected: SqliteLedger::grant/reserve/capture (each call prepares its
// statements afresh and reads every row back, so 10 M entries would take
// hours), and one bound INSERT per row from C++ (about three times the CPU of
// generating the rows in SQL, most of it in per-call overhead).
#include "bench/ledger/sqlite_preload.h"

#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "bench/ledger/workload.h"

namespace tollgate::bench {
namespace {

constexpr std::int64_t kAccountsPerTransaction = 10'000;
// Preloaded rows date from an hour before the run, so grants are active.
constexpr std::int64_t kPreloadAgeMs = 60 * 60 * 1000;

// The parameters every statement below may use:
// ?1 first account, ?2 end (exclusive), ?3 base, ?4 extra, ?5 tokens granted,
// ?6 created_ms, ?7 id of the first account's grant (once grants exist).
constexpr const char* kAccountSeries =
    "WITH RECURSIVE a(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM a WHERE i + 1 < ?2) ";
// The accounts and, per account, the positions 0 .. 2 * holds_of(i) of its
// entries (a series long enough for the busiest account).
constexpr const char* kHoldSeries =
    "WITH RECURSIVE a(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM a WHERE i + 1 < ?2), "
    "s(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM s WHERE j + 1 < 2 * ?3 + 3) ";
// In the statements below, run() replaces {holds} by holds_of(i) and
// {first_hold} by first_hold(i).
constexpr const char* kInsertAccounts =
    "INSERT INTO accounts(id, name, created_ms) "
    "SELECT printf('acct_%024d', i), 'preload', ?6 FROM a";
constexpr const char* kInsertBalances =
    "INSERT INTO balances(account_id, granted, held, captured) "
    "SELECT printf('acct_%024d', i), ?5, 0, {holds} FROM a";
constexpr const char* kInsertGrants =
    "INSERT INTO grants(account_id, reason, tokens, remaining, used, starts_ms, created_ms) "
    "SELECT printf('acct_%024d', i), 'preload', ?5, ?5 - {holds}, {holds}, ?6, ?6 FROM a";
constexpr const char* kInsertHolds =
    "INSERT INTO holds(key, account_id, tokens, state, created_ms, settled_ms, captured) "
    "SELECT printf('hold_%024d', {first_hold} + j), printf('acct_%024d', i), 1, 'captured', "
    "?6, ?6, 1 FROM a, s WHERE j < {holds} ORDER BY i, j";
constexpr const char* kInsertAllocations =
    "INSERT INTO hold_allocations(hold_key, slice, grant_id, tokens, captured) "
    "SELECT printf('hold_%024d', {first_hold} + j), 0, ?7 + i - ?1, 1, 1 "
    "FROM a, s WHERE j < {holds} ORDER BY i, j";
// Position 0 is the grant entry; 2k + 1 and 2k + 2 the hold and capture
// entries of the account's k-th hold, after which available is granted - k - 1.
constexpr const char* kInsertEntries =
    "INSERT INTO entries(account_id, kind, tokens, hold_key, reason, grant_id, created_ms, "
    "balance_after) "
    "SELECT printf('acct_%024d', i), "
    "CASE WHEN j = 0 THEN 'grant' WHEN j % 2 = 1 THEN 'hold' ELSE 'capture' END, "
    "CASE WHEN j = 0 THEN ?5 ELSE 1 END, "
    "CASE WHEN j = 0 THEN '' ELSE printf('hold_%024d', {first_hold} + (j - 1) / 2) END, "
    "CASE WHEN j = 0 THEN 'preload' ELSE '' END, "
    "CASE WHEN j = 0 THEN ?7 + i - ?1 END, "
    "?6, ?5 - (j + 1) / 2 "
    "FROM a, s WHERE j < 1 + 2 * {holds} ORDER BY i, j";

struct Chunk {
    std::int64_t first, end, base, extra, created_ms;
    std::int64_t first_grant_id = 0;
};

// Runs one generating statement over the chunk, binding the parameters it
// uses (SQLite refuses a bind past the highest one in the text).
void run(store::Database& db, const char* series, const char* insert, const Chunk& c) {
    std::string sql = std::string(series) + insert;
    for (auto [name, value] : {std::pair{"{holds}", "(?3 + (i < ?4))"},
                               std::pair{"{first_hold}", "(i * ?3 + min(i, ?4))"}}) {
        const std::string placeholder = name;
        for (auto at = sql.find(placeholder); at != std::string::npos; at = sql.find(placeholder))
            sql.replace(at, placeholder.size(), value);
    }
    sqlite3_stmt* raw = nullptr;
    db.check(sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &raw, nullptr), "prepare");
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> st(raw, sqlite3_finalize);
    const std::int64_t values[] = {c.first,        c.end,        c.base,          c.extra,
                                   kAccountTokens, c.created_ms, c.first_grant_id};
    const int used = sqlite3_bind_parameter_count(st.get());
    for (int i = 1; i <= used; ++i)
        db.check(sqlite3_bind_int64(st.get(), i, values[i - 1]), "bind");
    db.check(sqlite3_step(st.get()), "insert");
}

void write_chunk(store::Database& db, Chunk& c) {
    run(db, kAccountSeries, kInsertAccounts, c);
    run(db, kAccountSeries, kInsertBalances, c);
    run(db, kAccountSeries, kInsertGrants, c);
    // One INSERT gives its rows consecutive ids, in account order.
    store::Statement grant(db, "SELECT id FROM grants WHERE account_id = ?1");
    grant.bind(1, preloaded_account_id(c.first)).step();
    c.first_grant_id = grant.column_int64(0);
    run(db, kHoldSeries, kInsertHolds, c);
    run(db, kHoldSeries, kInsertAllocations, c);
    run(db, kHoldSeries, kInsertEntries, c);
}

}  // namespace

std::string preloaded_account_id(std::int64_t index) {
    std::string digits = std::to_string(index);
    return "acct_" + std::string(24 - std::min<std::size_t>(24, digits.size()), '0') + digits;
}

core::Result<bool> preload_present(store::Database& db, std::int64_t accounts) {
    bool found = false;
    core::Status s = store::transact(db, [&]() -> core::Status {
        store::Statement st(db, "SELECT 1 FROM accounts WHERE id = ?1");
        found = st.bind(1, preloaded_account_id(accounts - 1)).step();
        return {};
    });
    if (!s.ok()) return s.error();
    return found;
}

core::Result<PreloadCount> preload(store::Database& db, std::int64_t accounts, std::int64_t entries,
                                   std::int64_t now_ms) {
    PreloadCount count;
    if (accounts <= 0) return count;
    const std::int64_t holds = std::max<std::int64_t>(0, entries - accounts) / 2;
    for (std::int64_t first = 0; first < accounts; first += kAccountsPerTransaction) {
        Chunk chunk{first, std::min(accounts, first + kAccountsPerTransaction), holds / accounts,
                    holds % accounts, now_ms - kPreloadAgeMs};
        core::Status s = store::transact(
            db,
            [&]() -> core::Status {
                write_chunk(db, chunk);
                return {};
            },
            store::Commit::Alone);
        if (!s.ok()) return s.error();
    }
    count.accounts = accounts;
    count.holds = holds;
    count.entries = accounts + 2 * holds;
    return count;
}

}  // namespace tollgate::bench
