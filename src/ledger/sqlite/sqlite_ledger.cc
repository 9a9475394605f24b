// SQLite ledger. Every operation runs under BEGIN IMMEDIATE, so the balance
// check and the hold are one step even across threads and processes. The
// balances table is a cache of the entries; its CHECK constraints make an
// overspend impossible even if a code path forgot to check (the statement
// fails and the transaction rolls back).
#include "ledger/sqlite/sqlite_ledger.h"

#include "core/assert.h"
#include "core/hash.h"
#include "core/ids.h"
#include "core/limits.h"

namespace tollgate::ledger {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS api_keys (
  key_sha256 TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  created_ms INTEGER NOT NULL,
  revoked_ms INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS balances (
  account_id TEXT PRIMARY KEY REFERENCES accounts(id),
  granted INTEGER NOT NULL DEFAULT 0 CHECK (granted >= 0),
  held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
  captured INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0),
  CHECK (granted - held - captured >= 0)
) STRICT;
CREATE TABLE IF NOT EXISTS holds (
  key TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  tokens INTEGER NOT NULL CHECK (tokens > 0),
  state TEXT NOT NULL CHECK (state IN ('open', 'captured', 'voided')),
  created_ms INTEGER NOT NULL,
  settled_ms INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  kind TEXT NOT NULL CHECK (kind IN ('grant', 'hold', 'capture', 'void')),
  tokens INTEGER NOT NULL CHECK (tokens > 0),
  hold_key TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS entries_by_account ON entries(account_id, id);
)sql";

HoldState parse_state(const std::string& s) {
    if (s == "open") return HoldState::Open;
    if (s == "captured") return HoldState::Captured;
    TOLLGATE_ASSERT(s == "voided");
    return HoldState::Voided;
}

}  // namespace

core::Result<std::unique_ptr<SqliteLedger>> SqliteLedger::open(store::Database& db,
                                                               const core::Clock& clock) {
    core::Status s = db.exec(kSchema);
    if (!s.ok()) return s.error();
    return std::unique_ptr<SqliteLedger>(new SqliteLedger(db, clock));
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

void SqliteLedger::add_entry(const std::string& account_id, const char* kind, core::Tokens tokens,
                             const std::string& hold_key, const std::string& reason) {
    TOLLGATE_ASSERT(tokens.value > 0);
    store::Statement(db_,
                     "INSERT INTO entries(account_id, kind, tokens, hold_key, reason, created_ms) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(1, account_id)
        .bind(2, kind)
        .bind(3, tokens.value)
        .bind(4, hold_key)
        .bind(5, reason)
        .bind(6, clock_.now_ms())
        .run();
}

Balance SqliteLedger::read_balance(const std::string& account_id, bool* found) {
    store::Statement st(db_, "SELECT granted, held, captured FROM balances WHERE account_id = ?1");
    Balance b;
    *found = st.bind(1, account_id).step();
    if (*found) {
        b.granted = core::Tokens(st.column_int64(0));
        b.held = core::Tokens(st.column_int64(1));
        b.captured = core::Tokens(st.column_int64(2));
        TOLLGATE_ASSERT(b.available().value >= 0);
    }
    return b;
}

core::Result<std::int64_t> SqliteLedger::grant(const std::string& account_id, core::Tokens tokens,
                                               const std::string& reason) {
    if (tokens.value <= 0 || tokens.value > core::limits::kGrantTokensMax)
        return core::make_error("invalid_tokens", "tokens must be between 1 and 10^12");
    if (reason.size() > core::limits::kReasonBytesMax)
        return core::make_error("invalid_reason", "reason is longer than 500 bytes");
    std::int64_t entry_id = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        bool found = false;
        read_balance(account_id, &found);
        if (!found) return core::make_error("unknown_account", "no such account");
        store::Statement(db_, "UPDATE balances SET granted = granted + ?1 WHERE account_id = ?2")
            .bind(1, tokens.value)
            .bind(2, account_id)
            .run();
        add_entry(account_id, "grant", tokens, "", reason);
        entry_id = sqlite3_last_insert_rowid(db_.handle());
        return {};
    });
    if (!s.ok()) return s.error();
    return entry_id;
}

