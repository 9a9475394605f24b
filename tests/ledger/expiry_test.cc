// Expiry: lazy and swept, rollover (capped, once), and tokens a void returns
// to a grant that has expired meanwhile.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

class ExpiryTest : public LedgerTest {
  protected:
    std::int64_t add_rolling(std::int64_t tokens, std::int64_t expires_ms,
                             std::int64_t rollover_max, std::int64_t rollover_expires_ms) {
        GrantSpec spec;
        spec.account_id = account_;
        spec.tokens = Tokens(tokens);
        spec.expires_ms = expires_ms;
        spec.rollover_max = Tokens(rollover_max);
        spec.rollover_expires_ms = rollover_expires_ms;
        auto r = ledger_->add_grant(spec);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? r->grant_id : 0;
    }
};

TEST_P(ExpiryTest, BalanceExpiresDueGrantsLazily) {
    std::int64_t id = add(10, kT + 1000);
    clock_.set_ms(kT + 999);
    EXPECT_EQ(balance().available(), Tokens(10));
    EXPECT_EQ(balance().expired, Tokens(0));
    clock_.set_ms(kT + 1000);
    Balance b = balance();
    EXPECT_EQ(b.available(), Tokens(0));
    EXPECT_EQ(b.expired, Tokens(10));
    EXPECT_EQ(b.granted, b.available() + b.held + b.captured + b.expired);
    EXPECT_EQ(kinds(), "grant:10 expiry:10");
    auto entries = ledger_->entries(account_).value();
    EXPECT_EQ(entries[1].grant_id, std::optional<std::int64_t>(id));
    EXPECT_EQ(entries[1].created_ms, kT + 1000);
    // Processing is done once.
    EXPECT_EQ(balance().expired, Tokens(10));
    EXPECT_EQ(ledger_->expire_due().value(), 0);
    EXPECT_EQ(verify_report(), "");
}

TEST_P(ExpiryTest, ExpireDueSweepsEveryAccount) {
    std::string bob = ledger_->create_account("bob").value();
    add(10, kT + 1000);
    add(5);  // never expires
    GrantSpec spec;
    spec.account_id = bob;
    spec.tokens = Tokens(7);
    spec.expires_ms = kT + 2000;
    ASSERT_TRUE(ledger_->add_grant(spec).ok());

    clock_.set_ms(kT + 1500);
    EXPECT_EQ(ledger_->expire_due().value(), 1);
    clock_.set_ms(kT + 2000);
    EXPECT_EQ(ledger_->expire_due().value(), 1);
    EXPECT_EQ(ledger_->expire_due().value(), 0);
    // The sweep wrote the expiries: the cached figures already show them.
    auto mismatches = ledger_->verify(nullptr).value();
    EXPECT_TRUE(mismatches.empty());
    EXPECT_EQ(balance().expired, Tokens(10));
    EXPECT_EQ(balance().available(), Tokens(5));
    EXPECT_EQ(balance_of(bob).expired, Tokens(7));
}

TEST_P(ExpiryTest, VoidAfterExpiryExpiresTheReturnedTokensAtOnce) {
    std::int64_t id = add(10, kT + 1000);
    ASSERT_EQ(reserve(4, "h"), ReserveOutcome::Held);
    clock_.set_ms(kT + 1000);
    EXPECT_EQ(balance().expired, Tokens(6));
    EXPECT_EQ(balance().held, Tokens(4));
    ASSERT_EQ(ledger_->void_hold("h", "worker failed").value(), SettleOutcome::Settled);
    GrantInfo g = grant(id);
    EXPECT_EQ(g.remaining, Tokens(0));
    EXPECT_EQ(g.held, Tokens(0));
    EXPECT_EQ(g.expired, Tokens(10));
    Balance b = balance();
    EXPECT_EQ(b.expired, Tokens(10));
    EXPECT_EQ(b.held, Tokens(0));
    EXPECT_EQ(b.available(), Tokens(0));
    EXPECT_EQ(kinds(), "grant:10 hold:4 expiry:6 void:4 expiry:4");
    Entry last = ledger_->entries(account_).value().back();
    EXPECT_EQ(last.hold_key, "h");
    EXPECT_EQ(last.grant_id, std::optional<std::int64_t>(id));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(ExpiryTest, CaptureAfterExpiryChargesTheExpiredGrant) {
    std::int64_t id = add(10, kT + 1000);
    ASSERT_EQ(reserve(4, "h"), ReserveOutcome::Held);
    clock_.set_ms(kT + 5000);
    ASSERT_EQ(ledger_->capture("h").value(), SettleOutcome::Settled);
    GrantInfo g = grant(id);
    EXPECT_EQ(g.used, Tokens(4));
    EXPECT_EQ(g.expired, Tokens(6));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(ExpiryTest, RolloverKeepsAtMostTheCapAndOnlyOnce) {
    std::int64_t id = add_rolling(100, kT + 1000, 30, kT + 2000);
    ASSERT_EQ(reserve(50, "h"), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("h").value(), SettleOutcome::Settled);

    clock_.set_ms(kT + 1000);
    GrantInfo g = grant(id);
    EXPECT_EQ(g.remaining, Tokens(30));
    EXPECT_EQ(g.expired, Tokens(20));
    EXPECT_EQ(g.expires_ms, std::optional<std::int64_t>(kT + 2000));
    EXPECT_EQ(balance().available(), Tokens(30));
    EXPECT_EQ(kinds(), "grant:100 hold:50 capture:50 rollover:30 expiry:20");

    clock_.set_ms(kT + 1999);
    ASSERT_EQ(reserve(10, "i"), ReserveOutcome::Held);  // rolled tokens are spendable
    clock_.set_ms(kT + 2000);
    g = grant(id);
    EXPECT_EQ(g.remaining, Tokens(0));
    EXPECT_EQ(g.expired, Tokens(40));  // no second rollover
    EXPECT_EQ(balance().available(), Tokens(0));
    EXPECT_EQ(kinds(), "grant:100 hold:50 capture:50 rollover:30 expiry:20 hold:10 expiry:20");
    EXPECT_EQ(verify_report(), "");
}

TEST_P(ExpiryTest, RolloverBelowTheCapKeepsEverything) {
    std::int64_t id = add_rolling(100, kT + 1000, 30, kT + 2000);
    ASSERT_EQ(reserve(90, "h"), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("h").value(), SettleOutcome::Settled);
    EXPECT_EQ(ledger_->expire_due().value(), 0);
    clock_.set_ms(kT + 1000);
    EXPECT_EQ(ledger_->expire_due().value(), 1);
    EXPECT_EQ(grant(id).remaining, Tokens(10));
    EXPECT_EQ(grant(id).expired, Tokens(0));
    EXPECT_EQ(kinds(), "grant:100 hold:90 capture:90 rollover:10");
    EXPECT_EQ(verify_report(), "");
}

TEST_P(ExpiryTest, AnIdleAccountRollsOverAndExpiresInOneStep) {
    std::int64_t id = add_rolling(100, kT + 1000, 30, kT + 2000);
    clock_.set_ms(kT + 10'000);
    Balance b = balance();
    EXPECT_EQ(b.expired, Tokens(100));
    EXPECT_EQ(b.available(), Tokens(0));
    EXPECT_EQ(grant(id).expired, Tokens(100));
    EXPECT_EQ(kinds(), "grant:100 rollover:30 expiry:70 expiry:30");
    EXPECT_EQ(verify_report(), "");
}

TOLLGATE_LEDGER_BACKENDS(ExpiryTest);

}  // namespace
}  // namespace tollgate::ledger
