// Statements: entries_page() pages by id within [from_ms, to_ms), and every
// entry carries the available balance right after it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ledger/ledger_fixture.h"

namespace tollgate::ledger {
namespace {

using core::Tokens;

class StatementTest : public LedgerTest {
  protected:
    EntryPage page(std::int64_t from_ms, std::int64_t to_ms, std::int64_t after_id,
                   std::size_t limit) {
        auto p = ledger_->entries_page(account_, from_ms, to_ms, after_id, limit);
        EXPECT_TRUE(p.ok()) << p.error().message;
        return p.ok() ? *p : EntryPage{};
    }
    static std::vector<std::int64_t> tokens_of(const EntryPage& p) {
        std::vector<std::int64_t> out;
        for (const Entry& e : p.entries) out.push_back(e.tokens.value);
        return out;
    }
};

TEST_P(StatementTest, PagesByIdWithinTheTimeBounds) {
    // Grants of i + 1 tokens at kT + 10 i, for i = 0 .. 9.
    for (int i = 0; i < 10; ++i) {
        clock_.set_ms(kT + 10 * i);
        ASSERT_TRUE(ledger_->grant(account_, Tokens(i + 1), "").ok());
    }
    // [kT + 20, kT + 70) holds i = 2 .. 6: from is inclusive, to exclusive.
    EntryPage first = page(kT + 20, kT + 70, 0, 2);
    EXPECT_EQ(tokens_of(first), (std::vector<std::int64_t>{3, 4}));
    ASSERT_TRUE(first.next_after_id.has_value());
    EXPECT_EQ(*first.next_after_id, first.entries.back().id);
    EntryPage second = page(kT + 20, kT + 70, *first.next_after_id, 2);
    EXPECT_EQ(tokens_of(second), (std::vector<std::int64_t>{5, 6}));
    ASSERT_TRUE(second.next_after_id.has_value());
    EntryPage third = page(kT + 20, kT + 70, *second.next_after_id, 2);
    EXPECT_EQ(tokens_of(third), std::vector<std::int64_t>{7});
    EXPECT_FALSE(third.next_after_id.has_value());
    // A window that ends exactly on a page boundary says so: no empty page.
    EntryPage exact = page(kT + 20, kT + 60, first.entries.back().id, 2);
    EXPECT_EQ(tokens_of(exact), (std::vector<std::int64_t>{5, 6}));
    EXPECT_FALSE(exact.next_after_id.has_value());
    // Running balances: 1, 1 + 2, 1 + 2 + 3, ...
    EXPECT_EQ(first.entries[0].balance_after, 1 + 2 + 3);
    EXPECT_EQ(third.entries[0].balance_after, 28);
    // Empty and inverted windows.
    EXPECT_TRUE(page(kT + 1000, kT + 2000, 0, 10).entries.empty());
    EXPECT_TRUE(page(kT + 70, kT + 20, 0, 10).entries.empty());
    EXPECT_FALSE(page(kT + 70, kT + 20, 0, 10).next_after_id.has_value());
}

TEST_P(StatementTest, BalanceAfterFollowsEveryKindOfMovement) {
    GrantSpec spec;
    spec.account_id = account_;
    spec.tokens = Tokens(40);
    spec.expires_ms = kT + 1000;
    spec.rollover_max = Tokens(5);
    spec.rollover_expires_ms = kT + 3000;
    ASSERT_TRUE(ledger_->add_grant(spec).ok());                                    // 40
    add(20);                                                                       // 60
    ASSERT_EQ(reserve(30, "a"), ReserveOutcome::Held);                             // 30
    ASSERT_EQ(reserve(25, "b"), ReserveOutcome::Held);                             // 5
    ASSERT_EQ(ledger_->capture("a", Tokens(20)).value(), SettleOutcome::Settled);  // 15
    ASSERT_TRUE(ledger_->refund("a", Tokens(6), "").ok());                         // 21
    ASSERT_TRUE(ledger_->adjust(account_, -4, "", "").ok());                       // 17
    ASSERT_TRUE(ledger_->adjust(account_, 8, "", "").ok());                        // 25
    clock_.set_ms(kT + 1500);
    ASSERT_EQ(ledger_->void_hold("b", "").value(), SettleOutcome::Settled);            // 50, 50, 39
    ASSERT_EQ(reserve(3, "c", ReserveTerms{10, false, "", 0}), ReserveOutcome::Held);  // 36
    std::vector<std::string> expected_kinds = {"grant",   "grant",    "hold",       "hold",
                                               "capture", "refund",   "adjustment", "adjustment",
                                               "void",    "rollover", "expiry",     "hold"};
    // The first grant expired at kT + 1000 holding 6 (the 10 the capture
    // released, less the 4 debited), not yet processed. The void returns 10
    // more to it and processes it: of its 16, 5 roll over and 11 expire.
    std::vector<std::int64_t> expected_after = {40, 60, 30, 5, 15, 21, 17, 25, 50, 50, 39, 36};
    std::vector<Entry> entries = history();
    ASSERT_EQ(entries.size(), expected_kinds.size()) << kinds();
    for (std::size_t i = 0; i < entries.size(); ++i) {
        EXPECT_EQ(entries[i].kind, expected_kinds[i]) << i;
        EXPECT_EQ(entries[i].balance_after, expected_after[i]) << i << " " << kinds();
    }
    EXPECT_EQ(entries.back().balance_after, balance().available().value);
    expect_conserved();
    EXPECT_EQ(verify_report(), "");
}

TEST_P(StatementTest, APageHoldsAtMostTheMaximum) {
    // One transaction for all the grants keeps the setup fast on SQLite.
    ASSERT_TRUE(in_one_transaction([&]() -> core::Status {
                    for (std::size_t i = 0; i < kEntriesPageMax + 1; ++i) {
                        auto r = ledger_->grant(account_, Tokens(1), "");
                        if (!r.ok()) return r.error();
                    }
                    return {};
                }).ok());
    EntryPage first = page(kT, kT + 1, 0, kEntriesPageMax * 5);
    EXPECT_EQ(first.entries.size(), kEntriesPageMax);
    ASSERT_TRUE(first.next_after_id.has_value());
    EntryPage rest = page(kT, kT + 1, *first.next_after_id, kEntriesPageMax * 5);
    EXPECT_EQ(rest.entries.size(), 1u);
    EXPECT_FALSE(rest.next_after_id.has_value());
    EXPECT_EQ(rest.entries[0].balance_after, static_cast<std::int64_t>(kEntriesPageMax) + 1);
}

TEST_P(StatementTest, BadRequestsAreRefused) {
    add(1);
    auto zero = ledger_->entries_page(account_, kT, kT + 1, 0, 0);
    ASSERT_FALSE(zero.ok());
    EXPECT_EQ(zero.error().code, "invalid_limit");
    auto unknown = ledger_->entries_page("acct_missing", kT, kT + 1, 0, 10);
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, "unknown_account");
}

TEST_P(StatementTest, PagesShowOnlyTheirAccount) {
    std::string bob = ledger_->create_account("bob").value();
    add(5);
    ASSERT_TRUE(ledger_->grant(bob, Tokens(7), "").ok());
    add(6);
    EntryPage alice = page(kT, kT + 1, 0, 10);
    EXPECT_EQ(tokens_of(alice), (std::vector<std::int64_t>{5, 6}));
    EXPECT_EQ(alice.entries[1].balance_after, 11);
    auto bobs = ledger_->entries_page(bob, kT, kT + 1, 0, 10).value();
    ASSERT_EQ(bobs.entries.size(), 1u);
    EXPECT_EQ(bobs.entries[0].balance_after, 7);
    EXPECT_EQ(bobs.entries[0].account_id, bob);
}

TOLLGATE_LEDGER_BACKENDS(StatementTest);

}  // namespace
}  // namespace tollgate::ledger