core::Result<ReserveResult> SqliteLedger::reserve(const std::string& account_id,
                                                  core::Tokens tokens, const std::string& key) {
    TOLLGATE_ASSERT(tokens.value > 0);
    TOLLGATE_ASSERT(!key.empty());
    ReserveResult result{ReserveOutcome::UnknownAccount, core::Tokens(0)};
    core::Status s = store::transact(db_, [&]() -> core::Status {
        bool found = false;
        Balance before = read_balance(account_id, &found);
        if (!found) return {};
        result.available = before.available();

        store::Statement existing(db_, "SELECT account_id, tokens FROM holds WHERE key = ?1");
        if (existing.bind(1, key).step()) {
            bool same =
                existing.column_text(0) == account_id && existing.column_int64(1) == tokens.value;
            result.outcome =
                same ? ReserveOutcome::AlreadyHeld : ReserveOutcome::KeyReusedWithDifferentRequest;
            return {};
        }
        if (before.available() < tokens) {
            result.outcome = ReserveOutcome::InsufficientBalance;
            return {};
        }
        store::Statement(db_, "UPDATE balances SET held = held + ?1 WHERE account_id = ?2")
            .bind(1, tokens.value)
            .bind(2, account_id)
            .run();
        store::Statement(db_,
                         "INSERT INTO holds(key, account_id, tokens, state, created_ms) "
                         "VALUES (?1, ?2, ?3, 'open', ?4)")
            .bind(1, key)
            .bind(2, account_id)
            .bind(3, tokens.value)
            .bind(4, clock_.now_ms())
            .run();
        add_entry(account_id, "hold", tokens, key, "");
        result.outcome = ReserveOutcome::Held;
        result.available = before.available() - tokens;
        return {};
    });
    if (!s.ok()) return s.error();
    return result;
}

core::Result<SettleOutcome> SqliteLedger::settle(const std::string& key, HoldState to,
                                                 const std::string& reason) {
    TOLLGATE_ASSERT(to != HoldState::Open);
    SettleOutcome outcome = SettleOutcome::UnknownHold;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement hold(db_, "SELECT account_id, tokens, state FROM holds WHERE key = ?1");
        if (!hold.bind(1, key).step()) return {};
        std::string account_id = hold.column_text(0);
        core::Tokens tokens(hold.column_int64(1));
        HoldState state = parse_state(hold.column_text(2));
        if (state != HoldState::Open) {
            outcome = state == to ? SettleOutcome::AlreadySettled : SettleOutcome::Conflict;
            return {};
        }
        bool captured = to == HoldState::Captured;
        store::Statement(db_, captured
                                  ? "UPDATE balances SET held = held - ?1, captured = captured + "
                                    "?1 WHERE account_id = ?2"
                                  : "UPDATE balances SET held = held - ?1 WHERE account_id = ?2")
            .bind(1, tokens.value)
            .bind(2, account_id)
            .run();
        store::Statement(db_,
                         "UPDATE holds SET state = ?1, settled_ms = ?2 WHERE key = ?3 AND "
                         "state = 'open'")
            .bind(1, captured ? "captured" : "voided")
            .bind(2, clock_.now_ms())
            .bind(3, key)
            .run();
        TOLLGATE_ASSERT(sqlite3_changes(db_.handle()) == 1);  // exactly one outcome per hold
        add_entry(account_id, captured ? "capture" : "void", tokens, key, reason);
        outcome = SettleOutcome::Settled;
        return {};
    });
    if (!s.ok()) return s.error();
    return outcome;
}

core::Result<SettleOutcome> SqliteLedger::capture(const std::string& key) {
    return settle(key, HoldState::Captured, "");
}

core::Result<SettleOutcome> SqliteLedger::void_hold(const std::string& key,
                                                    const std::string& reason) {
    return settle(key, HoldState::Voided, reason);
}

core::Result<Balance> SqliteLedger::balance(const std::string& account_id) {
    Balance b;
    bool found = false;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        b = read_balance(account_id, &found);
        return {};
    });
    if (!s.ok()) return s.error();
    if (!found) return core::make_error("unknown_account", "no such account");
    return b;
}

