// SQLite ledger: API keys. A key row holds the SHA-256 of the secret (the
// lookup key), a public id, its scopes as text, an optional expiry and the
// time it was revoked. The secret itself is never stored: create_api_key()
// returns it once. Rows are never deleted, so a revoked key stays refused and
// the listing keeps its history.
#include "core/hash.h"
#include "core/ids.h"
#include "ledger/rules.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {
namespace {

constexpr const char* kKeyColumns =
    "id, account_id, scopes, created_ms, expires_ms, revoked_ms FROM api_keys";

std::optional<std::int64_t> optional_int64(const store::Statement& st, int column) {
    if (st.column_is_null(column)) return std::nullopt;
    return st.column_int64(column);
}

ApiKeyInfo read_key(const store::Statement& st) {
    ApiKeyInfo key;
    key.id = st.column_text(0);
    key.account_id = st.column_text(1);
    // Scopes this build cannot read grant nothing: a key is refused rather
    // than trusted with a scope it may not have been given.
    key.scopes = KeyScopes::parse(st.column_text(2)).value_or(KeyScopes());
    key.created_ms = st.column_int64(3);
    key.expires_ms = optional_int64(st, 4);
    key.revoked_ms = optional_int64(st, 5);
    return key;
}

}  // namespace

core::Result<NewApiKey> SqliteLedger::create_api_key(const ApiKeySpec& spec) {
    const std::int64_t now = clock_.now_ms();
    if (core::Status valid = check_api_key_spec(spec, now); !valid.ok()) return valid.error();
    NewApiKey key;
    // 32 random bytes from the CSPRNG; the "tg_" prefix makes leaked keys
    // easy to scan for.
    key.secret = "tg_" + core::random_hex(32);
    key.id = core::new_id("key");
    key.created_ms = now;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement exists(db_, "SELECT 1 FROM accounts WHERE id = ?1");
        if (!exists.bind(1, spec.account_id).step()) {
            return core::make_error("unknown_account", "no such account");
        }
        store::Statement active(db_,
                                "SELECT COUNT(*) FROM api_keys WHERE account_id = ?1 AND "
                                "revoked_ms IS NULL AND (expires_ms IS NULL OR expires_ms > ?2)");
        active.bind(1, spec.account_id).bind(2, now).step();
        if (active.column_int64(0) >= kApiKeysPerAccountMax) {
            return core::make_error("too_many_keys", "the account already has " +
                                                         std::to_string(kApiKeysPerAccountMax) +
                                                         " active keys; revoke one first");
        }
        store::Statement insert(db_,
                                "INSERT INTO api_keys(key_sha256, account_id, created_ms, id, "
                                "scopes, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        insert.bind(1, core::sha256_hex(key.secret))
            .bind(2, spec.account_id)
            .bind(3, now)
            .bind(4, key.id)
            .bind(5, spec.scopes.to_string());
        if (spec.expires_ms) {
            insert.bind(6, *spec.expires_ms);
        } else {
            insert.bind_null(6);
        }
        insert.run();
        return {};
    });
    if (!s.ok()) return s.error();
    return key;
}

core::Result<std::optional<ApiKeyInfo>> SqliteLedger::find_api_key(const std::string& secret) {
    // The lookup is by hash, so timing reveals nothing about the secret.
    std::optional<ApiKeyInfo> key;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, std::string("SELECT ") + kKeyColumns + " WHERE key_sha256 = ?1");
        if (st.bind(1, core::sha256_hex(secret)).step()) key = read_key(st);
        return {};
    });
    if (!s.ok()) return s.error();
    return key;
}

core::Result<std::optional<std::string>> SqliteLedger::find_account_by_key(
    const std::string& secret) {
    auto key = find_api_key(secret);
    if (!key.ok()) return key.error();
    if (!key->has_value() || (*key)->state_at(clock_.now_ms()) != ApiKeyState::Active) {
        return std::optional<std::string>();
    }
    return std::optional<std::string>((*key)->account_id);
}

core::Result<std::vector<ApiKeyInfo>> SqliteLedger::api_keys(const std::string& account_id) {
    std::vector<ApiKeyInfo> keys;
    bool found = false;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement exists(db_, "SELECT 1 FROM accounts WHERE id = ?1");
        found = exists.bind(1, account_id).step();
        if (!found) return {};
        store::Statement st(db_, std::string("SELECT ") + kKeyColumns +
                                     " WHERE account_id = ?1 ORDER BY created_ms DESC, id DESC "
                                     "LIMIT ?2");
        st.bind(1, account_id).bind(2, static_cast<std::int64_t>(kApiKeysListMax));
        while (st.step()) keys.push_back(read_key(st));
        return {};
    });
    if (!s.ok()) return s.error();
    if (!found) return core::make_error("unknown_account", "no such account");
    return keys;
}

core::Result<RevokeResult> SqliteLedger::revoke_api_key(const std::string& account_id,
                                                        const std::string& key_id) {
    RevokeResult result{RevokeOutcome::UnknownKey};
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT revoked_ms FROM api_keys WHERE id = ?1 AND account_id = ?2");
        if (!st.bind(1, key_id).bind(2, account_id).step()) return {};
        if (!st.column_is_null(0)) {
            result = {RevokeOutcome::AlreadyRevoked, st.column_int64(0)};
            return {};
        }
        const std::int64_t now = clock_.now_ms();
        store::Statement(db_, "UPDATE api_keys SET revoked_ms = ?1 WHERE id = ?2")
            .bind(1, now)
            .bind(2, key_id)
            .run();
        result = {RevokeOutcome::Revoked, now};
        return {};
    });
    if (!s.ok()) return s.error();
    return result;
}

}  // namespace tollgate::ledger
