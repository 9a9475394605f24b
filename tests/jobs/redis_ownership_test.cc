// RedisOwnership's short locks across instances (try_lock / unlock), what
// JobService takes around duplicate detection, and its tenant slots
// (take_tenant_slot / release_tenant_slot), what tenant_jobs_max counts; on
// a real redis-server.
#include "jobs/redis/redis_ownership.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "support/redis_test_store.h"

namespace tollgate::jobs {
namespace {

class RedisOwnershipLockTest : public ::testing::Test {
  protected:
    void SetUp() override {
        client_ = ::tollgate::testing::shared_redis_client();
        ASSERT_TRUE(client_);
        a_ = RedisOwnership::start(*client_, prefix_, "instance-a", kLeaseMsDefault).value();
        b_ = RedisOwnership::start(*client_, prefix_, "instance-b", kLeaseMsDefault).value();
    }

    std::string prefix_ = ::tollgate::testing::unique_redis_prefix("own");
    std::unique_ptr<store::redis::Client> client_;
    std::unique_ptr<RedisOwnership> a_, b_;
};

TEST_F(RedisOwnershipLockTest, OneHolderAtATimeAcrossInstancesAndWithinOne) {
    const std::string token = a_->try_lock("dk:a:acct:key", 5'000).value();
    ASSERT_FALSE(token.empty());
    EXPECT_EQ(b_->try_lock("dk:a:acct:key", 5'000).value(), "");
    EXPECT_EQ(a_->try_lock("dk:a:acct:key", 5'000).value(), "");           // another thread of A
    EXPECT_FALSE(b_->try_lock("dk:a:acct:other", 5'000).value().empty());  // per name
    a_->unlock("dk:a:acct:key", token);
    EXPECT_FALSE(b_->try_lock("dk:a:acct:key", 5'000).value().empty());
}

TEST_F(RedisOwnershipLockTest, OnlyTheHoldersTokenFreesTheLock) {
    const std::string token = a_->try_lock("name", 5'000).value();
    ASSERT_FALSE(token.empty());
    a_->unlock("name", token + "x");
    b_->unlock("name", "instance-b:1");
    EXPECT_EQ(b_->try_lock("name", 5'000).value(), "");
    a_->unlock("name", token);
    EXPECT_FALSE(b_->try_lock("name", 5'000).value().empty());
}

TEST_F(RedisOwnershipLockTest, AHolderThatNeverUnlocksLosesTheLockAfterItsTtl) {
    const std::string first = a_->try_lock("name", 50).value();
    ASSERT_FALSE(first.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    const std::string second = b_->try_lock("name", 5'000).value();
    ASSERT_FALSE(second.empty());
    a_->unlock("name", first);  // late: frees nothing of the new holder's
    EXPECT_EQ(a_->try_lock("name", 5'000).value(), "");
    b_->unlock("name", second);
}

TEST_F(RedisOwnershipLockTest, ATenantHasAtMostLimitSlotsAcrossInstances) {
    EXPECT_TRUE(a_->take_tenant_slot("acme", "j1", 2, 60'000).value());
    EXPECT_TRUE(b_->take_tenant_slot("acme", "j2", 2, 60'000).value());
    EXPECT_FALSE(a_->take_tenant_slot("acme", "j3", 2, 60'000).value());
    EXPECT_FALSE(b_->take_tenant_slot("acme", "j3", 2, 60'000).value());
    EXPECT_TRUE(b_->take_tenant_slot("other", "j3", 2, 60'000).value());  // per tenant
    EXPECT_TRUE(a_->take_tenant_slot("acme", "j1", 2, 60'000).value());   // held already
    b_->release_tenant_slot("acme", "j1");                                // any instance frees it
    EXPECT_TRUE(a_->take_tenant_slot("acme", "j3", 2, 60'000).value());
    EXPECT_FALSE(a_->take_tenant_slot("acme", "j4", 2, 60'000).value());
    a_->release_tenant_slot("acme", "unknown");  // frees nothing
    EXPECT_FALSE(a_->take_tenant_slot("acme", "j4", 2, 60'000).value());
}

TEST_F(RedisOwnershipLockTest, ASlotNobodyFreesRunsOutAfterItsTtl) {
    EXPECT_TRUE(a_->take_tenant_slot("acme", "j1", 1, 50).value());
    EXPECT_FALSE(b_->take_tenant_slot("acme", "j2", 1, 60'000).value());
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    EXPECT_TRUE(b_->take_tenant_slot("acme", "j2", 1, 60'000).value());
    EXPECT_FALSE(a_->take_tenant_slot("acme", "j1", 1, 60'000).value());
}

TEST_F(RedisOwnershipLockTest, ConcurrentTakersGetExactlyTheLimit) {
    constexpr int kThreads = 8, kEach = 25, kLimit = 17;
    std::atomic<int> taken{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            RedisOwnership& o = t % 2 == 0 ? *a_ : *b_;
            for (int i = 0; i < kEach; ++i) {
                auto r =
                    o.take_tenant_slot("acme", "j" + std::to_string(t * kEach + i), kLimit, 60'000);
                ASSERT_TRUE(r.ok());
                if (*r) ++taken;
            }
        });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(taken.load(), kLimit);
}

}  // namespace
}  // namespace tollgate::jobs
