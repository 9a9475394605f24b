// The token buckets behind rate limits: refill at the per-minute rate, the
// burst as a ceiling, Retry-After rounded up to whole seconds, both buckets
// or neither, and the bound on the accounts kept in memory.
//
// RateLimiterTest runs against each AccountRateLimiter, named by its
// parameter: "memory" (RateLimiter) or "redis" (RedisRateLimiter on this
// binary's Redis server, under a key prefix of the test's own). Its tests are
// named Backends/RateLimiterTest.Test/<backend>.
#include "http/api/rate_limiter.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/limits.h"
#include "http/api/redis_rate_limiter.h"
#include "support/redis_test_store.h"

namespace tollgate::http {
namespace {

constexpr AccountLimits requests(std::int64_t per_minute, std::int64_t burst) {
    return {{per_minute, burst}, {}};
}
constexpr AccountLimits bytes(std::int64_t per_minute, std::int64_t burst) {
    return {{}, {per_minute, burst}};
}

class RateLimiterTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        if (GetParam() == "memory") {
            memory_ = std::make_unique<RateLimiter>(clock_, 1000);
            limiter_ = memory_.get();
        } else if (GetParam() == "redis") {
            client_ = testing::shared_redis_client();
            ASSERT_NE(client_, nullptr);
            auto opened = RedisRateLimiter::open(*client_, clock_, prefix_);
            ASSERT_TRUE(opened.ok()) << opened.error().message;
            redis_ = std::move(opened).value();
            limiter_ = redis_.get();
        } else {
            FAIL() << "unknown limiter " << GetParam();
        }
    }

    RateVerdict take(const AccountLimits& limits, std::int64_t upload = 0,
                     const std::string& account = "acct_a") {
        last_ = limiter_->take(account, limits, upload);
        return last_.verdict;
    }
    RateDecision check(const AccountLimits& limits, std::int64_t upload,
                       const std::string& account = "acct_a") {
        return limiter_->check(account, limits, upload);
    }

    // Whether the limiter holds buckets of the account: an entry in memory,
    // a key on Redis.
    bool tracked(const std::string& account) {
        if (memory_) return memory_->tracked_for_test(account);
        const std::string key = redis_->key(account);
        auto exists = client_->command(key, {"EXISTS", key});
        EXPECT_TRUE(exists.ok()) << exists.error().message;
        return exists.ok() && exists->integer == 1;
    }
    // How many accounts the limiter holds buckets of.
    std::size_t tracked_accounts() {
        if (memory_) return memory_->tracked_accounts();
        auto keys = client_->command("", {"KEYS", prefix_ + "*"});
        EXPECT_TRUE(keys.ok()) << keys.error().message;
        return keys.ok() ? keys->elements.size() : 0;
    }

    core::ManualClock clock_{1'700'000'000'000};
    const std::string prefix_ = testing::unique_redis_prefix("rl");
    std::unique_ptr<RateLimiter> memory_;
    std::unique_ptr<store::redis::Client> client_;
    std::unique_ptr<RedisRateLimiter> redis_;
    AccountRateLimiter* limiter_ = nullptr;
    RateDecision last_;
};

INSTANTIATE_TEST_SUITE_P(Backends, RateLimiterTest, ::testing::Values("memory", "redis"),
                         ::tollgate::testing::backend_param_name);

TEST(RetryAfterTest, WholeSecondsRoundedUp) {
    EXPECT_EQ(retry_after_seconds(1), 1);
    EXPECT_EQ(retry_after_seconds(999), 1);
    EXPECT_EQ(retry_after_seconds(1000), 1);
    EXPECT_EQ(retry_after_seconds(1001), 2);
    EXPECT_EQ(retry_after_seconds(8572), 9);
}

