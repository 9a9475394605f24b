// Grants: draw order, allocation of holds across grants, what capture and
// void do to each grant, and idempotent add_grant().
#include <gtest/gtest.h>

#include "core/limits.h"
#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

class GrantTest : public LedgerTest {};

TEST_P(GrantTest, DrawOrderIsPriorityThenEarliestExpiryThenNeverExpiring) {
    std::int64_t never = add(10);
    std::int64_t late = add(10, kT + 2000);
    std::int64_t soon = add(10, kT + 1000);
    std::int64_t high = add(10, std::nullopt, 5);
    std::int64_t never_newer = add(10);
    auto grants = ledger_->grants(account_).value();
    ASSERT_EQ(grants.size(), 5u);
    EXPECT_EQ(grants[0].id, high);
    EXPECT_EQ(grants[1].id, soon);
    EXPECT_EQ(grants[2].id, late);
    EXPECT_EQ(grants[3].id, never);
    EXPECT_EQ(grants[4].id, never_newer);

    // A hold of 25 takes all of the first two and half of the third.
    ASSERT_EQ(reserve(25, "h"), ReserveOutcome::Held);
    EXPECT_EQ(grant(high).remaining, Tokens(0));
    EXPECT_EQ(grant(soon).remaining, Tokens(0));
    EXPECT_EQ(grant(late).remaining, Tokens(5));
    EXPECT_EQ(grant(late).held, Tokens(5));
    EXPECT_EQ(grant(never).remaining, Tokens(10));
    EXPECT_EQ(balance().available(), Tokens(25));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(GrantTest, AGrantIsUsableUntilOneMillisecondBeforeItsExpiry) {
    std::int64_t expiring = add(10, kT + 1000);
    std::int64_t never = add(10);
    clock_.set_ms(kT + 999);
    ASSERT_EQ(reserve(4, "a"), ReserveOutcome::Held);
    EXPECT_EQ(grant(expiring).held, Tokens(4));
    EXPECT_EQ(grant(never).held, Tokens(0));

    clock_.set_ms(kT + 1000);  // exactly expires_ms: expired
    ASSERT_EQ(reserve(4, "b"), ReserveOutcome::Held);
    EXPECT_EQ(grant(never).held, Tokens(4));
    GrantInfo gone = grant(expiring);
    EXPECT_EQ(gone.remaining, Tokens(0));
    EXPECT_EQ(gone.expired, Tokens(6));
    EXPECT_EQ(gone.held, Tokens(4));  // still held by "a"
    Balance b = balance();
    EXPECT_EQ(b.expired, Tokens(6));
    EXPECT_EQ(b.available(), Tokens(6));
    EXPECT_EQ(reserve(7, "c"), ReserveOutcome::InsufficientBalance);
    EXPECT_EQ(verify_report(), "");
}

TEST_P(GrantTest, AHoldSplitsAcrossSeveralGrantsAndCaptureUsesThem) {
    std::int64_t a = add(5);
    std::int64_t b = add(5);
    std::int64_t c = add(5);
    ASSERT_EQ(reserve(12, "h"), ReserveOutcome::Held);
    EXPECT_EQ(grant(a).held, Tokens(5));
    EXPECT_EQ(grant(b).held, Tokens(5));
    EXPECT_EQ(grant(c).held, Tokens(2));
    EXPECT_EQ(grant(c).remaining, Tokens(3));
    ASSERT_EQ(ledger_->capture("h").value(), SettleOutcome::Settled);
    EXPECT_EQ(grant(a).used, Tokens(5));
    EXPECT_EQ(grant(b).used, Tokens(5));
    EXPECT_EQ(grant(c).used, Tokens(2));
    EXPECT_EQ(grant(c).held, Tokens(0));
    EXPECT_EQ(balance().captured, Tokens(12));
    EXPECT_EQ(balance().available(), Tokens(3));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(GrantTest, CaptureChargesTheGrantsTheHoldDrewOnNotTheCurrentOrder) {
    std::int64_t first = add(10);
    ASSERT_EQ(reserve(6, "h"), ReserveOutcome::Held);
    std::int64_t preferred = add(10, std::nullopt, 9);  // now first in draw order
    ASSERT_EQ(ledger_->capture("h").value(), SettleOutcome::Settled);
    EXPECT_EQ(grant(first).used, Tokens(6));
    EXPECT_EQ(grant(preferred).used, Tokens(0));
    EXPECT_EQ(grant(preferred).remaining, Tokens(10));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(GrantTest, VoidReturnsTokensToTheirGrants) {
    std::int64_t a = add(5, std::nullopt, 1);
    std::int64_t b = add(5);
    ASSERT_EQ(reserve(8, "h"), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->void_hold("h", "worker failed").value(), SettleOutcome::Settled);
    EXPECT_EQ(grant(a).remaining, Tokens(5));
    EXPECT_EQ(grant(b).remaining, Tokens(5));
    EXPECT_EQ(grant(a).held + grant(b).held, Tokens(0));
    EXPECT_EQ(balance().available(), Tokens(10));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(GrantTest, AddGrantIsIdempotentByKey) {
    GrantSpec spec;
    spec.account_id = account_;
    spec.tokens = Tokens(100);
    spec.key = "plan:pro:2024-05";
    spec.expires_ms = kT + 10'000;
    auto first = ledger_->add_grant(spec);
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(first->created);
    auto again = ledger_->add_grant(spec);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->grant_id, first->grant_id);
    EXPECT_EQ(balance().granted, Tokens(100));
    EXPECT_EQ(ledger_->grants(account_)->size(), 1u);
    EXPECT_EQ(ledger_->entries(account_)->size(), 1u);

    spec.tokens = Tokens(101);
    auto conflict = ledger_->add_grant(spec);
    ASSERT_FALSE(conflict.ok());
    EXPECT_EQ(conflict.error().code, "grant_key_conflict");
    EXPECT_EQ(balance().granted, Tokens(100));
    // Asked to, the first grant stands whatever the new amount.
    spec.key_keeps_first_amount = true;
    auto kept = ledger_->add_grant(spec);
    ASSERT_TRUE(kept.ok()) << kept.error().message;
    EXPECT_FALSE(kept->created);
    EXPECT_EQ(kept->grant_id, first->grant_id);
    EXPECT_EQ(balance().granted, Tokens(100));
    spec.key_keeps_first_amount = false;

    // Keys are per account.
    spec.account_id = ledger_->create_account("bob").value();
    auto other = ledger_->add_grant(spec);
    ASSERT_TRUE(other.ok());
    EXPECT_TRUE(other->created);
    EXPECT_EQ(verify_report(), "");
}

TEST_P(GrantTest, AddGrantRefusesInvalidSpecs) {
    auto code = [&](GrantSpec spec) {
        auto r = ledger_->add_grant(spec);
        return r.ok() ? std::string("ok") : r.error().code;
    };
    GrantSpec ok;
    ok.account_id = account_;
    ok.tokens = Tokens(10);

    GrantSpec spec = ok;
    spec.expires_ms = kT;  // not in the future
    EXPECT_EQ(code(spec), "invalid_grant");
    spec.expires_ms = kT + 1;
    EXPECT_EQ(code(spec), "ok");

    spec = ok;
    spec.tokens = Tokens(0);
    EXPECT_EQ(code(spec), "invalid_tokens");
    spec.tokens = Tokens(core::limits::kGrantTokensMax + 1);
    EXPECT_EQ(code(spec), "invalid_tokens");
    spec.tokens = Tokens(core::limits::kGrantTokensMax);
    EXPECT_EQ(code(spec), "ok");

    spec = ok;
    spec.rollover_max = Tokens(5);  // a rollover needs an end and an expiry
    EXPECT_EQ(code(spec), "invalid_grant");
    spec.rollover_expires_ms = kT + 2000;
    EXPECT_EQ(code(spec), "invalid_grant");
    spec.expires_ms = kT + 2000;  // the rollover must end after the grant
    EXPECT_EQ(code(spec), "invalid_grant");
    spec.expires_ms = kT + 1000;
    EXPECT_EQ(code(spec), "ok");

    spec = ok;
    spec.account_id = "acct_missing";
    EXPECT_EQ(code(spec), "unknown_account");
    EXPECT_EQ(verify_report(), "");
}

TEST_P(GrantTest, TheOldGrantCallAddsANeverExpiringGrantAtPriorityZero) {
    auto entry_id = ledger_->grant(account_, Tokens(7), "top-up");
    ASSERT_TRUE(entry_id.ok());
    auto grants = ledger_->grants(account_).value();
    ASSERT_EQ(grants.size(), 1u);
    EXPECT_EQ(grants[0].tokens, Tokens(7));
    EXPECT_EQ(grants[0].reason, "top-up");
    EXPECT_EQ(grants[0].key, "");
    EXPECT_EQ(grants[0].priority, 0);
    EXPECT_FALSE(grants[0].expires_ms.has_value());
    EXPECT_EQ(grants[0].starts_ms, kT);
    auto entries = ledger_->entries(account_).value();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].id, *entry_id);
    EXPECT_EQ(entries[0].grant_id, std::optional<std::int64_t>(grants[0].id));
    EXPECT_FALSE(ledger_->grants("acct_missing").ok());
}

TOLLGATE_LEDGER_BACKENDS(GrantTest);

}  // namespace
}  // namespace tollgate::ledger
