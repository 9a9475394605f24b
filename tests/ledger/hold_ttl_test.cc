// Hold TTLs: a hold placed with ttl_ms is listed by expired_open_holds() from
// its expiry on (inclusive), longest expired first, bounded, and only while
// it is open; the ledger never ends it by itself.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

ReserveTerms ttl(std::int64_t ttl_ms) {
    ReserveTerms terms;
    terms.ttl_ms = ttl_ms;
    return terms;
}

class HoldTtlTest : public LedgerTest {
  protected:
    std::vector<std::string> expired_keys(std::int64_t now_ms, std::size_t limit = 100) {
        auto holds = ledger_->expired_open_holds(now_ms, limit);
        EXPECT_TRUE(holds.ok()) << holds.error().message;
        std::vector<std::string> keys;
        if (holds.ok()) {
            for (const Hold& h : *holds) keys.push_back(h.key);
        }
        return keys;
    }
};

TEST_P(HoldTtlTest, ListedExactlyFromItsExpiry) {
    add(100);
    ASSERT_EQ(reserve(10, "job_1", ttl(1000)), ReserveOutcome::Held);
    EXPECT_TRUE(expired_keys(kT + 999).empty());
    auto holds = ledger_->expired_open_holds(kT + 1000, 10).value();
    ASSERT_EQ(holds.size(), 1u);
    EXPECT_EQ(holds[0].key, "job_1");
    EXPECT_EQ(holds[0].account_id, account_);
    EXPECT_EQ(holds[0].tokens, Tokens(10));
    EXPECT_EQ(holds[0].state, HoldState::Open);
    EXPECT_EQ(holds[0].expires_ms, std::optional<std::int64_t>(kT + 1000));
    EXPECT_EQ(ledger_->find_hold("job_1").value()->expires_ms,
              std::optional<std::int64_t>(kT + 1000));
}

TEST_P(HoldTtlTest, ListingIsReadOnly) {
    add(100);
    ASSERT_EQ(reserve(10, "job_1", ttl(1000)), ReserveOutcome::Held);
    clock_.set_ms(kT + 5000);
    EXPECT_EQ(expired_keys(kT + 5000), std::vector<std::string>{"job_1"});
    EXPECT_EQ(expired_keys(kT + 5000), std::vector<std::string>{"job_1"});
    EXPECT_EQ(ledger_->find_hold("job_1").value()->state, HoldState::Open);
    EXPECT_EQ(balance().held, Tokens(10));
    EXPECT_EQ(kinds(), "grant:100 hold:10");
    // Its owner voids it; then it is no longer listed.
    EXPECT_EQ(ledger_->void_hold("job_1", "hold expired").value(), SettleOutcome::Settled);
    EXPECT_TRUE(expired_keys(kT + 5000).empty());
    EXPECT_EQ(verify_report(), "");
}

TEST_P(HoldTtlTest, HoldsWithoutTtlOrSettledAreNeverListed) {
    add(100);
    ASSERT_EQ(reserve(1, "no_ttl"), ReserveOutcome::Held);
    ASSERT_EQ(reserve(2, "captured", ttl(100)), ReserveOutcome::Held);
    ASSERT_EQ(reserve(3, "voided", ttl(100)), ReserveOutcome::Held);
    ASSERT_EQ(reserve(4, "open", ttl(100)), ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("captured").value(), SettleOutcome::Settled);
    ASSERT_EQ(ledger_->void_hold("voided", "").value(), SettleOutcome::Settled);
    EXPECT_FALSE(ledger_->find_hold("no_ttl").value()->expires_ms.has_value());
    EXPECT_EQ(expired_keys(kT + 1'000'000'000), std::vector<std::string>{"open"});
}

TEST_P(HoldTtlTest, LongestExpiredFirstAndBounded) {
    add(100);
    ASSERT_EQ(reserve(1, "c", ttl(300)), ReserveOutcome::Held);
    ASSERT_EQ(reserve(1, "a", ttl(100)), ReserveOutcome::Held);
    clock_.set_ms(kT + 50);
    ASSERT_EQ(reserve(1, "b", ttl(100)), ReserveOutcome::Held);  // expires at kT + 150
    ASSERT_EQ(reserve(1, "d", ttl(10'000)), ReserveOutcome::Held);
    EXPECT_EQ(expired_keys(kT + 300), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(expired_keys(kT + 300, 2), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(expired_keys(kT + 149), std::vector<std::string>{"a"});
    EXPECT_TRUE(expired_keys(kT + 300, 0).empty());
}

TEST_P(HoldTtlTest, TtlOutOfRangeIsRefused) {
    add(100);
    auto negative = ledger_->reserve(account_, Tokens(1), "k1", ttl(-1));
    ASSERT_FALSE(negative.ok());
    EXPECT_EQ(negative.error().code, "invalid_terms");
    auto too_long = ledger_->reserve(account_, Tokens(1), "k2", ttl(kHoldTtlMsMax + 1));
    ASSERT_FALSE(too_long.ok());
    EXPECT_EQ(too_long.error().code, "invalid_terms");
    EXPECT_EQ(reserve(1, "k3", ttl(kHoldTtlMsMax)), ReserveOutcome::Held);
    EXPECT_EQ(balance().held, Tokens(1));
}

TEST_P(HoldTtlTest, ARepeatedKeyKeepsTheFirstTtl) {
    add(100);
    ASSERT_EQ(reserve(5, "k", ttl(100)), ReserveOutcome::Held);
    EXPECT_EQ(reserve(5, "k", ttl(9'000)), ReserveOutcome::AlreadyHeld);
    EXPECT_EQ(ledger_->find_hold("k").value()->expires_ms, std::optional<std::int64_t>(kT + 100));
}

TEST_P(HoldTtlTest, HoldsOfManyAccountsAreListedInOneOrderAndBound) {
    // Twelve accounts (spread over Redis's shards), one hold each, expiring
    // in the reverse order of their creation.
    constexpr int kAccounts = 12;
    std::vector<std::string> by_expiry(kAccounts);
    for (int i = 0; i < kAccounts; ++i) {
        const std::string id = ledger_->create_account("a" + std::to_string(i)).value();
        ASSERT_TRUE(ledger_->grant(id, Tokens(10), "").ok());
        const std::string key = "job_" + std::to_string(i);
        ASSERT_EQ(ledger_->reserve(id, Tokens(1), key, ttl(1000 - 10 * i))->outcome,
                  ReserveOutcome::Held);
        by_expiry[static_cast<std::size_t>(kAccounts - 1 - i)] = key;
    }
    EXPECT_EQ(expired_keys(kT + 1000), by_expiry);
    EXPECT_EQ(expired_keys(kT + 1000, 5),
              std::vector<std::string>(by_expiry.begin(), by_expiry.begin() + 5));
    // Ended holds leave the listing, whichever account they belong to.
    ASSERT_EQ(ledger_->capture(by_expiry[0]).value(), SettleOutcome::Settled);
    ASSERT_EQ(ledger_->void_hold(by_expiry[1], "").value(), SettleOutcome::Settled);
    EXPECT_EQ(expired_keys(kT + 1000, 3),
              std::vector<std::string>(by_expiry.begin() + 2, by_expiry.begin() + 5));
    EXPECT_EQ(verify_report(), "");
}

TOLLGATE_LEDGER_BACKENDS(HoldTtlTest);

}  // namespace
}  // namespace tollgate::ledger
