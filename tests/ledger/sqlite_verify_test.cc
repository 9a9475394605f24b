// verify() on SQLite: loud about every kind of tampered row (a grant, a
// balance, an entry, a hold, a debit). The rows are changed by SQL, so these
// tests are SQLite's own; verify_test.cc checks it stays clean on every
// backend.
#include <gtest/gtest.h>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;
using SqliteVerifyTest = SqliteLedgerTest;

TEST_F(SqliteVerifyTest, FindsATamperedBalanceAfter) {
    make_history();
    ASSERT_TRUE(db_->exec("UPDATE entries SET balance_after = balance_after + 1 WHERE id = "
                          "(SELECT id FROM entries ORDER BY id LIMIT 1 OFFSET 4)")
                    .ok());
    std::string report = verify_report();
    // The tampered entry and the one after it no longer follow.
    std::int64_t id = history()[4].id;
    EXPECT_NE(report.find("entry " + std::to_string(id) + " ("), std::string::npos) << report;
    EXPECT_NE(report.find("entry " + std::to_string(id + 1) + " ("), std::string::npos) << report;
    EXPECT_NE(report.find("balance_after vs previous balance_after + movement"), std::string::npos)
        << report;
}

TEST_F(SqliteVerifyTest, FindsATamperedLastBalanceAfter) {
    add(10);
    ASSERT_EQ(reserve(4, "a"), ReserveOutcome::Held);
    ASSERT_TRUE(db_->exec("UPDATE entries SET balance_after = 7 WHERE kind = 'hold'").ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("available vs last entry's balance_after: cached 6, from records 7"),
              std::string::npos)
        << report;
}

TEST_F(SqliteVerifyTest, FindsATamperedDebit) {
    add(10);
    ASSERT_TRUE(ledger_->adjust(account_, -4, "", "").ok());
    ASSERT_TRUE(db_->exec("UPDATE debits SET tokens = 3").ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("tokens removed vs debits: cached 4, from records 3"), std::string::npos)
        << report;
    EXPECT_NE(report.find("debited vs debits"), std::string::npos) << report;
}

TEST_F(SqliteVerifyTest, FindsATamperedPartialCapture) {
    add(10);
    ASSERT_EQ(reserve(8, "a"), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("a", Tokens(5)).value(), SettleOutcome::Settled);
    // Hide part of the charge: the cached figures agree with each other, but
    // not with the capture entry.
    ASSERT_TRUE(db_->exec("UPDATE holds SET captured = 4; UPDATE hold_allocations SET captured = 4;"
                          "UPDATE grants SET used = 4, remaining = 6;"
                          "UPDATE balances SET captured = 4")
                    .ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("captured vs capture entry"), std::string::npos) << report;
    EXPECT_NE(report.find("captured vs capture entries"), std::string::npos) << report;
}

TEST_F(SqliteVerifyTest, FindsATamperedGrant) {
    make_history();
    add(10);
    // Consistent with the row's CHECK, but hides a capture that never happened.
    ASSERT_TRUE(db_->exec("UPDATE grants SET remaining = remaining - 2, used = used + 2 "
                          "WHERE remaining >= 2")
                    .ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("grant "), std::string::npos) << report;
    EXPECT_NE(report.find("used vs captured allocations"), std::string::npos) << report;
    EXPECT_NE(report.find("available vs grants' remaining"), std::string::npos) << report;
}

TEST_F(SqliteVerifyTest, FindsAGrantWhoseBooksDoNotBalance) {
    add(10);
    ASSERT_EQ(reserve(4, "a"), ReserveOutcome::Held);
    // The cached held agrees with the row, but no open hold backs it.
    ASSERT_TRUE(db_->exec("UPDATE holds SET state = 'voided'").ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("!= remaining + open allocations + used + expired"), std::string::npos)
        << report;
}

TEST_F(SqliteVerifyTest, FindsATamperedExpiry) {
    make_history();
    ASSERT_TRUE(db_->exec("UPDATE balances SET expired = expired + 1").ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("expired vs expiry entries"), std::string::npos) << report;
    EXPECT_NE(report.find("expired vs grants' expired"), std::string::npos) << report;
}

TEST_F(SqliteVerifyTest, FindsAHoldWhoseSlicesDoNotAddUp) {
    add(10);
    ASSERT_EQ(reserve(4, "a"), ReserveOutcome::Held);
    ASSERT_TRUE(db_->exec("DELETE FROM hold_allocations").ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("hold a (open) tokens vs allocations"), std::string::npos) << report;
}

TEST_F(SqliteVerifyTest, FindsAnAccountBelowItsCreditLimit) {
    add(10);
    ASSERT_EQ(reserve(15, "a", ReserveTerms{5, false, ""}), ReserveOutcome::Held);
    // The CHECK on balances forbids this write, so it is made with checks off.
    ASSERT_TRUE(db_->exec("PRAGMA ignore_check_constraints = ON; "
                          "UPDATE balances SET credit_limit = 2; "
                          "PRAGMA ignore_check_constraints = OFF;")
                    .ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("is below -2 (credit limit)"), std::string::npos) << report;
}

TEST_F(SqliteVerifyTest, VerifyFindsATamperedBalance) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(50), "").ok());
    ASSERT_EQ(ledger_->reserve(account_, Tokens(10), "a")->outcome, ReserveOutcome::Held);
    ASSERT_TRUE(db_->exec("UPDATE balances SET granted = granted + 5").ok());
    // The cached figure disagrees with the entries, with the grants, and with
    // what the grants leave available; every report names the account.
    auto mismatches = ledger_->verify(nullptr).value();
    ASSERT_FALSE(mismatches.empty());
    bool names_granted = false;
    for (const Mismatch& m : mismatches) {
        EXPECT_EQ(m.account_id, account_);
        names_granted |= m.what.find("granted vs grant entries") != std::string::npos;
    }
    EXPECT_TRUE(names_granted) << verify_report();
}

TEST_F(SqliteVerifyTest, VerifyFindsAHoldWithTwoOutcomes) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(50), "").ok());
    ASSERT_EQ(ledger_->reserve(account_, Tokens(10), "a")->outcome, ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("a").value(), SettleOutcome::Settled);
    ASSERT_TRUE(db_->exec("INSERT INTO entries(account_id, kind, tokens, hold_key, created_ms, "
                          "balance_after) SELECT account_id, 'void', tokens, key, 0, 0 FROM holds")
                    .ok());
    auto mismatches = ledger_->verify(nullptr).value();
    bool found_hold = false;
    for (const Mismatch& m : mismatches) found_hold |= m.what.find("hold a") != std::string::npos;
    EXPECT_TRUE(found_hold);
}

}  // namespace
}  // namespace tollgate::ledger
