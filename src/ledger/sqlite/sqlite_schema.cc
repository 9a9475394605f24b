// The ledger's tables (schema version 4) and how a database file is opened.
//
// The CHECK constraints are the last line of defence: a code path that forgot
// a check makes its statement fail and its transaction roll back, rather
// than store an overspent account or a grant whose books do not balance.
//
// The version lives in PRAGMA user_version. A file whose ledger tables are of
// an earlier version is refused with "schema_too_old" rather than migrated.
// Version 1 kept grants only as entries, so a migration would have to invent
// how past holds and captures split across grants. Version 2 lacks columns
// that ALTER TABLE ADD COLUMN could add (hold TTL, captured and refunded
// amounts, balance_after), but version 3 also changes table constraints
// that only a table rebuild can change: each grant's books gain `debited`,
// and entries accept two new kinds and signed adjustment tokens. Rebuilding
// grants, which other tables reference, needs foreign keys off, which the
// store turns on for every connection; and a migration would have to
// recompute every past entry's balance_after. No deployment holds version 2
// data worth that risk, so the operator starts with a fresh data directory.
// Version 4 changes only the physical layout, for fewer pages written per
// commit: accounts, balances and holds are clustered on their keys (WITHOUT
// ROWID), a hold's slices are clustered on (hold_key, slice) with no other
// index, and the index of an account's grants no longer depends on
// `remaining` (a partial index on it was rewritten by every reserve).
//
// Columns added later without a version change, because ALTER TABLE ADD
// COLUMN can add them to a file in place and a default describes every row
// written before: api_keys.id (a public id; earlier keys get a random one),
// api_keys.scopes (earlier keys get every scope) and api_keys.expires_ms
// (earlier keys never expire). Every file, new or old, gets them the same
// way when it is opened, so there is one definition of each.
#include <string>
#include <utility>

