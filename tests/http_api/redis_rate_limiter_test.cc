// RedisRateLimiter beyond what every limiter does (rate_limiter_test.cc):
// instances on one Redis share each account's budget, concurrent takes never
// exceed it, keys expire once their buckets are full again, the decisions are
// the in-memory limiter's to the unit, and an unreachable Redis fails open.
#include "http/api/redis_rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/limits.h"
#include "store/redis/redis_keys.h"
#include "support/redis_server.h"
#include "support/redis_test_store.h"

namespace tollgate::http {
namespace {

constexpr std::int64_t kStartMs = 1'700'000'000'000;

// One gateway instance: its own client and limiter on the shared server.
struct Instance {
    std::unique_ptr<store::redis::Client> client;
    std::unique_ptr<RedisRateLimiter> limiter;
};

class RedisRateLimiterTest : public ::testing::Test {
  protected:
    Instance start() {
        Instance in;
        in.client = testing::shared_redis_client();
        if (in.client == nullptr) return in;
        auto opened = RedisRateLimiter::open(*in.client, clock_, prefix_);
        EXPECT_TRUE(opened.ok()) << opened.error().message;
        if (opened.ok()) in.limiter = std::move(opened).value();
        return in;
    }

    // The reply to a command on the key, or a test failure.
    store::redis::Reply command(Instance& in, const std::string& key,
                                const std::vector<std::string>& argv) {
        auto reply = in.client->command(key, argv);
        EXPECT_TRUE(reply.ok()) << reply.error().message;
        return reply.ok() ? *reply : store::redis::Reply{};
    }

