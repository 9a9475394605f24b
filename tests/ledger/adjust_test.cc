// Adjustments (both signs, idempotent by key) and refunds (bounded by the
// capture): each one entry, and the books stay exact.
#include <gtest/gtest.h>

#include <string>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

class AdjustTest : public LedgerTest {
  protected:
    std::int64_t adjust(std::int64_t tokens, const std::string& key = "") {
        auto r = ledger_->adjust(account_, tokens, "correction", key);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : 0;
    }
    std::string adjust_error(std::int64_t tokens, const std::string& key = "") {
        auto r = ledger_->adjust(account_, tokens, "correction", key);
        return r.ok() ? "ok" : r.error().code;
    }
    std::string refund_error(const std::string& hold_key, std::int64_t tokens) {
        auto r = ledger_->refund(hold_key, Tokens(tokens), "");
        return r.ok() ? "ok" : r.error().code;
    }
};

TEST_P(AdjustTest, APositiveAdjustmentIsANeverExpiringGrant) {
    std::int64_t entry_id = adjust(25);
    std::vector<Entry> entries = history();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].id, entry_id);
    EXPECT_EQ(entries[0].kind, "adjustment");
    EXPECT_EQ(entries[0].tokens, Tokens(25));
    EXPECT_EQ(entries[0].reason, "correction");
    EXPECT_EQ(entries[0].balance_after, 25);
    ASSERT_TRUE(entries[0].grant_id.has_value());
    GrantInfo g = grant(*entries[0].grant_id);
    EXPECT_EQ(g.source, "adjustment");
    EXPECT_FALSE(g.expires_ms.has_value());
    EXPECT_EQ(g.tokens, Tokens(25));
    EXPECT_EQ(balance().granted, Tokens(25));
    EXPECT_EQ(balance().available(), Tokens(25));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(AdjustTest, ANegativeAdjustmentDebitsGrantsInDrawOrder) {
    std::int64_t a = add(10, kT + 1000);
    std::int64_t b = add(10);
    std::int64_t entry_id = adjust(-12);
    EXPECT_EQ(grant(a).debited, Tokens(10));
    EXPECT_EQ(grant(a).remaining, Tokens(0));
    EXPECT_EQ(grant(b).debited, Tokens(2));
    EXPECT_EQ(grant(b).remaining, Tokens(8));
    Balance bal = balance();
    EXPECT_EQ(bal.granted, Tokens(20));
    EXPECT_EQ(bal.debited, Tokens(12));
    EXPECT_EQ(bal.available(), Tokens(8));
    expect_conserved();
    Entry last = history().back();
    EXPECT_EQ(last.id, entry_id);
    EXPECT_EQ(last.kind, "adjustment");
    EXPECT_EQ(last.tokens, Tokens(-12));
    EXPECT_FALSE(last.grant_id.has_value());
    EXPECT_EQ(last.balance_after, 8);
    // A debited grant no longer expires what was debited from it.
    clock_.set_ms(kT + 1000);
    EXPECT_EQ(balance().expired, Tokens(0));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(AdjustTest, ANegativeAdjustmentNeverGoesBelowZero) {
    add(10);
    ASSERT_EQ(reserve(5, "job"), ReserveOutcome::Held);
    EXPECT_EQ(adjust_error(-6), "insufficient_balance");
    EXPECT_EQ(kinds(), "grant:10 hold:5");
    adjust(-5);
    EXPECT_EQ(balance().available(), Tokens(0));
    EXPECT_EQ(adjust_error(-1), "insufficient_balance");
    expect_conserved();
    EXPECT_EQ(verify_report(), "");
}

TEST_P(AdjustTest, ANegativeAdjustmentNeverDrawsOnCredit) {
    add(10);
    ASSERT_EQ(reserve(15, "job", ReserveTerms{10, false, "", 0}), ReserveOutcome::Held);
    EXPECT_EQ(adjust_error(-1), "insufficient_balance");
    // Money added while credit is outstanding can be taken back, down to zero.
    add(20);
    EXPECT_EQ(adjust_error(-16), "insufficient_balance");
    adjust(-15);
    EXPECT_EQ(balance().available(), Tokens(0));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(AdjustTest, TheSameKeyAdjustsOnce) {
    add(50);
    std::int64_t plus = adjust(10, "ticket-1");
    EXPECT_EQ(adjust(10, "ticket-1"), plus);
    EXPECT_EQ(adjust_error(11, "ticket-1"), "adjustment_key_conflict");
    EXPECT_EQ(adjust_error(-10, "ticket-1"), "adjustment_key_conflict");
    std::int64_t minus = adjust(-3, "ticket-2");
    EXPECT_EQ(adjust(-3, "ticket-2"), minus);
    EXPECT_NE(plus, minus);
    Balance bal = balance();
    EXPECT_EQ(bal.granted, Tokens(60));
    EXPECT_EQ(bal.debited, Tokens(3));
    EXPECT_EQ(kinds(), "grant:50 adjustment:10 adjustment:-3");
    // Keys are per account.
    std::string bob = ledger_->create_account("bob").value();
    EXPECT_TRUE(ledger_->adjust(bob, 7, "", "ticket-1").ok());
    EXPECT_EQ(balance_of(bob).available(), Tokens(7));
    // Without a key every call adjusts.
    adjust(1);
    adjust(1);
    EXPECT_EQ(balance().granted, Tokens(62));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(AdjustTest, InvalidAdjustmentsChangeNothing) {
    add(10);
    EXPECT_EQ(adjust_error(0), "invalid_tokens");
    EXPECT_EQ(adjust_error(core::limits::kGrantTokensMax + 1), "invalid_tokens");
    EXPECT_EQ(adjust_error(-core::limits::kGrantTokensMax - 1), "invalid_tokens");
    EXPECT_EQ(adjust_error(1, std::string(kGrantKeyBytesMax + 1, 'k')), "invalid_key");
    auto long_reason = ledger_->adjust(account_, 1, std::string(501, 'r'), "");
    EXPECT_EQ(long_reason.error().code, "invalid_reason");
    EXPECT_EQ(ledger_->adjust("acct_missing", 1, "", "").error().code, "unknown_account");
    EXPECT_EQ(kinds(), "grant:10");
}

TEST_P(AdjustTest, RefundsReturnUpToTheCapture) {
    add(50);
    ASSERT_EQ(reserve(20, "job"), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("job", Tokens(15)).value(), SettleOutcome::Settled);
    EXPECT_EQ(balance().available(), Tokens(35));
    std::int64_t entry_id = ledger_->refund("job", Tokens(5), "bad output").value();
    Entry last = history().back();
    EXPECT_EQ(last.id, entry_id);
    EXPECT_EQ(last.kind, "refund");
    EXPECT_EQ(last.tokens, Tokens(5));
    EXPECT_EQ(last.hold_key, "job");
    EXPECT_EQ(last.reason, "bad output");
    EXPECT_EQ(last.balance_after, 40);
    ASSERT_TRUE(last.grant_id.has_value());
    EXPECT_EQ(grant(*last.grant_id).source, "refund");
    EXPECT_FALSE(grant(*last.grant_id).expires_ms.has_value());
    EXPECT_EQ(ledger_->find_hold("job").value()->refunded, Tokens(5));
    // Cumulative refunds stop at the capture.
    EXPECT_EQ(refund_error("job", 11), "refund_exceeds_capture");
    EXPECT_EQ(refund_error("job", 10), "ok");
    EXPECT_EQ(refund_error("job", 1), "refund_exceeds_capture");
    Balance bal = balance();
    EXPECT_EQ(bal.granted, Tokens(65));
    EXPECT_EQ(bal.captured, Tokens(15));  // a refund does not undo the capture
    EXPECT_EQ(bal.available(), Tokens(50));
    expect_conserved();
    EXPECT_EQ(kinds(), "grant:50 hold:20 capture:15 refund:5 refund:10");
    EXPECT_EQ(verify_report(), "");
}

TEST_P(AdjustTest, OnlyACapturedHoldCanBeRefunded) {
    add(50);
    ASSERT_EQ(reserve(10, "open"), ReserveOutcome::Held);
    ASSERT_EQ(reserve(10, "voided"), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->void_hold("voided", "").value(), SettleOutcome::Settled);
    EXPECT_EQ(refund_error("open", 1), "hold_not_captured");
    EXPECT_EQ(refund_error("voided", 1), "hold_not_captured");
    EXPECT_EQ(refund_error("missing", 1), "unknown_hold");
    ASSERT_EQ(ledger_->capture("open").value(), SettleOutcome::Settled);
    EXPECT_EQ(refund_error("open", 0), "invalid_tokens");
    EXPECT_EQ(refund_error("open", -1), "invalid_tokens");
    EXPECT_EQ(ledger_->refund("open", Tokens(1), std::string(501, 'r')).error().code,
              "invalid_reason");
    EXPECT_EQ(ledger_->find_hold("open").value()->refunded, Tokens(0));
}

TEST_P(AdjustTest, RefundedAndAdjustedTokensAreSpentLikeAnyGrant) {
    add(10, kT + 1000, 1);
    ASSERT_EQ(reserve(10, "job"), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("job").value(), SettleOutcome::Settled);
    ASSERT_TRUE(ledger_->refund("job", Tokens(4), "").ok());
    adjust(3);
    ASSERT_EQ(reserve(5, "next"), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("next", Tokens(2)).value(), SettleOutcome::Settled);
    adjust(-5);
    EXPECT_EQ(balance().available(), Tokens(0));
    EXPECT_EQ(reserve(1, "none"), ReserveOutcome::InsufficientBalance);
    clock_.set_ms(kT + 2000);
    expect_conserved();
    EXPECT_EQ(verify_report(), "");
}

TOLLGATE_LEDGER_BACKENDS(AdjustTest);

}  // namespace
}  // namespace tollgate::ledger
