// No overspend under contention: 1000 reserves of 1 token from 8 threads
// against a balance of exactly K tokens admit exactly K, every time, on every
// backend. Each repetition uses a fresh account (and fresh hold keys) in the
// same ledger.
//
// On SQLite the database is in memory so that the 100 repetitions cost no
// fsyncs, and group commit is off, so every reserve is its own transaction on
// its caller's thread and the threads contend for the connection directly;
// the committer's serialization is covered by the concurrency tests, which
// use the default options.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

constexpr int kRepetitions = 100;
constexpr int kThreads = 8;
constexpr int kReserves = 1000;
constexpr std::int64_t kBalance = 137;
static_assert(kReserves % kThreads == 0);

// The ledger alone, without alice: verify() counts only the repetitions'
// accounts.
class AdmissionTest : public LedgerTest {
  protected:
    AdmissionTest() {
        sqlite_path_ = ":memory:";
        sqlite_options_.group_commit = false;
    }
    void SetUp() override { ASSERT_NO_FATAL_FAILURE(open()); }
};

TEST_P(AdmissionTest, ParallelReservesAdmitExactlyTheBalance) {
    Ledger& ledger = *ledger_;

    for (int rep = 0; rep < kRepetitions; ++rep) {
        std::string account = ledger.create_account("rep" + std::to_string(rep)).value();
        // Two grants, so that admissions also cross from one grant to the next.
        GrantSpec expiring;
        expiring.account_id = account;
        expiring.tokens = Tokens(100);
        expiring.expires_ms = clock_.now_ms() + 3'600'000;
        ASSERT_TRUE(ledger.add_grant(expiring).ok());
        ASSERT_TRUE(ledger.grant(account, Tokens(kBalance - 100), "").ok());

        std::atomic<int> held{0}, refused{0}, errors{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kReserves / kThreads; ++i) {
                    std::string key = "r" + std::to_string(rep) + "-" + std::to_string(t) + "-" +
                                      std::to_string(i);
                    auto r = ledger.reserve(account, Tokens(1), key);
                    if (!r.ok() || r->available.value < 0) {
                        ++errors;
                    } else if (r->outcome == ReserveOutcome::Held) {
                        ++held;
                    } else if (r->outcome == ReserveOutcome::InsufficientBalance) {
                        ++refused;
                    } else {
                        ++errors;
                    }
                }
            });
        }
        for (auto& t : threads) t.join();
        ASSERT_EQ(errors.load(), 0) << "repetition " << rep;
        ASSERT_EQ(held.load(), kBalance) << "repetition " << rep;
        ASSERT_EQ(refused.load(), kReserves - kBalance) << "repetition " << rep;
        Balance b = ledger.balance(account).value();
        ASSERT_EQ(b.held, Tokens(kBalance));
        ASSERT_EQ(b.available(), Tokens(0));
    }
    std::int64_t checked = 0;
    auto mismatches = ledger.verify(&checked);
    ASSERT_TRUE(mismatches.ok());
    EXPECT_TRUE(mismatches->empty());
    EXPECT_EQ(checked, kRepetitions);
}

TOLLGATE_LEDGER_BACKENDS(AdmissionTest);

}  // namespace
}  // namespace tollgate::ledger
