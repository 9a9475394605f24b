// Entries: the append-only record of every movement, and statements.
//
// Each entry stores balance_after, the account's available balance right
// after its movement, read from the cached balances row when the entry is
// written. A statement page therefore needs no recomputation, and
// sqlite_verify_entries.cc checks the running sequence against each entry's
// own movement. Recomputing balances at read time was rejected: a page deep
// into a long history would have to sum every entry before it.
//
// Pages are keyed by entry id (ascending), not by offset, so a page is one
// index range scan however far into the history it starts, and entries
// written while a client pages never shift the pages it has not read yet.
#include <algorithm>

#include "core/assert.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {
namespace {

constexpr const char* kEntryColumns =
    "id, kind, tokens, hold_key, reason, created_ms, grant_id, balance_after";

Entry read_entry(const store::Statement& st, const std::string& account_id) {
    Entry e;
    e.id = st.column_int64(0);
    e.account_id = account_id;
    e.kind = st.column_text(1);
    e.tokens = core::Tokens(st.column_int64(2));
    e.hold_key = st.column_text(3);
    e.reason = st.column_text(4);
    e.created_ms = st.column_int64(5);
    if (!st.column_is_null(6)) e.grant_id = st.column_int64(6);
    e.balance_after = st.column_int64(7);
    TOLLGATE_ASSERT(e.id > 0);
    TOLLGATE_ASSERT(e.tokens.value > 0 || (e.kind == "adjustment" && e.tokens.value < 0));
    return e;
}

}  // namespace

std::int64_t SqliteLedger::add_entry(const std::string& account_id, const char* kind,
                                     core::Tokens tokens, const std::string& hold_key,
                                     const std::string& reason,
                                     std::optional<std::int64_t> grant_id, std::int64_t now_ms) {
    TOLLGATE_ASSERT(tokens.value > 0 || (std::string(kind) == "adjustment" && tokens.value < 0));
    std::optional<StoredBalance> after = read_balance(account_id);
    TOLLGATE_ASSERT(after.has_value());  // every caller checked the account first
    store::Statement st(db_,
                        "INSERT INTO entries(account_id, kind, tokens, hold_key, reason, "
                        "grant_id, created_ms, balance_after) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.bind(1, account_id).bind(2, kind).bind(3, tokens.value).bind(4, hold_key).bind(5, reason);
    if (grant_id.has_value()) {
        st.bind(6, *grant_id);
    } else {
        st.bind_null(6);
    }
    st.bind(7, now_ms).bind(8, after->balance.available().value).run();
    return sqlite3_last_insert_rowid(db_.handle());
}

core::Result<std::vector<Entry>> SqliteLedger::entries(const std::string& account_id) {
    std::vector<Entry> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, std::string("SELECT ") + kEntryColumns +
                                     " FROM entries WHERE account_id = ?1 ORDER BY id");
        st.bind(1, account_id);
        while (st.step()) out.push_back(read_entry(st, account_id));
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<EntryPage> SqliteLedger::entries_page(const std::string& account_id,
                                                   std::int64_t from_ms, std::int64_t to_ms,
                                                   std::int64_t after_id, std::size_t limit) {
    if (limit == 0) return core::make_error("invalid_limit", "a page holds at least one entry");
    std::size_t page_max = std::min(limit, kEntriesPageMax);
    EntryPage page;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        if (!read_balance(account_id).has_value())
            return core::make_error("unknown_account", "no such account");
        // One row more than the page tells whether another page follows.
        store::Statement st(db_, std::string("SELECT ") + kEntryColumns +
                                     " FROM entries WHERE account_id = ?1 AND id > ?2 AND "
                                     "created_ms >= ?3 AND created_ms < ?4 ORDER BY id LIMIT ?5");
        st.bind(1, account_id).bind(2, after_id).bind(3, from_ms).bind(4, to_ms);
        st.bind(5, static_cast<std::int64_t>(page_max) + 1);
        while (st.step()) {
            if (page.entries.size() == page_max) {
                page.next_after_id = page.entries.back().id;
                break;
            }
            page.entries.push_back(read_entry(st, account_id));
        }
        return {};
    });
    if (!s.ok()) return s.error();
    TOLLGATE_ASSERT(page.entries.size() <= page_max);
    TOLLGATE_ASSERT(!page.next_after_id.has_value() || page.entries.size() == page_max);
    for (std::size_t i = 0; i < page.entries.size(); ++i) {
        const Entry& e = page.entries[i];
        TOLLGATE_ASSERT(e.id > after_id && e.created_ms >= from_ms && e.created_ms < to_ms);
        TOLLGATE_ASSERT(i == 0 || page.entries[i - 1].id < e.id);
    }
    return page;
}

}  // namespace tollgate::ledger
