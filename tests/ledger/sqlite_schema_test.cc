// Opening database files: a fresh file gets schema version 3; a file with
// ledger tables of an earlier (or later) version is refused, untouched.
#include <gtest/gtest.h>

#include "core/hash.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "support/temp_dir.h"

namespace tollgate::ledger {
namespace {

// The version 1 ledger, as earlier builds created it (user_version unset).
constexpr const char* kVersionOneSchema = R"sql(
CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_ms INTEGER NOT NULL)
  STRICT;
CREATE TABLE balances (
  account_id TEXT PRIMARY KEY REFERENCES accounts(id),
  granted INTEGER NOT NULL DEFAULT 0, held INTEGER NOT NULL DEFAULT 0,
  captured INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE entries (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL,
  kind TEXT NOT NULL, tokens INTEGER NOT NULL, hold_key TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL) STRICT;
INSERT INTO accounts VALUES ('acct_old', 'old', 1);
INSERT INTO balances(account_id, granted) VALUES ('acct_old', 100);
)sql";

// The core of a version 2 ledger: no debited column, six entry kinds, no
// balance_after.
constexpr const char* kVersionTwoSchema = R"sql(
CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, tenant TEXT,
  created_ms INTEGER NOT NULL) STRICT;
CREATE TABLE balances (account_id TEXT PRIMARY KEY REFERENCES accounts(id),
  granted INTEGER NOT NULL DEFAULT 0, held INTEGER NOT NULL DEFAULT 0,
  captured INTEGER NOT NULL DEFAULT 0, expired INTEGER NOT NULL DEFAULT 0,
  credit_limit INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE entries (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('grant', 'hold', 'capture', 'void', 'expiry', 'rollover')),
  tokens INTEGER NOT NULL CHECK (tokens > 0), hold_key TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '', grant_id INTEGER, created_ms INTEGER NOT NULL) STRICT;
INSERT INTO accounts VALUES ('acct_two', 'two', NULL, 1);
INSERT INTO balances(account_id, granted) VALUES ('acct_two', 100);
PRAGMA user_version = 2;
)sql";

class SchemaTest : public ::testing::Test {
  protected:
    std::unique_ptr<store::Database> open_db() {
        auto db = store::Database::open(dir_.file("tollgate.db"));
        EXPECT_TRUE(db.ok());
        return std::move(db).value();
    }
    static std::int64_t user_version(store::Database& db) {
        std::int64_t v = -1;
        EXPECT_TRUE(store::transact(db, [&]() -> core::Status {
                        store::Statement st(db, "PRAGMA user_version");
                        if (st.step()) v = st.column_int64(0);
                        return {};
                    }).ok());
        return v;
    }

    testing::TempDir dir_;
    core::ManualClock clock_{1'700'000'000'000};
};

TEST_F(SchemaTest, AFreshFileGetsVersionThreeAndReopens) {
    auto db = open_db();
    ASSERT_TRUE(SqliteLedger::open(*db, clock_).ok());
    EXPECT_EQ(user_version(*db), SqliteLedger::kSchemaVersion);
    ASSERT_TRUE(SqliteLedger::open(*db, clock_).ok());
}

TEST_F(SchemaTest, OtherPartsTablesDoNotCountAsAnOldLedger) {
    auto db = open_db();
    ASSERT_TRUE(db->exec("CREATE TABLE jobs (id TEXT PRIMARY KEY) STRICT").ok());
    ASSERT_TRUE(SqliteLedger::open(*db, clock_).ok());
    EXPECT_EQ(user_version(*db), SqliteLedger::kSchemaVersion);
}

TEST_F(SchemaTest, AVersionOneLedgerIsRefusedAndLeftUntouched) {
    auto db = open_db();
    ASSERT_TRUE(db->exec(kVersionOneSchema).ok());
    auto ledger = SqliteLedger::open(*db, clock_);
    ASSERT_FALSE(ledger.ok());
    EXPECT_EQ(ledger.error().code, "schema_too_old");
    EXPECT_NE(ledger.error().message.find("fresh data directory"), std::string::npos)
        << ledger.error().message;
    EXPECT_EQ(user_version(*db), 0);
    // Nothing was created or changed.
    EXPECT_FALSE(db->exec("SELECT * FROM grants").ok());
    EXPECT_TRUE(db->exec("SELECT * FROM balances WHERE granted = 100").ok());
}

