#include "dispatch/worker_pools.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "dispatch/health_monitor.h"

namespace tollgate::dispatch {
namespace {

constexpr std::int64_t kGiB = std::int64_t{1} << 30;

WorkerSample reachable(int queue_depth = 0, std::int64_t vram_used = 0) {
    WorkerSample s;
    s.reachable = true;
    s.queue_depth = queue_depth;
    s.vram_total_bytes = 24 * kGiB;
    s.vram_used_bytes = vram_used;
    return s;
}

class WorkerPoolsTest : public ::testing::Test {
  protected:
    WorkerPools make(int jobs_max, WorkerPools::Options options = {}) {
        return WorkerPools({{"http://a", jobs_max}, {"http://b", jobs_max}, {"http://c", jobs_max}},
                           {{"color", {"http://a", "http://b", "http://c"}, "ddcolor.pth"},
                            {"other", {"http://a", "http://b"}, "ddcolor.pth"},
                            {"denoise", {"http://c"}, "scunet.pth"}},
                           clock_, options);
    }
    core::ManualClock clock_{1'000'000};
};

TEST_F(WorkerPoolsTest, EqualWorkersTakeTurns) {
    auto pools = make(4);
    std::map<std::string, int> used;
    for (int i = 0; i < 9; ++i) {
        auto lease = pools.try_acquire("color", {});
        ASSERT_TRUE(lease);
        ++used[lease->url()];
    }
    EXPECT_EQ(used,
              (std::map<std::string, int>{{"http://a", 3}, {"http://b", 3}, {"http://c", 3}}));
}

TEST_F(WorkerPoolsTest, ConcurrencyLimitPerWorkerAcrossPools) {
    auto pools = make(1);
    auto first = pools.try_acquire("other", {});
    auto second = pools.try_acquire("other", {});
    ASSERT_TRUE(first && second);
    EXPECT_NE(first->url(), second->url());
    EXPECT_FALSE(pools.try_acquire("other", {}));  // a and b are full
    auto third = pools.try_acquire("color", {});   // c is the one left
    ASSERT_TRUE(third);
    EXPECT_EQ(third->url(), "http://c");
    EXPECT_FALSE(pools.try_acquire("denoise", {}));
    third->release();
    EXPECT_TRUE(pools.try_acquire("denoise", {}));
    EXPECT_FALSE(pools.try_acquire("unknown", {}));
}

TEST_F(WorkerPoolsTest, PrefersWarmWorkersThenShortQueues) {
    auto pools = make(4);
    pools.record_sample("http://a", reachable(5));
    pools.record_sample("http://b", reachable(0));
    pools.record_sample("http://c", reachable(4));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(pools.try_acquire("color", {})->url(), "http://b");
    // A success of a pool with the same model warms the worker for both pools.
    pools.mark_warm("http://a", "other");
    auto warm = pools.try_acquire("color", {});
    ASSERT_TRUE(warm);
    EXPECT_EQ(warm->url(), "http://a");  // warm beats the shorter queue
    // Another model's warmth does not count.
    pools.mark_warm("http://c", "denoise");
    EXPECT_EQ(pools.try_acquire("color", {})->url(), "http://a");
    // Warmth fades.
    clock_.advance_ms(WorkerPools::Options{}.warm_ttl_ms + 1);
    EXPECT_EQ(pools.try_acquire("color", {})->url(), "http://b");
}

TEST_F(WorkerPoolsTest, WarmWorkerStillBoundByItsLimit) {
    auto pools = make(1);
    pools.mark_warm("http://b", "color");
    auto first = pools.try_acquire("color", {});
    ASSERT_TRUE(first);
    EXPECT_EQ(first->url(), "http://b");
    auto second = pools.try_acquire("color", {});
    ASSERT_TRUE(second);
    EXPECT_NE(second->url(), "http://b");
}

TEST_F(WorkerPoolsTest, UnhealthyAndDrainingWorkersGetNoJobs) {
    auto pools = make(8, {.unhealthy_after_failures = 2});
    EXPECT_EQ(pools.record_sample("http://a", {}), WorkerPools::HealthChange::None);
    EXPECT_EQ(pools.record_failure("http://a"), WorkerPools::HealthChange::BecameUnhealthy);
    EXPECT_TRUE(pools.set_draining("http://b", true));
    EXPECT_FALSE(pools.set_draining("http://nope", true));
    for (int i = 0; i < 6; ++i) EXPECT_EQ(pools.try_acquire("color", {})->url(), "http://c");
    EXPECT_FALSE(pools.try_acquire("other", {}));
    EXPECT_EQ(pools.record_sample("http://a", reachable()),
              WorkerPools::HealthChange::BecameHealthy);
    EXPECT_EQ(pools.try_acquire("other", {})->url(), "http://a");
    pools.set_draining("http://b", false);
    std::map<std::string, int> used;
    for (int i = 0; i < 4; ++i) ++used[pools.try_acquire("other", {})->url()];
    EXPECT_EQ(used.size(), 2u);
    const auto status = pools.status();
    ASSERT_EQ(status.size(), 3u);
    EXPECT_EQ(status[0].url, "http://a");
    EXPECT_TRUE(status[0].healthy);
    EXPECT_EQ(status[0].consecutive_failures, 0);
}

TEST_F(WorkerPoolsTest, AvoidedWorkersOnlyAsALastResort) {
    auto pools = make(4);
    for (int i = 0; i < 4; ++i) {
        auto lease = pools.try_acquire("other", {"http://a"});
        ASSERT_TRUE(lease);
        EXPECT_EQ(lease->url(), "http://b");
    }
    pools.set_draining("http://b", true);
    auto fallback = pools.try_acquire("other", {"http://a"});
    ASSERT_TRUE(fallback);
    EXPECT_EQ(fallback->url(), "http://a");
}

TEST_F(WorkerPoolsTest, AcquireWaitsForAReleaseAndGivesUpOnCancel) {
    auto pools = make(1);
    auto held = pools.try_acquire("denoise", {});
    ASSERT_TRUE(held);
    std::thread releaser([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        held->release();
    });
    auto waited = pools.acquire("denoise", {}, 60'000, nullptr);
    releaser.join();
    ASSERT_TRUE(waited);
    EXPECT_EQ(waited->url(), "http://c");

    std::atomic<bool> cancelled{false};
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        cancelled = true;
    });
    // Would wait a minute without the cancel.
    EXPECT_FALSE(pools.acquire("denoise", {}, 60'000, &cancelled));
    canceller.join();
    EXPECT_FALSE(pools.acquire("denoise", {}, 0, nullptr));
}

TEST_F(WorkerPoolsTest, LeasePeakIsTheHighestSampleWhileOpen) {
    auto pools = make(2);
    pools.record_sample("http://c", reachable(0, 5 * kGiB));  // before the lease: not counted
    auto lease = pools.try_acquire("denoise", {});
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->peak_vram_bytes(), 0);
    pools.record_sample("http://c", reachable(0, 1 * kGiB));
    pools.record_sample("http://c", reachable(0, 3 * kGiB));
    pools.record_sample("http://c", {});  // an unreachable probe changes nothing
    pools.record_sample("http://c", reachable(0, 2 * kGiB));
    pools.record_sample("http://a", reachable(0, 9 * kGiB));  // another worker
    EXPECT_EQ(lease->peak_vram_bytes(), 3 * kGiB);
    auto later = pools.try_acquire("denoise", {});
    ASSERT_TRUE(later);
    pools.record_sample("http://c", reachable(0, 2 * kGiB));
    EXPECT_EQ(later->peak_vram_bytes(), 2 * kGiB);
    EXPECT_EQ(lease->peak_vram_bytes(), 3 * kGiB);
}

TEST_F(WorkerPoolsTest, LeaseOnIgnoresLimitsAndCounts) {
    auto pools = make(1);
    pools.set_draining("http://c", true);
    auto resumed = pools.lease_on("http://c");
    ASSERT_TRUE(resumed);
    EXPECT_FALSE(pools.lease_on("http://nope"));
    EXPECT_EQ(pools.status()[2].leases, 1);
    resumed.reset();
    EXPECT_EQ(pools.status()[2].leases, 0);
}

TEST(HealthMonitorTest, ProbesMarkWorkersUnhealthyAndBack) {
    core::ManualClock clock(0);
    WorkerPools pools({{"http://up", 1}, {"http://down", 1}},
                      {{"p", {"http://up", "http://down"}, ""}}, clock);
    std::atomic<bool> down_is_up{false};
    HealthMonitor monitor(pools, kHealthIntervalMsMax, [&](const std::string& url, int) {
        WorkerSample s;
        s.reachable = url == "http://up" || down_is_up.load();
        s.queue_depth = 2;
        return s;
    });
    monitor.probe_all();
    monitor.probe_all();
    auto status = pools.status();
    EXPECT_TRUE(status[0].healthy);
    EXPECT_EQ(status[0].queue_depth, 2);
    EXPECT_FALSE(status[1].healthy);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(pools.try_acquire("p", {})->url(), "http://up");
    down_is_up = true;
    monitor.probe_all();
    EXPECT_TRUE(pools.status()[1].healthy);
    monitor.stop();
}

}  // namespace
}  // namespace tollgate::dispatch
