// RedisOwnership's short locks across instances (try_lock / unlock), on a
// real redis-server: what JobService takes around duplicate detection.
#include "jobs/redis/redis_ownership.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

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

}  // namespace
}  // namespace tollgate::jobs
