// Partial capture: charging part of a hold releases the rest in the same
// transaction, credit first and then the grants in reverse draw order, so the
// earliest-expiring grants are the ones charged.
#include <gtest/gtest.h>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

class CaptureTest : public LedgerTest {
  protected:
    SettleOutcome capture(const std::string& key, std::int64_t tokens) {
        auto r = ledger_->capture(key, Tokens(tokens));
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : SettleOutcome::UnknownHold;
    }
    std::string capture_error(const std::string& key, std::int64_t tokens) {
        auto r = ledger_->capture(key, Tokens(tokens));
        return r.ok() ? "ok" : r.error().code;
    }
};

TEST_P(CaptureTest, ChargesTheEarliestExpiringGrantsAndReleasesTheRest) {
    std::int64_t a = add(10, kT + 1000);
    std::int64_t b = add(10, kT + 2000);
    std::int64_t c = add(10);
    ASSERT_EQ(reserve(25, "job"), ReserveOutcome::Held);  // a 10, b 10, c 5
    EXPECT_EQ(capture("job", 12), SettleOutcome::Settled);
    EXPECT_EQ(grant(a).used, Tokens(10));
    EXPECT_EQ(grant(a).remaining, Tokens(0));
    EXPECT_EQ(grant(b).used, Tokens(2));
    EXPECT_EQ(grant(b).remaining, Tokens(8));
    EXPECT_EQ(grant(c).used, Tokens(0));
    EXPECT_EQ(grant(c).remaining, Tokens(10));
    EXPECT_EQ(grant(c).held, Tokens(0));
    Balance bal = balance();
    EXPECT_EQ(bal.held, Tokens(0));
    EXPECT_EQ(bal.captured, Tokens(12));
    EXPECT_EQ(bal.available(), Tokens(18));
    expect_conserved();
    Hold hold = ledger_->find_hold("job").value().value();
    EXPECT_EQ(hold.state, HoldState::Captured);
    EXPECT_EQ(hold.tokens, Tokens(25));
    EXPECT_EQ(hold.captured, Tokens(12));
    // One capture entry of the amount charged; the release shows in its
    // balance_after and its reason.
    EXPECT_EQ(kinds(), "grant:10 grant:10 grant:10 hold:25 capture:12");
    Entry last = history().back();
    EXPECT_EQ(last.reason, "released 13");
    EXPECT_EQ(last.balance_after, 18);
    EXPECT_EQ(verify_report(), "");
}

TEST_P(CaptureTest, ReleasesCreditBeforeAnyGrant) {
    std::int64_t g = add(10);
    ASSERT_EQ(reserve(15, "small", ReserveTerms{10, false, "", 0}), ReserveOutcome::Held);
    EXPECT_EQ(balance().available(), Tokens(-5));
    EXPECT_EQ(capture("small", 8), SettleOutcome::Settled);  // credit 5 and grant 2 released
    EXPECT_EQ(grant(g).used, Tokens(8));
    EXPECT_EQ(grant(g).remaining, Tokens(2));
    EXPECT_EQ(balance().available(), Tokens(2));
    expect_conserved();
    EXPECT_EQ(verify_report(), "");

    std::int64_t h = add(10);
    ASSERT_EQ(reserve(17, "large", ReserveTerms{10, false, "", 0}), ReserveOutcome::Held);
    EXPECT_EQ(capture("large", 14), SettleOutcome::Settled);  // grants 12, credit 2
    EXPECT_EQ(grant(g).used, Tokens(10));
    EXPECT_EQ(grant(h).used, Tokens(10));
    EXPECT_EQ(balance().available(), Tokens(-2));
    expect_conserved();
    EXPECT_EQ(verify_report(), "");
}

TEST_P(CaptureTest, ReleasedTokensOfAnExpiredGrantExpireAtOnce) {
    std::int64_t a = add(10, kT + 1000);
    std::int64_t b = add(10);
    ASSERT_EQ(reserve(15, "job"), ReserveOutcome::Held);  // a 10, b 5
    clock_.set_ms(kT + 1500);
    EXPECT_EQ(capture("job", 5), SettleOutcome::Settled);
    EXPECT_EQ(grant(a).used, Tokens(5));
    EXPECT_EQ(grant(a).expired, Tokens(5));
    EXPECT_EQ(grant(a).remaining, Tokens(0));
    EXPECT_EQ(grant(b).remaining, Tokens(10));
    Balance bal = balance();
    EXPECT_EQ(bal.captured, Tokens(5));
    EXPECT_EQ(bal.expired, Tokens(5));
    EXPECT_EQ(bal.available(), Tokens(10));
    expect_conserved();
    EXPECT_EQ(kinds(), "grant:10 grant:10 hold:15 capture:5 expiry:5");
    std::vector<Entry> entries = history();
    EXPECT_EQ(entries[3].balance_after, 15);
    EXPECT_EQ(entries[4].balance_after, 10);
    EXPECT_EQ(entries[4].hold_key, "job");
    EXPECT_EQ(verify_report(), "");
}