    core::ManualClock clock_{kStartMs};
    const std::string prefix_ = testing::unique_redis_prefix("rl");
};

TEST_F(RedisRateLimiterTest, TheKeySitsInTheAccountsShard) {
    Instance a = start();
    ASSERT_NE(a.limiter, nullptr);
    EXPECT_EQ(a.limiter->key("acct_a"), store::redis::account_base(prefix_, "acct_a") + "rate");
    EXPECT_EQ(store::redis::hash_slot(a.limiter->key("acct_a")),
              store::redis::hash_slot(store::redis::account_base(prefix_, "acct_a") + "acct"));
    EXPECT_FALSE(RedisRateLimiter::open(*a.client, clock_, "bad{prefix}:").ok());
}

TEST_F(RedisRateLimiterTest, TwoInstancesShareOneBudget) {
    Instance a = start(), b = start();
    ASSERT_NE(a.limiter, nullptr);
    ASSERT_NE(b.limiter, nullptr);
    const AccountLimits limits{{10, 0}, {}};  // ten a minute, ten at once
    int allowed = 0;
    for (int i = 0; i < 6; ++i) {
        for (Instance* in : {&a, &b}) {
            if (in->limiter->take("acct_a", limits, 0).verdict == RateVerdict::Allowed) ++allowed;
        }
    }
    EXPECT_EQ(allowed, 10);  // each alone would have allowed 6
    // Both see the one empty bucket: a request is 6 s away.
    const RateDecision d = b.limiter->check("acct_a", limits, 0);
    EXPECT_EQ(d.verdict, RateVerdict::Limited);
    EXPECT_EQ(d.retry_after_s, 6);
    clock_.advance_ms(6'000);
    EXPECT_EQ(a.limiter->take("acct_a", limits, 0).verdict, RateVerdict::Allowed);
    EXPECT_EQ(b.limiter->take("acct_a", limits, 0).verdict, RateVerdict::Limited);
}

TEST_F(RedisRateLimiterTest, ConcurrentTakesNeverExceedTheBucketsAndRefusedOnesTakeNothing) {
    Instance a = start(), b = start();
    ASSERT_NE(a.limiter, nullptr);
    ASSERT_NE(b.limiter, nullptr);
    // 40 requests and 3000 bytes at once, refilled by one of each a minute
    // (the clock stands still): 100-byte uploads run out of bytes after 30.
    const AccountLimits limits{{1, 40}, {1, 3000}};
    std::atomic<int> allowed{0}, limited{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        RedisRateLimiter* limiter = (t % 2 == 0 ? a : b).limiter.get();
        threads.emplace_back([limiter, &limits, &allowed, &limited] {
            for (int i = 0; i < 20; ++i) {
                const RateVerdict v = limiter->take("acct_a", limits, 100).verdict;
                if (v == RateVerdict::Allowed) ++allowed;
                if (v == RateVerdict::Limited) ++limited;
            }
        });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(allowed.load(), 30);
    EXPECT_EQ(limited.load(), 130);
    // The 130 refusals took no request: exactly 10 are left.
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(b.limiter->take("acct_a", limits, 0).verdict, RateVerdict::Allowed) << i;
    }
    const RateDecision d = a.limiter->take("acct_a", limits, 0);
    EXPECT_EQ(d.verdict, RateVerdict::Limited);
    EXPECT_EQ(d.limit, "requests_per_minute");
}

TEST_F(RedisRateLimiterTest, TheKeyExpiresWhenBothBucketsAreFullAgain) {
    Instance a = start();
    ASSERT_NE(a.limiter, nullptr);
    const std::string key = a.limiter->key("acct_a");
    // One request of ten at 60 a minute is back in 1 s; 300 bytes of 600 at
    // 6000 a minute in 3 s: the key lives 3 s.
    const AccountLimits limits{{60, 10}, {6000, 600}};
    ASSERT_EQ(a.limiter->take("acct_a", limits, 300).verdict, RateVerdict::Allowed);
    std::int64_t ttl = command(a, key, {"PTTL", key}).integer;
    EXPECT_GT(ttl, 2'000);  // the slower bucket's time, not the faster one's
    EXPECT_LE(ttl, 3'000);
    // 500 ms later (50 bytes back), another 300 bytes: 550 missing, 5.5 s.
    clock_.advance_ms(500);
    ASSERT_EQ(a.limiter->take("acct_a", limits, 300).verdict, RateVerdict::Allowed);
    ttl = command(a, key, {"PTTL", key}).integer;
    EXPECT_GT(ttl, 5'000);
    EXPECT_LE(ttl, 5'500);

    // Buckets that refill within a millisecond are gone soon after.
    const std::string fast_key = a.limiter->key("acct_fast");
    const AccountLimits fast{{60'000, 5}, {}};
    ASSERT_EQ(a.limiter->take("acct_fast", fast, 0).verdict, RateVerdict::Allowed);
    ttl = command(a, fast_key, {"PTTL", fast_key}).integer;
    EXPECT_TRUE(ttl == -2 || (ttl >= 0 && ttl <= 1)) << ttl;  // -2: already gone
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(command(a, fast_key, {"EXISTS", fast_key}).integer, 0);

    // A take that leaves both buckets full keeps no key at all.
    const std::string full_key = a.limiter->key("acct_full");
    ASSERT_EQ(a.limiter->take("acct_full", {{}, {6000, 600}}, 0).verdict, RateVerdict::Allowed);
    EXPECT_EQ(command(a, full_key, {"EXISTS", full_key}).integer, 0);
    // Nor does a check.
    ASSERT_EQ(a.limiter->check("acct_full", limits, 1).verdict, RateVerdict::Allowed);
    EXPECT_EQ(command(a, full_key, {"EXISTS", full_key}).integer, 0);
}

TEST_F(RedisRateLimiterTest, DecidesAsTheInMemoryLimiterDoesToTheUnit) {
    Instance a = start();
    ASSERT_NE(a.limiter, nullptr);
    RateLimiter memory(clock_, 1000);
    const std::int64_t most = core::limits::kRateUploadBytesPerMinuteMax;
    // Every take limits requests (so a take never leaves both buckets full,
    // which would drop the key while memory keeps the entry).
    const std::vector<BucketLimit> request_limits = {
        {1, 0}, {1, 1}, {2, 3}, {6, 2}, {7, 1}, {60, 2}, {999'983, 17}, {1'000'000, 1'000'000}};
    const std::vector<BucketLimit> byte_limits = {{},
                                                  {1000, 1000},
                                                  {7, 3},
                                                  {600, 0},
                                                  {60'001, 100},
                                                  {13, 1'000'000'000'000},
                                                  {most, most},
                                                  {most - 1, most},
                                                  {1, most},
                                                  {1'099'511'627'689, 500'000'000'000}};
    const std::vector<std::string> accounts = {"acct_a", "acct_b", "acct_c"};
    std::vector<AccountLimits> limits(accounts.size(), AccountLimits{{60, 2}, {1000, 1000}});
    std::mt19937_64 random(20'240'611);
    auto below = [&random](std::int64_t n) {
        return static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(n));
    };
    constexpr int kSteps = 3000;
    int resyncs = 0, limited = 0, allowed = 0;
    for (int step = 0; step < kSteps; ++step) {
        const std::size_t i = static_cast<std::size_t>(below(3));
        const std::string& account = accounts[i];
        if (below(5) == 0) {
            limits[i] = {request_limits[static_cast<std::size_t>(
                             below(static_cast<std::int64_t>(request_limits.size())))],
                         byte_limits[static_cast<std::size_t>(
                             below(static_cast<std::int64_t>(byte_limits.size())))]};
        }
        switch (below(12)) {
            case 0:
            case 1:
            case 2:
                break;
            case 3:
                clock_.advance_ms(1);
                break;
            case 4:
            case 5:
                clock_.advance_ms(below(2'000));
                break;
            case 6:
            case 7:
                clock_.advance_ms(below(120'000));
                break;
            case 8:
                clock_.advance_ms(below(1'000'000'000));
                break;
            case 9:
                clock_.advance_ms(-below(5'000));  // another instance's clock behind
                break;
            case 10:
                clock_.advance_ms(below(60'000) * 1'000);
                break;
            default:
                if (below(20) == 0) clock_.advance_ms(100ll * 365 * 86'400'000);
                break;
        }
        const AccountLimits& l = limits[i];
        const std::int64_t cap = l.upload_bytes.unlimited() ? 1'000'000 : l.upload_bytes.capacity();
        std::int64_t upload = 0;
        switch (below(7)) {
            case 0:
                upload = 0;
                break;
            case 1:
                upload = 1;
                break;
            case 2:
                upload = cap / 2;
                break;
            case 3:
                upload = cap;
                break;
            case 4:
                upload = cap + 1;
                break;
            case 5:
                upload = below(cap + 1);
                break;
            default:
                upload = below(1000);
                break;
        }
        const int op = static_cast<int>(below(10));
        RateDecision want, got;
        if (op < 7) {
            want = memory.take(account, l, upload);
            got = a.limiter->take(account, l, upload);
        } else {
            // As the API screens a head: the byte bucket only, or both.
            const AccountLimits asked = op == 7 ? AccountLimits{{}, l.upload_bytes} : l;
            want = memory.check(account, asked, upload);
            got = a.limiter->check(account, asked, upload);
        }
        const std::string where =
            "step " + std::to_string(step) + ": " + account + " limits {" +
            std::to_string(l.requests.per_minute) + "," + std::to_string(l.requests.burst) + "},{" +
            std::to_string(l.upload_bytes.per_minute) + "," + std::to_string(l.upload_bytes.burst) +
            "} upload " + std::to_string(upload) + (op < 7 ? " take" : " check");
        ASSERT_EQ(got.verdict, want.verdict) << where;
        ASSERT_EQ(got.limit, want.limit) << where;
        ASSERT_EQ(got.retry_after_s, want.retry_after_s) << where;
        ASSERT_EQ(got.burst, want.burst) << where;
        if (want.verdict == RateVerdict::Limited) ++limited;
        if (want.verdict == RateVerdict::Allowed) ++allowed;
        // Real time barely passes while the manual clock leaps: keep the key
        // from expiring on Redis's clock. Should a key refilled within a
        // millisecond have expired before that, both start afresh.
        const std::string key = a.limiter->key(account);
        command(a, key, {"PERSIST", key});
        if (memory.tracked_for_test(account) && command(a, key, {"EXISTS", key}).integer == 0) {
            memory.take(account, AccountLimits{}, 0);
            ++resyncs;
        }
    }
    RecordProperty("resyncs", resyncs);
    // Resyncs keep the comparison going but carry no state, so most steps
    // must carry theirs. How many keys run out between a step and its
    // PERSIST depends on the machine's load (2% idle, more beside parallel
    // sanitizer tests), so a tenth is allowed; every step's decision is
    // compared to the unit either way.
    EXPECT_LT(resyncs, kSteps / 10);
    // The sequence reached both answers often.
    EXPECT_GT(limited, kSteps / 10);
    EXPECT_GT(allowed, kSteps / 10);
}

TEST_F(RedisRateLimiterTest, AnUnreachableRedisFailsOpen) {
    testing::RedisServer own;
    ASSERT_TRUE(own.ok()) << own.error();
    auto options = store::redis::parse_redis_url(own.url());
    ASSERT_TRUE(options.ok());
    auto client = store::redis::Client::connect(*options);
    ASSERT_TRUE(client.ok()) << client.error().message;
    auto limiter = RedisRateLimiter::open(**client, clock_, prefix_);
    ASSERT_TRUE(limiter.ok());
    const AccountLimits limits{{1, 1}, {}};
    ASSERT_EQ((*limiter)->take("acct_a", limits, 0).verdict, RateVerdict::Allowed);
    ASSERT_EQ((*limiter)->take("acct_a", limits, 0).verdict, RateVerdict::Limited);
    own.kill();
    EXPECT_EQ((*limiter)->take("acct_a", limits, 0).verdict, RateVerdict::Allowed);
    EXPECT_EQ((*limiter)->check("acct_a", limits, 0).verdict, RateVerdict::Allowed);
    // An upload over the burst needs no Redis to be refused.
    EXPECT_EQ((*limiter)->take("acct_a", {{}, {10, 10}}, 11).verdict, RateVerdict::TooLarge);
}

}  // namespace
}  // namespace tollgate::http
