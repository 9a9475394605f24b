// Credit: postpaid limits and unlimited plans. (SQLite's own guard that keeps
// an account from going below -credit_limit is in sqlite_storage_test.cc.)
#include <gtest/gtest.h>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

class CreditTest : public LedgerTest {
  protected:
    static ReserveTerms postpaid(std::int64_t limit) { return ReserveTerms{limit, false, ""}; }
    static ReserveTerms unlimited() { return ReserveTerms{0, true, ""}; }
};

TEST_P(CreditTest, PostpaidMayReachExactlyMinusTheLimitAndNoFurther) {
    add(10);
    auto r = ledger_->reserve(account_, Tokens(30), "a", postpaid(20));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outcome, ReserveOutcome::Held);
    EXPECT_EQ(r->available, Tokens(-20));
    auto refused = ledger_->reserve(account_, Tokens(1), "b", postpaid(20));
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->outcome, ReserveOutcome::InsufficientBalance);
    EXPECT_EQ(refused->available, Tokens(-20));
    EXPECT_FALSE(ledger_->find_hold("b")->has_value());
    ASSERT_EQ(ledger_->capture("a").value(), SettleOutcome::Settled);
    Balance b = balance();
    EXPECT_EQ(b.captured, Tokens(30));
    EXPECT_EQ(b.available(), Tokens(-20));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(CreditTest, GrantsAreDrawnBeforeCreditAndAVoidReturnsBoth) {
    std::int64_t id = add(10);
    ASSERT_EQ(reserve(15, "a", postpaid(100)), ReserveOutcome::Held);
    EXPECT_EQ(grant(id).held, Tokens(10));
    EXPECT_EQ(balance().held, Tokens(15));
    EXPECT_EQ(balance().available(), Tokens(-5));
    ASSERT_EQ(ledger_->void_hold("a", "").value(), SettleOutcome::Settled);
    EXPECT_EQ(grant(id).remaining, Tokens(10));
    EXPECT_EQ(balance().available(), Tokens(10));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(CreditTest, TheHoldEntryCarriesTheMemo) {
    add(10);
    ReserveTerms terms;
    terms.memo = "quote under price book v7";
    ASSERT_EQ(ledger_->reserve(account_, Tokens(4), "m", terms)->outcome, ReserveOutcome::Held);
    std::string reason;
    const auto entries = ledger_->entries(account_).value();
    for (const Entry& e : entries) {
        if (e.kind == "hold" && e.hold_key == "m") reason = e.reason;
    }
    EXPECT_EQ(reason, "quote under price book v7");
}

TEST_P(CreditTest, PrepaidNeverDrawsOnCredit) {
    add(10);
    EXPECT_EQ(reserve(11, "a"), ReserveOutcome::InsufficientBalance);
    EXPECT_EQ(reserve(10, "b"), ReserveOutcome::Held);
    EXPECT_EQ(balance().available(), Tokens(0));
}

TEST_P(CreditTest, UnlimitedIsNeverRefusedForBalance) {
    auto r = ledger_->reserve(account_, Tokens(1'000'000'000), "a", unlimited());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outcome, ReserveOutcome::Held);
    EXPECT_EQ(r->available, Tokens(-1'000'000'000));
    EXPECT_EQ(reserve(1'000'000'000, "b", unlimited()), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("a").value(), SettleOutcome::Settled);
    EXPECT_EQ(balance().available(), Tokens(-2'000'000'000));
    // A grant covers what it can before credit is drawn.
    std::int64_t id = add(5);
    EXPECT_EQ(reserve(7, "c", unlimited()), ReserveOutcome::Held);
    EXPECT_EQ(grant(id).held, Tokens(5));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(CreditTest, ExpiryAfterAMoveToStricterTermsKeepsTheGuard) {
    // 50 owed on credit, then a prepaid hold drawn from an expiring grant.
    ASSERT_EQ(reserve(50, "a", postpaid(100)), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("a").value(), SettleOutcome::Settled);
    add(100, kT + 1000);
    EXPECT_EQ(balance().available(), Tokens(50));
    ASSERT_EQ(reserve(10, "b"), ReserveOutcome::Held);
    EXPECT_EQ(reserve(41, "c"), ReserveOutcome::InsufficientBalance);
    // The grant's 90 unused tokens expire: the account owes its credit again.
    clock_.set_ms(kT + 1000);
    Balance b = balance();
    EXPECT_EQ(b.available(), Tokens(-50));
    EXPECT_EQ(b.granted, b.available() + b.held + b.captured + b.expired);
    EXPECT_EQ(reserve(1, "d"), ReserveOutcome::InsufficientBalance);
    EXPECT_EQ(verify_report(), "");
}

TEST_P(CreditTest, NegativeLimitsAreRefused) {
    auto r = ledger_->reserve(account_, Tokens(1), "a", postpaid(-1));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_terms");
}

TOLLGATE_LEDGER_BACKENDS(CreditTest);

}  // namespace
}  // namespace tollgate::ledger