TEST_P(CaptureTest, CapturingTheWholeHoldByAmountIsAFullCapture) {
    add(20);
    ASSERT_EQ(reserve(10, "job"), ReserveOutcome::Held);
    EXPECT_EQ(capture("job", 10), SettleOutcome::Settled);
    EXPECT_EQ(ledger_->capture("job").value(), SettleOutcome::AlreadySettled);
    EXPECT_EQ(history().back().reason, "");
    EXPECT_EQ(balance().captured, Tokens(10));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(CaptureTest, ASecondCaptureIsIdempotentOnlyForTheSameAmount) {
    add(20);
    ASSERT_EQ(reserve(10, "job"), ReserveOutcome::Held);
    EXPECT_EQ(capture("job", 6), SettleOutcome::Settled);
    EXPECT_EQ(capture("job", 6), SettleOutcome::AlreadySettled);
    EXPECT_EQ(capture("job", 7), SettleOutcome::Conflict);
    EXPECT_EQ(ledger_->capture("job").value(), SettleOutcome::Conflict);  // the full 10
    EXPECT_EQ(ledger_->void_hold("job", "late").value(), SettleOutcome::Conflict);
    Balance bal = balance();
    EXPECT_EQ(bal.captured, Tokens(6));
    EXPECT_EQ(bal.available(), Tokens(14));
    EXPECT_EQ(kinds(), "grant:20 hold:10 capture:6");
    EXPECT_EQ(verify_report(), "");
}

TEST_P(CaptureTest, CapturingMoreThanHeldOrNothingIsRefused) {
    add(20);
    ASSERT_EQ(reserve(10, "job"), ReserveOutcome::Held);
    EXPECT_EQ(capture_error("job", 11), "capture_exceeds_hold");
    EXPECT_EQ(capture_error("job", 0), "invalid_tokens");
    EXPECT_EQ(capture_error("job", -3), "invalid_tokens");
    EXPECT_EQ(ledger_->find_hold("job").value()->state, HoldState::Open);
    EXPECT_EQ(balance().held, Tokens(10));
    EXPECT_EQ(kinds(), "grant:20 hold:10");
    // Still open: a valid capture goes through afterwards.
    EXPECT_EQ(capture("job", 10), SettleOutcome::Settled);
    EXPECT_EQ(capture_error("job", 11), "capture_exceeds_hold");
}

TEST_P(CaptureTest, AVoidedHoldCannotBeCaptured) {
    add(20);
    ASSERT_EQ(reserve(10, "job"), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->void_hold("job", "").value(), SettleOutcome::Settled);
    EXPECT_EQ(capture("job", 4), SettleOutcome::Conflict);
    EXPECT_EQ(ledger_->void_hold("job", "").value(), SettleOutcome::AlreadySettled);
    EXPECT_EQ(capture("nope", 4), SettleOutcome::UnknownHold);
    EXPECT_EQ(balance().available(), Tokens(20));
}

TEST_P(CaptureTest, ManyPartialCapturesKeepTheBooksExact) {
    add(40, kT + 1000, 1);
    add(30, kT + 3000);
    add(30);
    for (int i = 0; i < 10; ++i) {
        std::string key = "job" + std::to_string(i);
        ASSERT_EQ(reserve(9, key, ReserveTerms{20, false, "", 0}), ReserveOutcome::Held);
        if (i == 4) clock_.set_ms(kT + 1200);
        if (i % 3 == 0) {
            ASSERT_EQ(capture(key, 1 + i % 9), SettleOutcome::Settled);
        } else if (i % 3 == 1) {
            ASSERT_EQ(ledger_->void_hold(key, "").value(), SettleOutcome::Settled);
        }
    }
    expect_conserved();
    EXPECT_EQ(verify_report(), "");
}

TOLLGATE_LEDGER_BACKENDS(CaptureTest);

}  // namespace
}  // namespace tollgate::ledger
