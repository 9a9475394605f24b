// The ledger's original contract: grants, holds, captures, voids, entries,
// API keys and verify(), which the grant-based books must keep on every
// backend. (verify() finding tampered SQLite rows: sqlite_verify_test.cc.)
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

using LedgerContractTest = LedgerTest;

TEST_P(LedgerContractTest, GrantRaisesAvailable) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(50), "top-up").ok());
    EXPECT_EQ(balance().available(), Tokens(50));
    EXPECT_EQ(balance().granted, Tokens(50));
}

TEST_P(LedgerContractTest, ReserveHoldsAndCaptureCharges) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(50), "").ok());
    auto r = ledger_->reserve(account_, Tokens(10), "job_1");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outcome, ReserveOutcome::Held);
    EXPECT_EQ(r->available, Tokens(40));
    EXPECT_EQ(balance().held, Tokens(10));
    EXPECT_EQ(ledger_->capture("job_1").value(), SettleOutcome::Settled);
    Balance b = balance();
    EXPECT_EQ(b.held, Tokens(0));
    EXPECT_EQ(b.captured, Tokens(10));
    EXPECT_EQ(b.available(), Tokens(40));
}

TEST_P(LedgerContractTest, VoidReleasesTheHold) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(50), "").ok());
    ASSERT_EQ(ledger_->reserve(account_, Tokens(10), "job_1")->outcome, ReserveOutcome::Held);
    EXPECT_EQ(ledger_->void_hold("job_1", "worker failed").value(), SettleOutcome::Settled);
    EXPECT_EQ(balance().available(), Tokens(50));
    EXPECT_EQ(balance().captured, Tokens(0));
}

TEST_P(LedgerContractTest, InsufficientBalanceHoldsNothing) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(5), "").ok());
    auto r = ledger_->reserve(account_, Tokens(10), "job_1");
    EXPECT_EQ(r->outcome, ReserveOutcome::InsufficientBalance);
    EXPECT_EQ(r->available, Tokens(5));
    EXPECT_EQ(balance().held, Tokens(0));
    EXPECT_FALSE(ledger_->find_hold("job_1")->has_value());
}

TEST_P(LedgerContractTest, SameKeyTwicePlacesOneHold) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(50), "").ok());
    EXPECT_EQ(ledger_->reserve(account_, Tokens(10), "job_1")->outcome, ReserveOutcome::Held);
    EXPECT_EQ(ledger_->reserve(account_, Tokens(10), "job_1")->outcome,
              ReserveOutcome::AlreadyHeld);
    EXPECT_EQ(balance().held, Tokens(10));
    EXPECT_EQ(ledger_->reserve(account_, Tokens(11), "job_1")->outcome,
              ReserveOutcome::KeyReusedWithDifferentRequest);
    EXPECT_EQ(balance().held, Tokens(10));
}

TEST_P(LedgerContractTest, EachHoldEndsInExactlyOneOutcome) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(50), "").ok());
    ASSERT_EQ(ledger_->reserve(account_, Tokens(10), "job_1")->outcome, ReserveOutcome::Held);
    EXPECT_EQ(ledger_->capture("job_1").value(), SettleOutcome::Settled);
    EXPECT_EQ(ledger_->capture("job_1").value(), SettleOutcome::AlreadySettled);
    EXPECT_EQ(ledger_->void_hold("job_1", "late").value(), SettleOutcome::Conflict);
    EXPECT_EQ(balance().captured, Tokens(10));
    EXPECT_EQ(balance().available(), Tokens(40));
    EXPECT_EQ(ledger_->capture("nope").value(), SettleOutcome::UnknownHold);
}

