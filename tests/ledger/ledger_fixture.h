// The fixture shared by the ledger tests. LedgerTest runs each test against
// the backend named by its parameter: "sqlite" (a fresh database file in a
// temporary folder) or "redis" (a fresh key prefix on one Redis server shared
// by the whole test binary). Each test gets a manual clock and one account
// ("alice"). SqliteLedgerTest is the same fixture fixed on SQLite, for the
// tests that reach into its tables (db_).
//
// A backend-neutral suite is a TEST_P on LedgerTest (or a subclass),
// instantiated with TOLLGATE_LEDGER_BACKENDS(Suite): its tests are named
// Backends/Suite.Test/<backend>.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/redis/redis_ledger.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/redis/redis_client.h"
#include "support/redis_test_store.h"
#include "support/temp_dir.h"

namespace tollgate::ledger {

// The backends every backend-neutral suite runs against. Adding one is a word
// here and a branch in LedgerTest::open().
inline const auto kBackends = ::testing::Values("sqlite", "redis");

#define TOLLGATE_LEDGER_BACKENDS(suite)                                      \
    INSTANTIATE_TEST_SUITE_P(Backends, suite, ::tollgate::ledger::kBackends, \
                             ::tollgate::testing::backend_param_name)

class LedgerTest : public ::testing::TestWithParam<std::string> {
  public:
    // The manual clock's start: every test's "now" until it moves the clock.
    static constexpr std::int64_t kStartMs = 1'700'000'000'000;

  protected:
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(open());
        auto id = ledger_->create_account("alice");
        ASSERT_TRUE(id.ok()) << id.error().message;
        account_ = *id;
    }

    // "sqlite" or "redis": the test's parameter.
    virtual std::string backend() const { return GetParam(); }

    // Opens (or reopens) the ledger on the same storage: the same database
    // file, or a new connection to the same server under the same prefix.
    void open() {
        ledger_.reset();
        db_.reset();
        client_.reset();
        const std::string name = backend();
        if (name == "sqlite") {
            auto db = store::Database::open(sqlite_path_, sqlite_options_);
            ASSERT_TRUE(db.ok()) << db.error().message;
            db_ = std::move(db).value();
            auto ledger = SqliteLedger::open(*db_, clock_);
            ASSERT_TRUE(ledger.ok()) << ledger.error().message;
            ledger_ = std::move(ledger).value();
        } else if (name == "redis") {
            client_ = testing::shared_redis_client();
            ASSERT_TRUE(client_);
            auto ledger = RedisLedger::open(*client_, clock_, redis_prefix_);
            ASSERT_TRUE(ledger.ok()) << ledger.error().message;
            ledger_ = std::move(ledger).value();
        } else {
            FAIL() << "unknown ledger backend " << name;
        }
    }

    // Runs fn as one transaction on SQLite, so that many writes cost one
    // commit; on other backends each write is its own step anyway.
    template <typename Fn>
    core::Status in_one_transaction(Fn&& fn) {
        if (db_) return store::transact(*db_, fn);
        return fn();
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

    // Every kind of movement on alice's books: grants with and without expiry
    // and rollover, holds across grants and credit, captures, voids, expiries.
    // Leaves the clock at kStartMs + 5000.
    void make_history() {
        const std::int64_t t = kStartMs;
        GrantSpec spec;
        spec.account_id = account_;
        spec.tokens = core::Tokens(40);
        spec.expires_ms = t + 1000;
        spec.rollover_max = core::Tokens(5);
        spec.rollover_expires_ms = t + 3000;
        ASSERT_TRUE(ledger_->add_grant(spec).ok());
        add(30, t + 2000, 2);
        add(20);
        ASSERT_EQ(reserve(35, "a"), ReserveOutcome::Held);
        ASSERT_EQ(reserve(30, "b"), ReserveOutcome::Held);
        ASSERT_EQ(reserve(40, "c", ReserveTerms{50, false, ""}), ReserveOutcome::Held);
        ASSERT_EQ(ledger_->capture("a").value(), SettleOutcome::Settled);
        clock_.set_ms(t + 1500);
        ASSERT_EQ(ledger_->void_hold("b", "").value(), SettleOutcome::Settled);
        ASSERT_EQ(reserve(3, "d", ReserveTerms{0, true, ""}), ReserveOutcome::Held);
        clock_.set_ms(t + 5000);
        ASSERT_TRUE(ledger_->expire_due().ok());
    }

    testing::TempDir dir_;
    // SQLite: the database file and how it is opened (a subclass may change
    // them in its constructor, e.g. to ":memory:").
    std::string sqlite_path_ = dir_.file("ledger.db");
    store::Database::Options sqlite_options_;
    // Redis: this test's key prefix.
    std::string redis_prefix_ = testing::unique_redis_prefix("t");

    core::ManualClock clock_{kStartMs};
    // Declared before ledger_, which uses them: destroyed after it.
    std::unique_ptr<store::Database> db_;           // SQLite only
    std::unique_ptr<store::redis::Client> client_;  // Redis only
    std::unique_ptr<Ledger> ledger_;
    std::string account_;
};

// The fixture on SQLite alone, for tests that read or write its tables
// through db_. Used with TEST_F: it has no parameter.
class SqliteLedgerTest : public LedgerTest {
  protected:
    std::string backend() const override { return "sqlite"; }
};

// The clock's start, for tests that name instants relative to it.
inline constexpr std::int64_t kT = LedgerTest::kStartMs;

}  // namespace tollgate::ledger
