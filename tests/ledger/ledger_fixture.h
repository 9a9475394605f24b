// The fixture shared by the SQLite ledger tests: a fresh database file in a
// temporary folder, a manual clock, and one account ("alice").
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/sqlite/sqlite_ledger.h"
#include "support/temp_dir.h"

namespace tollgate::ledger {

class SqliteLedgerTest : public ::testing::Test {
  public:
    // The manual clock's start: every test's "now" until it moves the clock.
    static constexpr std::int64_t kStartMs = 1'700'000'000'000;

  protected:
    void SetUp() override {
        open();
        auto id = ledger_->create_account("alice");
        ASSERT_TRUE(id.ok());
        account_ = *id;
    }

    // Opens (or reopens) the ledger on the same file.
    void open() {
        ledger_.reset();
        db_.reset();
        auto db = store::Database::open(dir_.file("ledger.db"));
        ASSERT_TRUE(db.ok()) << db.error().message;
        db_ = std::move(db).value();
        auto ledger = SqliteLedger::open(*db_, clock_);
        ASSERT_TRUE(ledger.ok()) << ledger.error().message;
        ledger_ = std::move(ledger).value();
    }

    Balance balance() { return balance_of(account_); }
    Balance balance_of(const std::string& account_id) {
        auto b = ledger_->balance(account_id);
        EXPECT_TRUE(b.ok());
        return b.ok() ? *b : Balance{};
    }

    // Adds a grant to alice and returns its id.
    std::int64_t add(std::int64_t tokens, std::optional<std::int64_t> expires_ms = std::nullopt,
                     std::int64_t priority = 0) {
        GrantSpec spec;
        spec.account_id = account_;
        spec.tokens = core::Tokens(tokens);
        spec.expires_ms = expires_ms;
        spec.priority = priority;
        auto r = ledger_->add_grant(spec);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? r->grant_id : 0;
    }

    // Alice's grant with this id, as grants() reports it.
    GrantInfo grant(std::int64_t id) {
        auto all = ledger_->grants(account_);
        EXPECT_TRUE(all.ok());
        for (const GrantInfo& g : *all) {
            if (g.id == id) return g;
        }
        ADD_FAILURE() << "no grant " << id;
        return GrantInfo{};
    }

    ReserveOutcome reserve(std::int64_t tokens, const std::string& key,
                           const ReserveTerms& terms = {}) {
        auto r = ledger_->reserve(account_, core::Tokens(tokens), key, terms);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? r->outcome : ReserveOutcome::UnknownAccount;
    }

    // The kinds of alice's entries, in order, for compact expectations.
    std::string kinds() {
        std::string out;
        std::vector<Entry> entries = ledger_->entries(account_).value();
        for (const Entry& e : entries) {
            out += (out.empty() ? "" : " ") + e.kind + ":" + std::to_string(e.tokens.value);
        }
        return out;
    }

    // Alice's entries, in order.
    std::vector<Entry> history() {
        auto entries = ledger_->entries(account_);
        EXPECT_TRUE(entries.ok());
        return entries.ok() ? *entries : std::vector<Entry>{};
    }

    // The books balance: every token granted is available, held, captured,
    // expired or debited.
    void expect_conserved() {
        Balance b = balance();
        EXPECT_EQ(b.granted, b.available() + b.held + b.captured + b.expired + b.debited);
    }

    // Mismatches as one string, for readable failures.
    std::string verify_report() {
        auto m = ledger_->verify(nullptr);
        EXPECT_TRUE(m.ok());
        std::string out;
        if (!m.ok()) return out;
        for (const Mismatch& x : *m) out += x.account_id + ": " + x.what + "\n";
        return out;
    }

    testing::TempDir dir_;
    core::ManualClock clock_{kStartMs};
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<SqliteLedger> ledger_;
    std::string account_;
};

}  // namespace tollgate::ledger
