// SQLite ledger: accounts, API keys, and the reads and writes shared by the
// other files of this backend. Every operation runs under BEGIN IMMEDIATE (or
// inside the caller's transaction), so a check and the write it guards are
// one step even across threads and processes. The balances and the grants'
// figures are caches of the entries, holds and allocations; sqlite_verify.cc
// recomputes them.
#include "ledger/sqlite/sqlite_ledger.h"

#include "core/assert.h"
#include "core/hash.h"
#include "core/ids.h"
#include "core/limits.h"

namespace tollgate::ledger {

HoldState SqliteLedger::parse_hold_state(const std::string& s) {
    if (s == "open") return HoldState::Open;
    if (s == "captured") return HoldState::Captured;
    TOLLGATE_ASSERT(s == "voided");  // the CHECK constraint allows nothing else
    return HoldState::Voided;
}

core::Result<std::string> SqliteLedger::create_account(const std::string& name) {
    if (name.empty() || name.size() > core::limits::kAccountNameBytesMax)
        return core::make_error("invalid_name", "account name must be 1 to 200 bytes");
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

core::Result<std::string> SqliteLedger::create_api_key(const std::string& account_id) {
    // 32 random bytes; the "tg_" prefix makes leaked keys easy to scan for.
    std::string secret = "tg_" + core::random_hex(32);
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement exists(db_, "SELECT 1 FROM accounts WHERE id = ?1");
        if (!exists.bind(1, account_id).step())
            return core::make_error("unknown_account", "no such account");
        store::Statement(db_,
                         "INSERT INTO api_keys(key_sha256, account_id, created_ms) "
                         "VALUES (?1, ?2, ?3)")
            .bind(1, core::sha256_hex(secret))
            .bind(2, account_id)
            .bind(3, clock_.now_ms())
            .run();
        return {};
    });
    if (!s.ok()) return s.error();
    return secret;
}

core::Result<std::optional<std::string>> SqliteLedger::find_account_by_key(
    const std::string& secret) {
    // The lookup is by hash, so timing reveals nothing about the secret.
    std::optional<std::string> account;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT account_id FROM api_keys WHERE key_sha256 = ?1 AND "
                            "revoked_ms IS NULL");
        if (st.bind(1, core::sha256_hex(secret)).step()) account = st.column_text(0);
        return {};
    });
    if (!s.ok()) return s.error();
    return account;
}

std::int64_t SqliteLedger::add_entry(const std::string& account_id, const char* kind,
                                     core::Tokens tokens, const std::string& hold_key,
                                     const std::string& reason,
                                     std::optional<std::int64_t> grant_id, std::int64_t now_ms) {
    TOLLGATE_ASSERT(tokens.value > 0);
    store::Statement st(db_,
                        "INSERT INTO entries(account_id, kind, tokens, hold_key, reason, "
                        "grant_id, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    st.bind(1, account_id).bind(2, kind).bind(3, tokens.value).bind(4, hold_key).bind(5, reason);
    if (grant_id.has_value()) {
        st.bind(6, *grant_id);
    } else {
        st.bind_null(6);
    }
    st.bind(7, now_ms).run();
    return sqlite3_last_insert_rowid(db_.handle());
}

std::optional<SqliteLedger::StoredBalance> SqliteLedger::read_balance(
    const std::string& account_id) {
    store::Statement st(db_,
                        "SELECT granted, held, captured, expired, credit_limit FROM balances "
                        "WHERE account_id = ?1");
    if (!st.bind(1, account_id).step()) return std::nullopt;
    StoredBalance b;
    b.balance.granted = core::Tokens(st.column_int64(0));
    b.balance.held = core::Tokens(st.column_int64(1));
    b.balance.captured = core::Tokens(st.column_int64(2));
    b.balance.expired = core::Tokens(st.column_int64(3));
    b.credit_limit = st.column_int64(4);
    TOLLGATE_ASSERT(b.credit_limit >= 0);
    TOLLGATE_ASSERT(b.balance.available().value >= -b.credit_limit);
    return b;
}

void SqliteLedger::check_grant_row(std::int64_t grant_id) {
    store::Statement st(db_,
                        "SELECT tokens, remaining, held, used, expired FROM grants WHERE id = ?1");
    TOLLGATE_ASSERT(st.bind(1, grant_id).step());
    std::int64_t tokens = st.column_int64(0);
    std::int64_t remaining = st.column_int64(1);
    std::int64_t held = st.column_int64(2);
    std::int64_t used = st.column_int64(3);
    std::int64_t expired = st.column_int64(4);
    TOLLGATE_ASSERT(tokens > 0 && remaining >= 0 && held >= 0 && used >= 0 && expired >= 0);
    TOLLGATE_ASSERT(tokens == remaining + held + used + expired);
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

core::Result<std::optional<Hold>> SqliteLedger::find_hold(const std::string& key) {
    std::optional<Hold> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT account_id, tokens, state, created_ms FROM holds WHERE key = "
                            "?1");
        if (st.bind(1, key).step()) {
            out = Hold{key, st.column_text(0), core::Tokens(st.column_int64(1)),
                       parse_hold_state(st.column_text(2)), st.column_int64(3)};
            TOLLGATE_ASSERT(out->tokens.value > 0);
        }
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::vector<Entry>> SqliteLedger::entries(const std::string& account_id) {
    std::vector<Entry> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT id, kind, tokens, hold_key, reason, created_ms, grant_id "
                            "FROM entries WHERE account_id = ?1 ORDER BY id");
        st.bind(1, account_id);
        while (st.step()) {
            std::optional<std::int64_t> grant_id;
            if (!st.column_is_null(6)) grant_id = st.column_int64(6);
            out.push_back(Entry{st.column_int64(0), account_id, st.column_text(1),
                                core::Tokens(st.column_int64(2)), st.column_text(3),
                                st.column_text(4), st.column_int64(5), grant_id});
        }
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

}  // namespace tollgate::ledger
