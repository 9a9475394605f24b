// The Redis ledger on a real Redis Cluster of three masters: accounts spread
// over every master, every kind of movement runs, concurrent reserves never
// overspend, and the books verify clean.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "ledger/redis/redis_ledger.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_keys.h"
#include "support/redis_server.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

class RedisClusterLedgerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(cluster_.ok()) << cluster_.error();
        auto options = store::redis::parse_redis_url(cluster_.url());
        ASSERT_TRUE(options.ok());
        auto client = store::redis::Client::connect(*options);
        ASSERT_TRUE(client.ok()) << client.error().message;
        client_ = std::move(client).value();
        ASSERT_TRUE(client_->cluster());
        auto ledger = RedisLedger::open(*client_, clock_);
        ASSERT_TRUE(ledger.ok());
        ledger_ = std::move(ledger).value();
    }

    testing::RedisCluster cluster_{3};
    core::ManualClock clock_{1'700'000'000'000};
    std::unique_ptr<store::redis::Client> client_;
    std::unique_ptr<RedisLedger> ledger_;
};

TEST_F(RedisClusterLedgerTest, EveryMovementOnAccountsAcrossTheMasters) {
    constexpr int kAccounts = 24;
    std::vector<std::string> accounts;
    std::set<int> masters_used;
    for (int i = 0; i < kAccounts; ++i) {
        auto id = ledger_->create_account("acct " + std::to_string(i));
        ASSERT_TRUE(id.ok()) << id.error().message;
        accounts.push_back(*id);
        // Which master serves the account's slot.
        const std::string acct_key = store::redis::account_base("tg:", *id) + "acct";
        const std::uint16_t slot = store::redis::hash_slot(acct_key);
        masters_used.insert(slot < 5461 ? 0 : slot < 10923 ? 1 : 2);
    }
    // redis-cli --cluster create splits the slots evenly in three.
    EXPECT_EQ(masters_used.size(), 3u);
    const std::int64_t t = clock_.now_ms();
    for (int i = 0; i < kAccounts; ++i) {
        const std::string& a = accounts[i];
        GrantSpec spec;
        spec.account_id = a;
        spec.tokens = Tokens(100);
        spec.expires_ms = t + 1000;
        spec.rollover_max = Tokens(10);
        spec.rollover_expires_ms = t + 5000;
        spec.key = "period-1";
        ASSERT_TRUE(ledger_->add_grant(spec).ok());
        ASSERT_FALSE(ledger_->add_grant(spec)->created);  // idempotent by key
        ASSERT_TRUE(ledger_->grant(a, Tokens(50), "top-up").ok());
        const std::string k = "job-" + std::to_string(i);
        ASSERT_EQ(ledger_->reserve(a, Tokens(30), k + "a")->outcome, ReserveOutcome::Held);
        ASSERT_EQ(ledger_->reserve(a, Tokens(30), k + "a")->outcome, ReserveOutcome::AlreadyHeld);
        ASSERT_EQ(ledger_->reserve(a, Tokens(20), k + "b")->outcome, ReserveOutcome::Held);
        ASSERT_EQ(ledger_->capture(k + "a", Tokens(25)).value(), SettleOutcome::Settled);
        ASSERT_EQ(ledger_->void_hold(k + "b", "failed").value(), SettleOutcome::Settled);
        ASSERT_TRUE(ledger_->adjust(a, -5, "correction", "adj-1").ok());
        ASSERT_TRUE(ledger_->refund(k + "a", Tokens(10), "goodwill").ok());
        ASSERT_TRUE(ledger_->subscribe(a, "monthly").ok());
    }
    // Another account reusing a hold key is refused without touching either.
    auto reused = ledger_->reserve(accounts[1], Tokens(30), "job-0a");
    ASSERT_TRUE(reused.ok());
    EXPECT_EQ(reused->outcome, ReserveOutcome::KeyReusedWithDifferentRequest);

    clock_.set_ms(t + 2000);  // the 100-token grants expire, 10 of each roll over
    std::int64_t processed = 0;
    for (;;) {
        auto n = ledger_->expire_due();
        ASSERT_TRUE(n.ok()) << n.error().message;
        if (*n == 0) break;
        processed += *n;
    }
    EXPECT_EQ(processed, kAccounts);
    for (const std::string& a : accounts) {
        Balance b = ledger_->balance(a).value();
        // 100 + 50 + 10 refund granted; 25 captured; 5 debited; of the first
        // grant's 100 - 25 - 5 = 70 left, 10 roll over and 60 expire.
        EXPECT_EQ(b.granted, Tokens(160));
        EXPECT_EQ(b.captured, Tokens(25));
        EXPECT_EQ(b.debited, Tokens(5));
        EXPECT_EQ(b.expired, Tokens(60));
        EXPECT_EQ(b.available(), Tokens(70));
    }
    auto subs = ledger_->active_subscriptions();
    ASSERT_TRUE(subs.ok());
    EXPECT_EQ(subs->size(), static_cast<std::size_t>(kAccounts));
    std::int64_t checked = 0;
    auto m = ledger_->verify(&checked);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_TRUE(m->empty()) << m->front().account_id << ": " << m->front().what;
    EXPECT_EQ(checked, kAccounts);
}

TEST_F(RedisClusterLedgerTest, ConcurrentReservesAdmitExactlyWhatTheBalanceCovers) {
    constexpr int kThreads = 8;
    constexpr int kPerThread = 50;
    constexpr std::int64_t kCovered = 137;  // holds of 1 token each
    auto id = ledger_->create_account("hot");
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(ledger_->grant(*id, Tokens(kCovered), "exactly K").ok());
    std::atomic<int> held{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                auto r = ledger_->reserve(*id, Tokens(1),
                                          "k" + std::to_string(t) + "-" + std::to_string(i));
                if (!r.ok()) {
                    ++errors;
                } else if (r->outcome == ReserveOutcome::Held) {
                    ++held;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(held.load(), kCovered);
    EXPECT_EQ(ledger_->balance(*id)->available(), Tokens(0));
    EXPECT_TRUE(ledger_->verify(nullptr)->empty());
}

}  // namespace
}  // namespace tollgate::ledger
