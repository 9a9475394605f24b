// verify() on the grant-based books: clean after every kind of movement, and
// loud about a tampered grant or balance.
#include <gtest/gtest.h>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;
constexpr std::int64_t kT = SqliteLedgerTest::kStartMs;

class VerifyTest : public SqliteLedgerTest {
  protected:
    // Every kind of movement: grants with and without expiry and rollover,
    // holds across grants and credit, captures, voids, expiries.
    void make_history() {
        GrantSpec spec;
        spec.account_id = account_;
        spec.tokens = Tokens(40);
        spec.expires_ms = kT + 1000;
        spec.rollover_max = Tokens(5);
        spec.rollover_expires_ms = kT + 3000;
        ASSERT_TRUE(ledger_->add_grant(spec).ok());
        add(30, kT + 2000, 2);
        add(20);
        ASSERT_EQ(reserve(35, "a"), ReserveOutcome::Held);
        ASSERT_EQ(reserve(30, "b"), ReserveOutcome::Held);
        ASSERT_EQ(reserve(40, "c", ReserveTerms{50, false, ""}), ReserveOutcome::Held);
        ASSERT_EQ(ledger_->capture("a").value(), SettleOutcome::Settled);
        clock_.set_ms(kT + 1500);
        ASSERT_EQ(ledger_->void_hold("b", "").value(), SettleOutcome::Settled);
        ASSERT_EQ(reserve(3, "d", ReserveTerms{0, true, ""}), ReserveOutcome::Held);
        clock_.set_ms(kT + 5000);
        ASSERT_TRUE(ledger_->expire_due().ok());
    }
};

TEST_F(VerifyTest, CleanAfterEveryKindOfMovement) {
    make_history();
    std::string bob = ledger_->create_account("bob").value();
    std::int64_t checked = 0;
    auto mismatches = ledger_->verify(&checked);
    ASSERT_TRUE(mismatches.ok());
    EXPECT_TRUE(mismatches->empty()) << verify_report();
    EXPECT_EQ(checked, 2);
    Balance b = balance();
    EXPECT_EQ(b.granted, b.available() + b.held + b.captured + b.expired);
}

TEST_F(VerifyTest, CleanAfterPartialCapturesRefundsAndAdjustments) {
    make_history();
    add(50);
    ASSERT_EQ(reserve(20, "e", ReserveTerms{50, false, "", 1000}), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("e", Tokens(7)).value(), SettleOutcome::Settled);
    ASSERT_TRUE(ledger_->refund("e", Tokens(3), "").ok());
    ASSERT_TRUE(ledger_->refund("a", Tokens(35), "").ok());
    ASSERT_TRUE(ledger_->adjust(account_, 9, "", "k1").ok());
    ASSERT_TRUE(ledger_->adjust(account_, -4, "", "k2").ok());
    EXPECT_EQ(verify_report(), "");
    Balance b = balance();
    EXPECT_EQ(b.granted, b.available() + b.held + b.captured + b.expired + b.debited);
}

TEST_F(VerifyTest, FindsATamperedBalanceAfter) {
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

TEST_F(VerifyTest, FindsATamperedLastBalanceAfter) {
    add(10);
    ASSERT_EQ(reserve(4, "a"), ReserveOutcome::Held);
    ASSERT_TRUE(db_->exec("UPDATE entries SET balance_after = 7 WHERE kind = 'hold'").ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("available vs last entry's balance_after: cached 6, from records 7"),
              std::string::npos)
        << report;
}

TEST_F(VerifyTest, FindsATamperedDebit) {
    add(10);
    ASSERT_TRUE(ledger_->adjust(account_, -4, "", "").ok());
    ASSERT_TRUE(db_->exec("UPDATE debits SET tokens = 3").ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("tokens removed vs debits: cached 4, from records 3"), std::string::npos)
        << report;
    EXPECT_NE(report.find("debited vs debits"), std::string::npos) << report;
}

TEST_F(VerifyTest, FindsATamperedPartialCapture) {
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

TEST_F(VerifyTest, FindsATamperedGrant) {
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

TEST_F(VerifyTest, FindsAGrantWhoseBooksDoNotBalance) {
    add(10);
    ASSERT_EQ(reserve(4, "a"), ReserveOutcome::Held);
    // The cached held agrees with the row, but no open hold backs it.
    ASSERT_TRUE(db_->exec("UPDATE holds SET state = 'voided'").ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("!= remaining + open allocations + used + expired"), std::string::npos)
        << report;
}

TEST_F(VerifyTest, FindsATamperedExpiry) {
    make_history();
    ASSERT_TRUE(db_->exec("UPDATE balances SET expired = expired + 1").ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("expired vs expiry entries"), std::string::npos) << report;
    EXPECT_NE(report.find("expired vs grants' expired"), std::string::npos) << report;
}

TEST_F(VerifyTest, FindsAHoldWhoseSlicesDoNotAddUp) {
    add(10);
    ASSERT_EQ(reserve(4, "a"), ReserveOutcome::Held);
    ASSERT_TRUE(db_->exec("DELETE FROM hold_allocations").ok());
    std::string report = verify_report();
    EXPECT_NE(report.find("hold a (open) tokens vs allocations"), std::string::npos) << report;
}

TEST_F(VerifyTest, FindsAnAccountBelowItsCreditLimit) {
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

}  // namespace
}  // namespace tollgate::ledger