TEST_P(RateLimiterTest, ABucketRefillsAtItsRate) {
    const AccountLimits limits = requests(60, 2);  // one a second, two at once
    EXPECT_EQ(take(limits), RateVerdict::Allowed);
    EXPECT_EQ(take(limits), RateVerdict::Allowed);
    EXPECT_EQ(take(limits), RateVerdict::Limited);
    EXPECT_EQ(last_.limit, "requests_per_minute");
    EXPECT_EQ(last_.retry_after_s, 1);
    clock_.advance_ms(999);
    EXPECT_EQ(take(limits), RateVerdict::Limited);
    EXPECT_EQ(last_.retry_after_s, 1);
    clock_.advance_ms(1);
    EXPECT_EQ(take(limits), RateVerdict::Allowed);
    EXPECT_EQ(take(limits), RateVerdict::Limited);
    // Half a minute is worth 30 requests, but the bucket holds two.
    clock_.advance_ms(30'000);
    EXPECT_EQ(take(limits), RateVerdict::Allowed);
    EXPECT_EQ(take(limits), RateVerdict::Allowed);
    EXPECT_EQ(take(limits), RateVerdict::Limited);
}

TEST_P(RateLimiterTest, ABurstOfZeroIsOneMinutesWorth) {
    const AccountLimits limits = requests(5, 0);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(take(limits), RateVerdict::Allowed) << i;
    EXPECT_EQ(take(limits), RateVerdict::Limited);
    EXPECT_EQ(last_.retry_after_s, 12);  // 60 s / 5
}

TEST_P(RateLimiterTest, RetryAfterIsTheWaitRoundedUpAndIsEnough) {
    const AccountLimits limits = requests(7, 1);  // one every 8571.4 ms
    EXPECT_EQ(take(limits), RateVerdict::Allowed);
    EXPECT_EQ(take(limits), RateVerdict::Limited);
    EXPECT_EQ(last_.retry_after_s, 9);  // 8572 ms
    clock_.advance_ms(8571);
    EXPECT_EQ(take(limits), RateVerdict::Limited);
    EXPECT_EQ(last_.retry_after_s, 1);  // 1 ms left
    clock_.advance_ms(1);
    EXPECT_EQ(take(limits), RateVerdict::Allowed);
    // Waiting exactly as long as Retry-After said always suffices.
    EXPECT_EQ(take(limits), RateVerdict::Limited);
    clock_.advance_ms(last_.retry_after_s * 1000);
    EXPECT_EQ(take(limits), RateVerdict::Allowed);
}

TEST_P(RateLimiterTest, BothBucketsOrNeither) {
    const AccountLimits limits{{2, 2}, {1000, 1000}};
    EXPECT_EQ(take(limits, 600), RateVerdict::Allowed);
    // The bytes do not fit: nothing is taken, not even the request.
    EXPECT_EQ(take(limits, 600), RateVerdict::Limited);
    EXPECT_EQ(last_.limit, "upload_bytes_per_minute");
    EXPECT_EQ(last_.retry_after_s, 12);  // 200 bytes at 1000 a minute
    EXPECT_EQ(take(limits, 400), RateVerdict::Allowed);
    // Now the request bucket is empty; the byte bucket would take 0 bytes.
    EXPECT_EQ(take(limits, 0), RateVerdict::Limited);
    EXPECT_EQ(last_.limit, "requests_per_minute");
    EXPECT_EQ(last_.retry_after_s, 30);
}

TEST_P(RateLimiterTest, AnUploadLargerThanTheBurstNeverFits) {
    const AccountLimits limits = bytes(1000, 500);
    EXPECT_EQ(take(limits, 501), RateVerdict::TooLarge);
    EXPECT_EQ(last_.burst, 500);
    EXPECT_EQ(last_.limit, "upload_bytes_per_minute");
    EXPECT_FALSE(tracked("acct_a"));
    EXPECT_EQ(take(limits, 500), RateVerdict::Allowed);
    EXPECT_EQ(take(limits, 1), RateVerdict::Limited);
}

TEST_P(RateLimiterTest, AccountsHaveBucketsOfTheirOwn) {
    const AccountLimits limits = requests(1, 1);
    EXPECT_EQ(take(limits, 0, "acct_a"), RateVerdict::Allowed);
    EXPECT_EQ(take(limits, 0, "acct_a"), RateVerdict::Limited);
    EXPECT_EQ(take(limits, 0, "acct_b"), RateVerdict::Allowed);
}

TEST_P(RateLimiterTest, CheckTakesNothing) {
    const AccountLimits limits = bytes(600, 600);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(check(limits, 600).verdict, RateVerdict::Allowed);
    }
    EXPECT_FALSE(tracked("acct_a"));
    EXPECT_EQ(check(limits, 601).verdict, RateVerdict::TooLarge);
    EXPECT_EQ(take(limits, 600), RateVerdict::Allowed);
    const RateDecision d = check(limits, 100);
    EXPECT_EQ(d.verdict, RateVerdict::Limited);
    EXPECT_EQ(d.retry_after_s, 10);
    clock_.advance_ms(10'000);
    EXPECT_EQ(check(limits, 100).verdict, RateVerdict::Allowed);
    EXPECT_EQ(take(limits, 100), RateVerdict::Allowed);
}

TEST_P(RateLimiterTest, NoLimitsMeansNothingTracked) {
    EXPECT_EQ(take(AccountLimits{}, 1'000'000), RateVerdict::Allowed);
    EXPECT_EQ(tracked_accounts(), 0u);
    EXPECT_EQ(take(requests(1, 1)), RateVerdict::Allowed);
    EXPECT_EQ(tracked_accounts(), 1u);
    // Limits lifted: the account is forgotten.
    EXPECT_EQ(take(AccountLimits{}), RateVerdict::Allowed);
    EXPECT_EQ(tracked_accounts(), 0u);
}

TEST_P(RateLimiterTest, ALoweredLimitCutsTheLevel) {
    EXPECT_EQ(take(requests(600, 100)), RateVerdict::Allowed);  // 99 left
    const AccountLimits lower = requests(60, 2);
    EXPECT_EQ(take(lower), RateVerdict::Allowed);
    EXPECT_EQ(take(lower), RateVerdict::Allowed);
    EXPECT_EQ(take(lower), RateVerdict::Limited);
}

TEST_P(RateLimiterTest, ARefusedRequestStillCutsTheLevel) {
    const AccountLimits before{{600, 100}, {1000, 1000}};
    EXPECT_EQ(take(before, 1000), RateVerdict::Allowed);  // 99 requests, 0 bytes left
    // Refused for its bytes, but under a lowered request burst all the same.
    EXPECT_EQ(take({{60, 2}, {1000, 1000}}, 1), RateVerdict::Limited);
    EXPECT_EQ(last_.limit, "upload_bytes_per_minute");
    // The burst is raised again at once: 2 requests were kept, not 99.
    EXPECT_EQ(take(before, 0), RateVerdict::Allowed);
    EXPECT_EQ(take(before, 0), RateVerdict::Allowed);
    EXPECT_EQ(take(before, 0), RateVerdict::Limited);
}

TEST_P(RateLimiterTest, YearsIdleAtTheHighestRatesDoNotOverflow) {
    const std::int64_t most = core::limits::kRateUploadBytesPerMinuteMax;
    const AccountLimits limits{{core::limits::kRateRequestsPerMinuteMax, 0}, {most, most}};
    EXPECT_EQ(take(limits, most), RateVerdict::Allowed);
    clock_.advance_ms(100ll * 365 * 86'400'000);
    EXPECT_EQ(take(limits, most), RateVerdict::Allowed);
    EXPECT_EQ(take(limits, 1), RateVerdict::Limited);
}

TEST_P(RateLimiterTest, AtTheLargestBurstEveryUnitCounts) {
    const std::int64_t most = core::limits::kRateUploadBytesPerMinuteMax;
    // One byte a minute is one unit (1/60000 byte) a millisecond.
    const AccountLimits slow = bytes(1, most);
    EXPECT_EQ(take(slow, most), RateVerdict::Allowed);
    clock_.advance_ms(12'345);
    EXPECT_EQ(check(slow, 1).retry_after_s, 48);  // 47655 ms
    // The whole burst, to the millisecond: 2^40 * 60000 - 12345 ms, which a
    // double cannot hold.
    EXPECT_EQ(check(slow, most).retry_after_s, (most * 60'000 - 12'345 + 999) / 1000);
    // 29999 ms at 2^40 - 1 bytes a minute: exactly this many whole bytes.
    const AccountLimits fast = bytes(most - 1, most);
    EXPECT_EQ(take(fast, most, "acct_b"), RateVerdict::Allowed);
    clock_.advance_ms(29'999);
    const std::int64_t fit = 29'999 * (most - 1) / 60'000;
    EXPECT_EQ(take(fast, fit + 1, "acct_b"), RateVerdict::Limited);
    EXPECT_EQ(take(fast, fit, "acct_b"), RateVerdict::Allowed);
    EXPECT_EQ(take(fast, 1, "acct_b"), RateVerdict::Limited);
    EXPECT_EQ(last_.retry_after_s, 1);
}

TEST_P(RateLimiterTest, ABucketWhoseLimitWasOffStartsFullWhenItComesOn) {
    const AccountLimits both{{1, 1}, {1000, 1000}};
    EXPECT_EQ(take(both, 1000), RateVerdict::Allowed);  // both empty
    EXPECT_EQ(take(both, 0), RateVerdict::Limited);
    // The request limit is off for one request...
    EXPECT_EQ(take(bytes(1000, 1000), 0), RateVerdict::Allowed);
    // ...and back: its bucket starts full, the byte bucket kept its level.
    EXPECT_EQ(take(both, 0), RateVerdict::Allowed);
    EXPECT_EQ(take(both, 0), RateVerdict::Limited);
    EXPECT_EQ(last_.limit, "requests_per_minute");
    EXPECT_EQ(check(bytes(1000, 1000), 1).verdict, RateVerdict::Limited);
}

TEST_P(RateLimiterTest, TheClockGoingBackRefillsNothing) {
    const AccountLimits limits = requests(60, 1);  // one a second
    EXPECT_EQ(take(limits), RateVerdict::Allowed);
    clock_.advance_ms(-5'000);  // a step back (or another instance's clock behind)
    EXPECT_EQ(take(limits), RateVerdict::Limited);
    // A second later on this clock, but none since the last refill.
    clock_.advance_ms(1'000);
    EXPECT_EQ(take(limits), RateVerdict::Limited);
    EXPECT_EQ(last_.retry_after_s, 1);
    clock_.advance_ms(4'999);
    EXPECT_EQ(take(limits), RateVerdict::Limited);
    clock_.advance_ms(1);
    EXPECT_EQ(take(limits), RateVerdict::Allowed);
}

TEST(TokenBucketTest, RefillIsExactInIntegers) {
    const BucketLimit limit{7, 3};
    TokenBucket bucket(limit, 0);
    EXPECT_EQ(bucket.items(), 3);
    bucket.take(limit, 3);
    EXPECT_EQ(bucket.items(), 0);
    // 7 per minute: after exactly 60 s, 3 (the burst), never 2.99...
    bucket.refill(limit, 60'000 / 7 * 2);
    EXPECT_EQ(bucket.items(), 1);
    bucket.refill(limit, 60'000);
    EXPECT_EQ(bucket.items(), 3);
    EXPECT_TRUE(bucket.full(limit));
    // The clock going back changes nothing.
    bucket.take(limit, 1);
    bucket.refill(limit, 10);
    EXPECT_EQ(bucket.items(), 2);
}

TEST(RateLimiterEvictionTest, TheTableStaysWithinItsBoundAndDropsFullBucketsFirst) {
    core::ManualClock clock{0};
    RateLimiter limiter(clock, 3);
    const AccountLimits slow = requests(1, 1);       // empty for a minute after a request
    const AccountLimits fast = requests(60'000, 1);  // full again after a millisecond
    ASSERT_EQ(limiter.take("a", slow, 0).verdict, RateVerdict::Allowed);
    ASSERT_EQ(limiter.take("b", fast, 0).verdict, RateVerdict::Allowed);
    ASSERT_EQ(limiter.take("c", slow, 0).verdict, RateVerdict::Allowed);
    clock.advance_ms(1);
    // "a" is the least recently seen, but "b" is full: "b" goes.
    ASSERT_EQ(limiter.take("d", slow, 0).verdict, RateVerdict::Allowed);
    EXPECT_EQ(limiter.tracked_accounts(), 3u);
    EXPECT_TRUE(limiter.tracked_for_test("a"));
    EXPECT_FALSE(limiter.tracked_for_test("b"));
    // "a" is still refused: its state survived.
    EXPECT_EQ(limiter.take("a", slow, 0).verdict, RateVerdict::Limited);
    // None is full now: the least recently seen ("c") goes.
    ASSERT_EQ(limiter.take("e", slow, 0).verdict, RateVerdict::Allowed);
    EXPECT_EQ(limiter.tracked_accounts(), 3u);
    EXPECT_FALSE(limiter.tracked_for_test("c"));
    EXPECT_TRUE(limiter.tracked_for_test("a"));
    EXPECT_TRUE(limiter.tracked_for_test("d"));
    EXPECT_TRUE(limiter.tracked_for_test("e"));
    // Many more accounts never grow the table.
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(limiter.take("x" + std::to_string(i), slow, 0).verdict, RateVerdict::Allowed);
    }
    EXPECT_EQ(limiter.tracked_accounts(), 3u);
}

}  // namespace
}  // namespace tollgate::http
