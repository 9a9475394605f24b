// Opening database files: a fresh file gets schema version 3; a file with
// ledger tables of an earlier (or later) version is refused, untouched.
#include <gtest/gtest.h>

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
