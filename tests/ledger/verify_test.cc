// verify() on the grant-based books: clean after every kind of movement, on
// every backend. That it finds tampered records is checked per backend, by
// changing them behind the ledger's back (sqlite_verify_test.cc).
#include <gtest/gtest.h>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;
using VerifyTest = LedgerTest;

TEST_P(VerifyTest, CleanAfterEveryKindOfMovement) {
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

TEST_P(VerifyTest, CleanAfterPartialCapturesRefundsAndAdjustments) {
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

TOLLGATE_LEDGER_BACKENDS(VerifyTest);

}  // namespace
}  // namespace tollgate::ledger