TEST_P(LedgerContractTest, EntriesRecordEveryMovement) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(50), "seed").ok());
    ASSERT_EQ(ledger_->reserve(account_, Tokens(10), "a")->outcome, ReserveOutcome::Held);
    ASSERT_EQ(ledger_->reserve(account_, Tokens(7), "b")->outcome, ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("a").value(), SettleOutcome::Settled);
    ASSERT_EQ(ledger_->void_hold("b", "failed").value(), SettleOutcome::Settled);
    auto entries = ledger_->entries(account_).value();
    ASSERT_EQ(entries.size(), 5u);
    EXPECT_EQ(entries[0].kind, "grant");
    EXPECT_EQ(entries[3].kind, "capture");
    EXPECT_EQ(entries[4].kind, "void");
    EXPECT_EQ(entries[4].reason, "failed");
    EXPECT_TRUE(entries[0].grant_id.has_value());   // a grant entry names its grant
    EXPECT_FALSE(entries[1].grant_id.has_value());  // a hold may span several grants
    // Recompute the balance from the entries: money is conserved.
    std::int64_t granted = 0, captured = 0, held = 0;
    for (const Entry& e : entries) {
        if (e.kind == "grant") granted += e.tokens.value;
        if (e.kind == "hold") held += e.tokens.value;
        if (e.kind == "capture") held -= e.tokens.value, captured += e.tokens.value;
        if (e.kind == "void") held -= e.tokens.value;
    }
    Balance b = balance();
    EXPECT_EQ(b.granted.value, granted);
    EXPECT_EQ(b.held.value, held);
    EXPECT_EQ(b.captured.value, captured);
}

TEST_P(LedgerContractTest, ApiKeysResolveToTheirAccountOnly) {
    std::string key = ledger_->create_api_key(account_).value();
    EXPECT_EQ(key.size(), 3u + 64u);
    EXPECT_EQ(ledger_->find_account_by_key(key).value(), std::optional<std::string>(account_));
    EXPECT_FALSE(ledger_->find_account_by_key(key + "x")->has_value());
    EXPECT_FALSE(ledger_->create_api_key("acct_missing").ok());
}

TEST_P(LedgerContractTest, HundredThreadsAgainstTenTokensHoldExactlyTen) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(10), "").ok());
    std::atomic<int> held{0}, refused{0}, errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 100; ++i) {
        threads.emplace_back([&, i] {
            auto r = ledger_->reserve(account_, Tokens(1), "k" + std::to_string(i));
            if (!r.ok()) {
                ++errors;
            } else if (r->outcome == ReserveOutcome::Held) {
                ++held;
            } else if (r->outcome == ReserveOutcome::InsufficientBalance) {
                ++refused;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(held.load(), 10);
    EXPECT_EQ(refused.load(), 90);
    EXPECT_EQ(balance().held, Tokens(10));
    EXPECT_EQ(balance().available(), Tokens(0));
}

TEST_P(LedgerContractTest, StateSurvivesReopen) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(20), "").ok());
    ASSERT_EQ(ledger_->reserve(account_, Tokens(3), "k")->outcome, ReserveOutcome::Held);
    open();
    EXPECT_EQ(balance().available(), Tokens(17));
    EXPECT_EQ(ledger_->find_hold("k").value()->state, HoldState::Open);
}

TEST_P(LedgerContractTest, VerifyPassesAfterEveryKindOfMovement) {
    ASSERT_TRUE(ledger_->grant(account_, Tokens(50), "").ok());
    ASSERT_EQ(ledger_->reserve(account_, Tokens(10), "a")->outcome, ReserveOutcome::Held);
    ASSERT_EQ(ledger_->reserve(account_, Tokens(7), "b")->outcome, ReserveOutcome::Held);
    ASSERT_EQ(ledger_->reserve(account_, Tokens(3), "c")->outcome, ReserveOutcome::Held);
    ASSERT_EQ(ledger_->capture("a").value(), SettleOutcome::Settled);
    ASSERT_EQ(ledger_->void_hold("b", "").value(), SettleOutcome::Settled);
    std::string other = ledger_->create_account("bob").value();
    std::int64_t checked = 0;
    auto mismatches = ledger_->verify(&checked);
    ASSERT_TRUE(mismatches.ok());
    EXPECT_TRUE(mismatches->empty());
    EXPECT_EQ(checked, 2);
}

TOLLGATE_LEDGER_BACKENDS(LedgerContractTest);

}  // namespace
}  // namespace tollgate::ledger
