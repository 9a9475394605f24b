// SQLite ledger: accounts, balances, and the reads shared by the
// other files of this backend. Every operation runs under BEGIN IMMEDIATE (or
// inside the caller's transaction), so a check and the write it guards are
// one step even across threads and processes. The balances and the grants'
// figures are caches of the entries, holds and allocations; sqlite_verify.cc
// recomputes them.
#include "ledger/sqlite/sqlite_ledger.h"

#include <algorithm>

#include "core/assert.h"
#include "core/ids.h"
#include "core/limits.h"
#include "ledger/rules.h"

namespace tollgate::ledger {

HoldState SqliteLedger::parse_hold_state(const std::string& s) {
    if (s == "open") return HoldState::Open;
    if (s == "captured") return HoldState::Captured;
    TOLLGATE_ASSERT(s == "voided");  // the CHECK constraint allows nothing else
    return HoldState::Voided;
}

core::Result<std::string> SqliteLedger::create_account(const std::string& name) {
    if (core::Status valid = check_account_name(name); !valid.ok()) return valid.error();
    std::string id = core::new_id("acct");
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement(db_, "INSERT INTO accounts(id, name, created_ms) VALUES (?1, ?2, ?3)")
            .bind(1, id)
            .bind(2, name)
            .bind(3, clock_.now_ms())
            .run();
        store::Statement(db_, "INSERT INTO balances(account_id) VALUES (?1)").bind(1, id).run();
        return {};
    });
    if (!s.ok()) return s.error();
    return id;
}

core::Result<bool> SqliteLedger::account_exists(const std::string& account_id) {
    bool found = false;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, "SELECT 1 FROM accounts WHERE id = ?1");
        found = st.bind(1, account_id).step();
        return {};
    });
    if (!s.ok()) return s.error();
    return found;
}

core::Result<std::optional<AccountInfo>> SqliteLedger::account(const std::string& account_id) {
    std::optional<AccountInfo> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, "SELECT name, tenant, created_ms FROM accounts WHERE id = ?1");
        if (st.bind(1, account_id).step()) {
            out = AccountInfo{account_id, st.column_text(0), st.column_text(1), st.column_int64(2)};
        }
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<AccountIdPage> SqliteLedger::account_ids(const std::string& cursor,
                                                      std::size_t limit) {
    if (limit == 0) return core::make_error("invalid_limit", "a page holds at least one id");
    const std::size_t page_max = std::min(limit, kAccountIdsPageMax);
    AccountIdPage page;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        // The cursor is the last id of the page before; ids are never empty.
        // One row more than the page tells whether another page follows.
        store::Statement st(db_, "SELECT id FROM accounts WHERE id > ?1 ORDER BY id LIMIT ?2");
        st.bind(1, cursor).bind(2, static_cast<std::int64_t>(page_max) + 1);
        while (st.step()) {
            if (page.ids.size() == page_max) {
                page.next_cursor = page.ids.back();
                break;
            }
            page.ids.push_back(st.column_text(0));
        }
        return {};
    });
    if (!s.ok()) return s.error();
    TOLLGATE_ASSERT(page.ids.size() <= page_max);
    TOLLGATE_ASSERT(page.next_cursor.empty() || page.ids.size() == page_max);
    return page;
}

core::Result<bool> SqliteLedger::set_tenant(const std::string& account_id,
                                            const std::string& tenant) {
    if (tenant.size() > kTenantBytesMax)
        return core::make_error("invalid_tenant", "tenant is longer than 200 bytes");
    bool found = false;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement(db_, "UPDATE accounts SET tenant = NULLIF(?1, '') WHERE id = ?2")
            .bind(1, tenant)
            .bind(2, account_id)
            .run();
        found = sqlite3_changes(db_.handle()) == 1;
        return {};
    });
    if (!s.ok()) return s.error();
    return found;
}

std::optional<SqliteLedger::StoredBalance> SqliteLedger::read_balance(
    const std::string& account_id) {
    store::Statement st(db_,
                        "SELECT granted, held, captured, expired, debited, credit_limit FROM "
                        "balances WHERE account_id = ?1");
    if (!st.bind(1, account_id).step()) return std::nullopt;
    StoredBalance b;
    b.balance.granted = core::Tokens(st.column_int64(0));
    b.balance.held = core::Tokens(st.column_int64(1));
    b.balance.captured = core::Tokens(st.column_int64(2));
    b.balance.expired = core::Tokens(st.column_int64(3));
    b.balance.debited = core::Tokens(st.column_int64(4));
    b.credit_limit = st.column_int64(5);
    TOLLGATE_ASSERT(b.credit_limit >= 0 && b.balance.debited.value >= 0);
    TOLLGATE_ASSERT(b.balance.available().value >= -b.credit_limit);
    return b;
}

void SqliteLedger::check_grant_row(std::int64_t grant_id) {
    store::Statement st(db_,
                        "SELECT tokens, remaining, held, used, expired, debited FROM grants "
                        "WHERE id = ?1");
    TOLLGATE_ASSERT(st.bind(1, grant_id).step());
    std::int64_t tokens = st.column_int64(0);
    std::int64_t remaining = st.column_int64(1);
    std::int64_t held = st.column_int64(2);
    std::int64_t used = st.column_int64(3);
    std::int64_t expired = st.column_int64(4);
    std::int64_t debited = st.column_int64(5);
    TOLLGATE_ASSERT(tokens > 0 && remaining >= 0 && held >= 0 && used >= 0 && expired >= 0 &&
                    debited >= 0);
    TOLLGATE_ASSERT(tokens == remaining + held + used + expired + debited);
}

core::Result<Balance> SqliteLedger::balance(const std::string& account_id) {
    std::optional<StoredBalance> b;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        expire_account(account_id, clock_.now_ms());
        b = read_balance(account_id);
        return {};
    });
    if (!s.ok()) return s.error();
    if (!b.has_value()) return core::make_error("unknown_account", "no such account");
    return b->balance;
}

}  // namespace tollgate::ledger