TEST_F(SchemaTest, AVersionTwoLedgerIsRefusedAndLeftUntouched) {
    auto db = open_db();
    ASSERT_TRUE(db->exec(kVersionTwoSchema).ok());
    auto ledger = SqliteLedger::open(*db, clock_);
    ASSERT_FALSE(ledger.ok());
    EXPECT_EQ(ledger.error().code, "schema_too_old");
    EXPECT_NE(ledger.error().message.find("schema version 2"), std::string::npos)
        << ledger.error().message;
    EXPECT_EQ(user_version(*db), 2);
    EXPECT_FALSE(db->exec("SELECT * FROM debits").ok());
    EXPECT_FALSE(db->exec("SELECT balance_after FROM entries").ok());
}

// A version 4 file made before API keys had ids, scopes and expiries: its
// keys keep working, with every scope and no expiry, and gain an id.
TEST_F(SchemaTest, KeysOfAnEarlierBuildGainIdsScopesAndNoExpiry) {
    const std::string secret = "tg_" + std::string(64, 'a');
    std::string account;
    {
        auto db = open_db();
        auto ledger = SqliteLedger::open(*db, clock_);
        ASSERT_TRUE(ledger.ok());
        account = (*ledger)->create_account("old").value();
        // The api_keys table exactly as the earlier build created it.
        ASSERT_TRUE(db->exec("DROP INDEX api_keys_by_id; DROP INDEX api_keys_by_account; "
                             "DROP TABLE api_keys; "
                             "CREATE TABLE api_keys (key_sha256 TEXT PRIMARY KEY, "
                             "account_id TEXT NOT NULL REFERENCES accounts(id), "
                             "created_ms INTEGER NOT NULL, revoked_ms INTEGER) STRICT;")
                        .ok());
        ASSERT_TRUE(store::transact(*db, [&]() -> core::Status {
                        store::Statement(*db, "INSERT INTO api_keys VALUES (?1, ?2, 5, NULL)")
                            .bind(1, core::sha256_hex(secret))
                            .bind(2, account)
                            .run();
                        return {};
                    }).ok());
        EXPECT_FALSE(db->exec("SELECT scopes FROM api_keys").ok());
    }
    auto db = open_db();
    auto ledger = SqliteLedger::open(*db, clock_);
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    EXPECT_EQ(user_version(*db), SqliteLedger::kSchemaVersion);
    auto key = (*ledger)->find_api_key(secret);
    ASSERT_TRUE(key.ok() && key->has_value());
    EXPECT_EQ((*key)->account_id, account);
    EXPECT_EQ((*key)->scopes, KeyScopes::all());
    EXPECT_FALSE((*key)->expires_ms.has_value());
    EXPECT_EQ((*key)->created_ms, 5);
    EXPECT_EQ((*key)->id.rfind("key_", 0), 0u);
    EXPECT_EQ((*key)->id.size(), 4u + 24u);
    EXPECT_EQ((*ledger)->find_account_by_key(secret).value(), std::optional<std::string>(account));
    // The old key can be listed and revoked by its new id.
    ASSERT_EQ((*ledger)->api_keys(account)->size(), 1u);
    EXPECT_EQ((*ledger)->revoke_api_key(account, (*key)->id)->outcome, RevokeOutcome::Revoked);
    EXPECT_FALSE((*ledger)->find_account_by_key(secret)->has_value());
    // New keys sit next to it; opening again changes nothing.
    ASSERT_TRUE((*ledger)->create_api_key(account).ok());
    ledger = SqliteLedger::open(*db, clock_);
    ASSERT_TRUE(ledger.ok());
    EXPECT_EQ((*ledger)->api_keys(account)->size(), 2u);
}

TEST_F(SchemaTest, ANewerLedgerIsRefused) {
    auto db = open_db();
    ASSERT_TRUE(SqliteLedger::open(*db, clock_).ok());
    ASSERT_TRUE(
        db->exec("PRAGMA user_version = " + std::to_string(SqliteLedger::kSchemaVersion + 1)).ok());
    auto ledger = SqliteLedger::open(*db, clock_);
    ASSERT_FALSE(ledger.ok());
    EXPECT_EQ(ledger.error().code, "schema_too_new");
}

}  // namespace
}  // namespace tollgate::ledger
