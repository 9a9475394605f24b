// Many threads reserving, capturing and voiding against grants that expire
// while they run: no overspend, and the books verify afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

using ConcurrencyTest = LedgerTest;

TEST_P(ConcurrencyTest, ThreadsAgainstExpiringGrantsNeverOverspend) {
    constexpr int kThreads = 8;
    constexpr int kOpsPerThread = 60;
    add(60, kT + 100);
    add(60, kT + 200, 1);
    add(60);
    std::atomic<int> errors{0}, overspent{0}, captured{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kOpsPerThread; ++i) {
                std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
                auto r = ledger_->reserve(account_, Tokens(1 + i % 3), key);
                if (!r.ok()) {
                    ++errors;
                    continue;
                }
                if (r->available.value < 0) ++overspent;
                if (r->outcome != ReserveOutcome::Held) continue;
                bool capture = i % 4 != 0;
                auto s = capture ? ledger_->capture(key) : ledger_->void_hold(key, "");
                if (!s.ok() || *s != SettleOutcome::Settled) ++errors;
                if (capture) captured += 1 + i % 3;
                if (t == 0) clock_.advance_ms(5);  // grants expire mid-run
            }
        });
    }
    // A sweeper runs alongside, as in the gateway.
    std::thread sweeper([&] {
        while (!done.load()) {
            if (!ledger_->expire_due().ok()) ++errors;
            std::this_thread::yield();
        }
    });
    for (auto& t : threads) t.join();
    done = true;
    sweeper.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(overspent.load(), 0);
    clock_.set_ms(kT + 1000);
    Balance b = balance();
    EXPECT_EQ(b.held, Tokens(0));
    EXPECT_EQ(b.captured, Tokens(captured.load()));
    EXPECT_GE(b.available().value, 0);
    EXPECT_EQ(b.granted, b.available() + b.held + b.captured + b.expired);
    EXPECT_EQ(b.expired + b.captured + b.available(), Tokens(180));
    EXPECT_EQ(verify_report(), "");
}

TEST_P(ConcurrencyTest, ThreadsOnCreditStopExactlyAtTheLimit) {
    add(20, kT + 50);
    std::atomic<int> held{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) {
                std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
                auto r = ledger_->reserve(account_, Tokens(1), key, ReserveTerms{30, false, ""});
                if (!r.ok() || r->available.value < -30) ++errors;
                if (r.ok() && r->outcome == ReserveOutcome::Held) ++held;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(held.load(), 50);
    EXPECT_EQ(balance().available(), Tokens(-30));
    EXPECT_EQ(verify_report(), "");
}

TOLLGATE_LEDGER_BACKENDS(ConcurrencyTest);

}  // namespace
}  // namespace tollgate::ledger
