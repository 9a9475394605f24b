// verify() on the Redis backend finds records changed behind the scripts'
// back: each test tampers with one figure by a raw command, the way a bad
// restore or a hand edit would, and expects verify() to name it.
#include <gtest/gtest.h>

#include "ledger/ledger_fixture.h"
#include "store/redis/redis_keys.h"

namespace tollgate::ledger {
namespace {

class RedisVerifyTest : public LedgerTest {
  protected:
    std::string backend() const override { return "redis"; }

    // Where alice's records live (the layout in redis_ledger.h).
    std::string key(const std::string& name) {
        return store::redis::account_base(redis_prefix_, account_) + name;
    }
    void raw(const std::vector<std::string>& argv) {
        auto r = client_->command(argv[1], argv);
        ASSERT_TRUE(r.ok()) << r.error().message;
    }
};

TEST_F(RedisVerifyTest, AHistoryVerifiesClean) {
    ASSERT_NO_FATAL_FAILURE(make_history());
    std::int64_t checked = 0;
    auto m = ledger_->verify(&checked);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_TRUE(m->empty()) << verify_report();
    EXPECT_EQ(checked, 1);
}

TEST_F(RedisVerifyTest, FindsATamperedCachedBalance) {
    ASSERT_NO_FATAL_FAILURE(make_history());
    raw({"HINCRBY", key("acct"), "granted", "7"});
    const std::string report = verify_report();
    EXPECT_NE(report.find("granted vs grant entries: cached 97, from records 90"),
              std::string::npos)
        << report;
    EXPECT_NE(report.find("available vs last entry's balance_after"), std::string::npos) << report;
}

TEST_F(RedisVerifyTest, FindsAnEntryRemovedFromTheHistory) {
    ASSERT_NO_FATAL_FAILURE(make_history());
    // The first hold entry (after three grant entries) goes missing.
    raw({"LSET", key("entries"), "3", "x"});
    raw({"LREM", key("entries"), "1", "x"});
    const std::string report = verify_report();
    EXPECT_NE(report.find("has 0 hold and 1 settlement entries"), std::string::npos) << report;
    EXPECT_NE(report.find("balance_after vs previous balance_after + movement"), std::string::npos)
        << report;
}

TEST_F(RedisVerifyTest, FindsAGrantMissingFromTheLiveSet) {
    const std::int64_t id = add(10);
    raw({"SREM", key("live"), std::to_string(id)});
    EXPECT_NE(verify_report().find("is listed as live: false, remaining 10"), std::string::npos);
    // And a reserve can no longer draw on it, so it is refused rather than
    // drawing on tokens the live set does not show.
    EXPECT_EQ(reserve(5, "k"), ReserveOutcome::InsufficientBalance);
}

TEST_F(RedisVerifyTest, ABrokenInvariantStopsTheScriptBeforeItWrites) {
    const std::int64_t id = add(10);
    ASSERT_EQ(reserve(4, "k"), ReserveOutcome::Held);
    const std::size_t entries_before = history().size();
    // The grant the hold drew on disappears: settling it cannot return its
    // tokens anywhere, so the script must stop before its first write.
    raw({"HDEL", key("grants"), std::to_string(id)});
    auto r = ledger_->capture("k");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "ledger_invariant");
    EXPECT_EQ(ledger_->find_hold("k").value()->state, HoldState::Open);
    EXPECT_EQ(history().size(), entries_before);
}

}  // namespace
}  // namespace tollgate::ledger