core::Result<std::optional<Hold>> SqliteLedger::find_hold(const std::string& key) {
    std::optional<Hold> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT account_id, tokens, state, created_ms FROM holds WHERE key = "
                            "?1");
        if (st.bind(1, key).step()) {
            out = Hold{key, st.column_text(0), core::Tokens(st.column_int64(1)),
                       parse_state(st.column_text(2)), st.column_int64(3)};
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
                            "SELECT id, kind, tokens, hold_key, reason, created_ms FROM entries "
                            "WHERE account_id = ?1 ORDER BY id");
        st.bind(1, account_id);
        while (st.step()) {
            out.push_back(Entry{st.column_int64(0), account_id, st.column_text(1),
                                core::Tokens(st.column_int64(2)), st.column_text(3),
                                st.column_text(4), st.column_int64(5)});
        }
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::vector<Mismatch>> SqliteLedger::verify(std::int64_t* accounts_checked) {
    // Three independent views of each account must agree: the cached balance,
    // the sums of its entries, and its holds table.
    constexpr const char* kSql = R"sql(
SELECT b.account_id, b.granted, b.held, b.captured,
  COALESCE((SELECT sum(tokens) FROM entries e WHERE e.account_id = b.account_id
            AND kind = 'grant'), 0),
  COALESCE((SELECT sum(CASE kind WHEN 'hold' THEN tokens ELSE -tokens END) FROM entries e
            WHERE e.account_id = b.account_id AND kind IN ('hold', 'capture', 'void')), 0),
  COALESCE((SELECT sum(tokens) FROM entries e WHERE e.account_id = b.account_id
            AND kind = 'capture'), 0),
  COALESCE((SELECT sum(tokens) FROM holds h WHERE h.account_id = b.account_id
            AND state = 'open'), 0),
  COALESCE((SELECT sum(tokens) FROM holds h WHERE h.account_id = b.account_id
            AND state = 'captured'), 0)
FROM balances b ORDER BY b.account_id)sql";
    std::vector<Mismatch> out;
    std::int64_t checked = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, kSql);
        while (st.step()) {
            ++checked;
            std::string id = st.column_text(0);
            auto compare = [&](const char* what, int cached, int derived) {
                if (st.column_int64(cached) != st.column_int64(derived)) {
                    out.push_back({id, std::string(what) + ": cached " +
                                           std::to_string(st.column_int64(cached)) +
                                           ", from records " +
                                           std::to_string(st.column_int64(derived))});
                }
            };
            compare("granted vs grant entries", 1, 4);
            compare("held vs hold/capture/void entries", 2, 5);
            compare("captured vs capture entries", 3, 6);
            compare("held vs open holds", 2, 7);
            compare("captured vs captured holds", 3, 8);
            if (st.column_int64(1) - st.column_int64(2) - st.column_int64(3) < 0) {
                out.push_back({id, "available is negative"});
            }
        }
        // Every hold has exactly one hold entry and, once settled, exactly one
        // capture or void entry.
        store::Statement holds(db_, R"sql(
SELECT h.key, h.account_id, h.state,
  (SELECT count(*) FROM entries e WHERE e.hold_key = h.key AND kind = 'hold'),
  (SELECT count(*) FROM entries e WHERE e.hold_key = h.key AND kind IN ('capture', 'void'))
FROM holds h)sql");
        while (holds.step()) {
            bool open = holds.column_text(2) == "open";
            if (holds.column_int64(3) != 1 || holds.column_int64(4) != (open ? 0 : 1)) {
                out.push_back({holds.column_text(1),
                               "hold " + holds.column_text(0) + " (" + holds.column_text(2) +
                                   ") has " + std::to_string(holds.column_int64(3)) + " hold and " +
                                   std::to_string(holds.column_int64(4)) + " settlement entries"});
            }
        }
        return {};
    });
    if (!s.ok()) return s.error();
    if (accounts_checked != nullptr) *accounts_checked = checked;
    return out;
}

}  // namespace tollgate::ledger