#include "core/assert.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {
namespace {

// balances.credit_limit is the credit under which the latest hold was
// admitted, raised to the account's outstanding credit if that was larger,
// so that an expiry can never violate it. hold_allocations rows stay after
// the hold ends; whether one is open is the state of its hold, and
// `captured` is the part of the slice its capture charged. An entry's
// balance_after is balances' available right after the entry's movement.
// debits holds the split of each negative adjustment entry across grants;
// adjustment_keys maps an adjustment's idempotency key to its entry.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  tenant TEXT,
  created_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
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
  expired INTEGER NOT NULL DEFAULT 0 CHECK (expired >= 0),
  debited INTEGER NOT NULL DEFAULT 0 CHECK (debited >= 0),
  credit_limit INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
  CHECK (granted - expired - held - captured - debited + credit_limit >= 0)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS grants (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  source TEXT NOT NULL DEFAULT 'grant' CHECK (source IN ('grant', 'adjustment', 'refund')),
  key TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  tokens INTEGER NOT NULL CHECK (tokens > 0),
  remaining INTEGER NOT NULL CHECK (remaining >= 0),
  held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
  used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
  expired INTEGER NOT NULL DEFAULT 0 CHECK (expired >= 0),
  debited INTEGER NOT NULL DEFAULT 0 CHECK (debited >= 0),
  starts_ms INTEGER NOT NULL,
  expires_ms INTEGER,
  priority INTEGER NOT NULL DEFAULT 0,
  rollover_max_tokens INTEGER NOT NULL DEFAULT 0 CHECK (rollover_max_tokens >= 0),
  rollover_expires_ms INTEGER,
  created_ms INTEGER NOT NULL,
  CHECK (tokens = remaining + held + used + expired + debited),
  CHECK (expires_ms IS NULL OR expires_ms > starts_ms),
  CHECK (rollover_expires_ms IS NULL OR rollover_expires_ms > expires_ms)
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS grants_by_key ON grants(account_id, key) WHERE key != '';
CREATE INDEX IF NOT EXISTS grants_by_account ON grants(account_id, expires_ms);
CREATE INDEX IF NOT EXISTS grants_due ON grants(expires_ms)
  WHERE remaining > 0 AND expires_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS holds (
  key TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  tokens INTEGER NOT NULL CHECK (tokens > 0),
  state TEXT NOT NULL CHECK (state IN ('open', 'captured', 'voided')),
  created_ms INTEGER NOT NULL,
  settled_ms INTEGER,
  expires_ms INTEGER,
  captured INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0),
  refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0),
  CHECK (captured <= tokens AND refunded <= captured),
  CHECK ((state = 'captured') = (captured > 0)),
  CHECK (expires_ms IS NULL OR expires_ms > created_ms)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS holds_expiring ON holds(expires_ms, created_ms, key)
  WHERE state = 'open' AND expires_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS hold_allocations (
  hold_key TEXT NOT NULL REFERENCES holds(key),
  slice INTEGER NOT NULL CHECK (slice >= 0),
  grant_id INTEGER REFERENCES grants(id),
  tokens INTEGER NOT NULL CHECK (tokens > 0),
  captured INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= tokens),
  PRIMARY KEY (hold_key, slice)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  kind TEXT NOT NULL CHECK (kind IN ('grant', 'hold', 'capture', 'void', 'expiry', 'rollover',
                                     'adjustment', 'refund')),
  tokens INTEGER NOT NULL CHECK (tokens > 0 OR (kind = 'adjustment' AND tokens < 0)),
  hold_key TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  grant_id INTEGER REFERENCES grants(id),
  created_ms INTEGER NOT NULL,
  balance_after INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS entries_by_account ON entries(account_id, id);
CREATE INDEX IF NOT EXISTS entries_by_hold ON entries(hold_key) WHERE hold_key != '';
CREATE INDEX IF NOT EXISTS entries_by_grant ON entries(grant_id) WHERE grant_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS debits (
  entry_id INTEGER NOT NULL REFERENCES entries(id),
  grant_id INTEGER NOT NULL REFERENCES grants(id),
  tokens INTEGER NOT NULL CHECK (tokens > 0)
) STRICT;
CREATE INDEX IF NOT EXISTS debits_by_entry ON debits(entry_id);
CREATE INDEX IF NOT EXISTS debits_by_grant ON debits(grant_id);
CREATE TABLE IF NOT EXISTS adjustment_keys (
  account_id TEXT NOT NULL REFERENCES accounts(id),
  key TEXT NOT NULL CHECK (key != ''),
  entry_id INTEGER NOT NULL REFERENCES entries(id),
  PRIMARY KEY (account_id, key)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (
  account_id TEXT NOT NULL REFERENCES accounts(id),
  plan TEXT NOT NULL,
  subscribed_ms INTEGER NOT NULL,
  cancelled_ms INTEGER,
  PRIMARY KEY (account_id, plan)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS subscriptions_active ON subscriptions(account_id, plan)
  WHERE cancelled_ms IS NULL;
)sql";

// Columns added to api_keys after it first shipped, with what ALTER TABLE
// adds them as (see the file comment).
constexpr std::pair<const char*, const char*> kAddedKeyColumns[] = {
    {"id", "TEXT"},
    {"scopes", "TEXT NOT NULL DEFAULT 'jobs read'"},
    {"expires_ms", "INTEGER"},
};

// Runs inside open()'s transaction.
core::Status add_missing_key_columns(store::Database& db) {
    for (const auto& [name, type] : kAddedKeyColumns) {
        store::Statement has(db, "SELECT 1 FROM pragma_table_info('api_keys') WHERE name = ?1");
        if (has.bind(1, name).step()) continue;
        core::Status s =
            db.exec(std::string("ALTER TABLE api_keys ADD COLUMN ") + name + " " + type);
        if (!s.ok()) return s;
    }
    // Keys made before ids existed get a random one: 96 bits, as unguessable
    // as it needs to be for a public name.
    core::Status s =
        db.exec("UPDATE api_keys SET id = 'key_' || lower(hex(randomblob(12))) WHERE id IS NULL");
    if (!s.ok()) return s;
    return db.exec(
        "CREATE UNIQUE INDEX IF NOT EXISTS api_keys_by_id ON api_keys(id);"
        "CREATE INDEX IF NOT EXISTS api_keys_by_account ON api_keys(account_id, created_ms)");
}

}  // namespace

core::Result<std::unique_ptr<SqliteLedger>> SqliteLedger::open(store::Database& db,
                                                               const core::Clock& clock) {
    core::Status s = store::transact(db, [&]() -> core::Status {
        store::Statement version(db, "PRAGMA user_version");
        TOLLGATE_ASSERT(version.step());  // the pragma always answers one row
        std::int64_t found = version.column_int64(0);
        store::Statement tables(db,
                                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                                "'accounts'");
        bool has_ledger = tables.step();
        if (has_ledger && found < kSchemaVersion) {
            return core::make_error(
                "schema_too_old",
                "the ledger in " + db.path() + " has schema version " + std::to_string(found) +
                    ", this build needs version " + std::to_string(kSchemaVersion) +
                    " and does not migrate it; start with a fresh data directory");
        }
        if (found > kSchemaVersion) {
            return core::make_error("schema_too_new",
                                    "the database " + db.path() + " has schema version " +
                                        std::to_string(found) + ", newer than this build's " +
                                        std::to_string(kSchemaVersion));
        }
        if (!has_ledger || found != kSchemaVersion) {
            core::Status created = db.exec(kSchema);
            if (!created.ok()) return created;
            created = db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
            if (!created.ok()) return created;
        }
        return add_missing_key_columns(db);
    });
    if (!s.ok()) return s.error();
    return std::unique_ptr<SqliteLedger>(new SqliteLedger(db, clock));
}

}  // namespace tollgate::ledger
