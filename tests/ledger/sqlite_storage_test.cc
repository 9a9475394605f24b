// What SQLite's tables hold and refuse, seen through db_: an API key's
// secret is stored only as its SHA-256, and the CHECK constraints keep an
// account within its credit limit even against writes that bypass the code.
#include <gtest/gtest.h>

#include <string>

#include "core/hash.h"
#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;
using SqliteStorageTest = SqliteLedgerTest;

TEST_F(SqliteStorageTest, OnlyTheKeysHashIsStored) {
    NewApiKey key = ledger_->create_api_key(ApiKeySpec{account_, KeyScopes::all(), {}}).value();
    ASSERT_TRUE(ledger_->create_api_key(ApiKeySpec{account_, KeyScopes::all(), {}}).ok());
    // No column of any row holds the secret; the row is found by its hash.
    int rows = 0;
    ASSERT_TRUE(
        store::transact(*db_, [&]() -> core::Status {
            store::Statement st(*db_, "SELECT key_sha256, id, account_id, scopes FROM api_keys");
            while (st.step()) {
                ++rows;
                for (int c = 0; c < 4; ++c) {
                    EXPECT_EQ(st.column_text(c).find(key.secret.substr(3)), std::string::npos);
                }
            }
            return {};
        }).ok());
    EXPECT_EQ(rows, 2);
    bool by_hash = false;
    ASSERT_TRUE(store::transact(*db_, [&]() -> core::Status {
                    store::Statement st(*db_, "SELECT id FROM api_keys WHERE key_sha256 = ?1");
                    by_hash = st.bind(1, core::sha256_hex(key.secret)).step() &&
                              st.column_text(0) == key.id;
                    return {};
                }).ok());
    EXPECT_TRUE(by_hash);
}

TEST_F(SqliteStorageTest, TheDatabaseRefusesAnOverdraftEvenWithoutTheCodeCheck) {
    add(10);
    ASSERT_EQ(reserve(15, "a", ReserveTerms{5, false, ""}), ReserveOutcome::Held);
    // A write that bypasses reserve() cannot push the account past its limit.
    EXPECT_FALSE(db_->exec("UPDATE balances SET held = held + 1").ok());
    EXPECT_FALSE(db_->exec("UPDATE balances SET credit_limit = 4").ok());
    EXPECT_EQ(balance().available(), Tokens(-5));
}

}  // namespace
}  // namespace tollgate::ledger
