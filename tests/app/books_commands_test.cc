// `tollgate ledger verify`, `tollgate account statement` and `tollgate
// reconcile` read the store the configuration names: each test runs once on
// the SQLite file and once on Redis (books_fixture.h), with the same
// expectations, so the two stores answer alike.
#include <gtest/gtest.h>

#include <set>

#include "app/books_fixture.h"
#include "app/ledger_command.h"
#include "app/reconcile_command.h"
#include "app/statement_command.h"
#include "support/free_port.h"

namespace tollgate::app {
namespace {

using testing_support::BooksTest;
using testing_support::CommandRun;
using testing_support::describe;
using testing_support::kHourMs;
using testing_support::kNov30Noon;
using testing_support::run_captured;

class LedgerVerifyCommandTest : public BooksTest {};
TOLLGATE_BOOKS_BACKENDS(LedgerVerifyCommandTest);

TEST_P(LedgerVerifyCommandTest, CleanBooksExitZero) {
    const std::string alice = account("alice", 100);
    const std::string bob = account("bob", 50);
    ASSERT_NO_FATAL_FAILURE(job(alice, "job_a", 30, kNov30Noon + kHourMs));
    ASSERT_NO_FATAL_FAILURE(job(bob, "job_b", 0, kNov30Noon + 2 * kHourMs));
    const CommandRun run = run_captured([&] { return run_ledger_verify(store_); });
    EXPECT_EQ(run.code, 0) << describe(run);
    EXPECT_EQ(run.out, "ledger verify: ok, 2 accounts balance\n") << describe(run);
}

TEST_P(LedgerVerifyCommandTest, ATamperedBalanceExitsOneNamingItsAccount) {
    const std::string alice = account("alice", 100);
    const std::string bob = account("bob", 50);
    ASSERT_NO_FATAL_FAILURE(job(alice, "job_a", 30, kNov30Noon + kHourMs));
    if (redis()) {
        ASSERT_NO_FATAL_FAILURE(raw({"HINCRBY", account_key(alice, "acct"), "granted", "7"}));
    } else {
        ASSERT_TRUE(db_->exec("UPDATE balances SET granted = granted + 7 WHERE account_id = '" +
                              alice + "'")
                        .ok());
    }
    const CommandRun run = run_captured([&] { return run_ledger_verify(store_); });
    EXPECT_EQ(run.code, 1) << describe(run);
    EXPECT_NE(run.out.find("MISMATCH " + alice +
                           ": granted vs grant entries: cached 107, from records 100\n"),
              std::string::npos)
        << describe(run);
    EXPECT_EQ(run.out.find("MISMATCH " + bob), std::string::npos) << describe(run);
    EXPECT_NE(run.out.find(" mismatches in 2 accounts\n"), std::string::npos) << describe(run);
}

TEST_P(LedgerVerifyCommandTest, AStoreThatCannotBeReadExitsTwo) {
    StoreLocation broken = store_;
    if (redis()) {
        // Nothing listens there.
        broken.redis_url = "redis://127.0.0.1:" + std::to_string(tollgate::testing::free_port());
    } else {
        broken.data_dir = dir_.file("elsewhere");
    }
    const CommandRun run = run_captured([&] { return run_ledger_verify(broken); });
    EXPECT_EQ(run.code, 2) << describe(run);
    EXPECT_EQ(run.out, "") << describe(run);
    const std::string named =
        redis() ? "tollgate: Redis at " + broken.redis_url + " (prefix " + prefix_ + "): "
                : "tollgate: no ledger at " + broken.sqlite_path() + "\n";
    EXPECT_TRUE(run.err.starts_with(named)) << describe(run);
}

class StatementCommandTest : public BooksTest {
  protected:
    // alice: granted 100 at noon; job_a (30) held at 12:59 and captured at 13:00.
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(BooksTest::SetUp());
        alice_ = account("alice", 100);
        ASSERT_NO_FATAL_FAILURE(job(alice_, "job_a", 30, kNov30Noon + kHourMs));
    }
    CommandRun statement(const std::string& from, const std::string& to,
                         const std::string& account_id) {
        StatementOptions o;
        o.store = store_;
        o.account_id = account_id;
        o.from = from;
        o.to = to;
        o.zone = config_.price_book.time_zone;
        return run_captured([&] { return run_statement(o); });
    }
    std::string alice_;
};
TOLLGATE_BOOKS_BACKENDS(StatementCommandTest);

TEST_P(StatementCommandTest, PrintsTheAccountsEntries) {
    const CommandRun run = statement("", "", alice_);
    EXPECT_EQ(run.code, 0) << describe(run);
    EXPECT_EQ(run.out,
              "entry_id,time,kind,tokens,balance_after,job_id,grant_id,reason\r\n"
              "1,2026-11-30T12:00:00+00:00,grant,100,100,,1,welcome\r\n"
              "2,2026-11-30T12:59:00+00:00,hold,30,70,job_a,,\r\n"
              "3,2026-11-30T13:00:00+00:00,capture,30,70,job_a,,\r\n")
        << describe(run);
}

TEST_P(StatementCommandTest, KeepsToTheWindow) {
    const CommandRun run = statement("2026-11-30 12:30", "2026-11-30 13:00", alice_);
    EXPECT_EQ(run.code, 0) << describe(run);
    EXPECT_EQ(run.out,
              "entry_id,time,kind,tokens,balance_after,job_id,grant_id,reason\r\n"
              "2,2026-11-30T12:59:00+00:00,hold,30,70,job_a,,\r\n")
        << describe(run);
}

TEST_P(StatementCommandTest, AnUnknownAccountExitsTwo) {
    const CommandRun run = statement("", "", "acct_nobody");
    EXPECT_EQ(run.code, 2) << describe(run);
    EXPECT_EQ(run.out, "") << describe(run);
    EXPECT_EQ(run.err, "tollgate: no account acct_nobody\n") << describe(run);
}

class ReconcileCommandTest : public BooksTest {
  protected:
    // alice: job_a (30) on Nov 30, job_b (20) on Dec 1; bob: job_c (5), a
    // failed job_f, and job_late (7), finished just before midnight and
    // captured just after, all on Nov 30 (a capture is dated by its job's
    // finish). Every capture has its record.
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(BooksTest::SetUp());
        alice_ = account("alice", 100);
        bob_ = account("bob", 100);
        ASSERT_NO_FATAL_FAILURE(job(alice_, "job_a", 30, kNov30Noon + kHourMs));
        ASSERT_NO_FATAL_FAILURE(job(alice_, "job_b", 20, kNov30Noon + 13 * kHourMs));
        ASSERT_NO_FATAL_FAILURE(job(bob_, "job_c", 5, kNov30Noon + 2 * kHourMs));
        ASSERT_NO_FATAL_FAILURE(job(bob_, "job_f", 0, kNov30Noon + 3 * kHourMs));
        ASSERT_NO_FATAL_FAILURE(job(bob_, "job_late", 7, kNov30Noon + 12 * kHourMs - 30'000,
                                    kNov30Noon + 12 * kHourMs + 30'000));
    }
    CommandRun reconcile(const std::string& from, const std::string& to) {
        ReconcileOptions o;
        o.store = store_;
        o.sinks = config_.usage_export_to;
        o.from = from;
        o.to = to;
        return run_captured([&] { return run_reconcile(o); });
    }
    // Takes job_a's usage record away, leaving its capture.
    void remove_job_a_record() {
        if (redis()) {
            ASSERT_NO_FATAL_FAILURE(raw({"HDEL", account_key(alice_, "usage"), "job_a"}));
            ASSERT_NO_FATAL_FAILURE(raw({"ZREM", account_key(alice_, "usage_by_time"), "job_a"}));
            ASSERT_NO_FATAL_FAILURE(raw({"HDEL", account_key(alice_, "usage_exec"), "job_a"}));
            ASSERT_NO_FATAL_FAILURE(raw({"DEL", store::redis::owner_key(prefix_, "job_a")}));
        } else {
            ASSERT_TRUE(db_->exec("DELETE FROM usage_records WHERE job_id = 'job_a'").ok());
        }
    }
    std::string alice_, bob_;
};
TOLLGATE_BOOKS_BACKENDS(ReconcileCommandTest);

TEST_P(ReconcileCommandTest, AgreeingBooksExitZero) {
    const CommandRun run = reconcile("2026-11-30", "2026-12-02");
    EXPECT_EQ(run.code, 0) << describe(run);
    // Three (account, day) pairs: alice's two days, bob's one.
    EXPECT_EQ(run.out,
              "0 differences from 2026-11-30 to 2026-12-02 (3 accounts and days, 0 sinks)\n")
        << describe(run);
}

TEST_P(ReconcileCommandTest, ACaptureWithoutItsRecordIsADifference) {
    ASSERT_NO_FATAL_FAILURE(remove_job_a_record());
    const CommandRun run = reconcile("2026-11-30", "2026-12-02");
    EXPECT_EQ(run.code, 1) << describe(run);
    EXPECT_EQ(run.out, "2026-11-30 " + alice_ +
                           ": ledger captured 30 tokens, usage records charged 0 tokens\n"
                           "1 difference from 2026-11-30 to 2026-12-02 (2 accounts and days, 0 "
                           "sinks)\n")
        << describe(run);
}

TEST_P(ReconcileCommandTest, OnlyTheDaysAskedForCount) {
    ASSERT_NO_FATAL_FAILURE(remove_job_a_record());
    // Dec 1 alone: job_b agrees, and the capture of job_a (Nov 30) is outside.
    const CommandRun run = reconcile("2026-12-01", "2026-12-02");
    EXPECT_EQ(run.code, 0) << describe(run);
    EXPECT_EQ(run.out,
              "0 differences from 2026-12-01 to 2026-12-02 (1 accounts and days, 0 sinks)\n")
        << describe(run);
}

TEST_P(ReconcileCommandTest, ACaptureCountsOnTheDayItsJobFinished) {
    // job_late was captured on Dec 1 but finished on Nov 30: each day agrees.
    for (const auto& [from, to] :
         {std::pair{"2026-11-30", "2026-12-01"}, std::pair{"2026-12-01", "2026-12-02"}}) {
        const CommandRun run = reconcile(from, to);
        EXPECT_EQ(run.code, 0) << from << "\n" << describe(run);
        EXPECT_TRUE(run.out.starts_with(std::string("0 differences from ") + from))
            << describe(run);
    }
}

// Only Redis indexes an account before making it.
class RedisReconcileCommandTest : public ReconcileCommandTest {};
INSTANTIATE_TEST_SUITE_P(Backend, RedisReconcileCommandTest, ::testing::Values("redis"),
                         ::tollgate::testing::backend_param_name);

TEST_P(RedisReconcileCommandTest, AnAccountIdWithoutItsAccountIsSkipped) {
    // What a crash between the index and the record leaves (redis_accounts.cc).
    ASSERT_NO_FATAL_FAILURE(raw({"SADD", prefix_ + "accounts", "acct_ghost"}));
    const CommandRun run = reconcile("2026-11-30", "2026-12-02");
    EXPECT_EQ(run.code, 0) << describe(run);
    EXPECT_TRUE(run.out.starts_with("0 differences")) << describe(run);
}

TEST_P(ReconcileCommandTest, AStoreThatCannotBeReadExitsTwo) {
    StoreLocation broken = store_;
    if (redis()) {
        broken.redis_url = "redis://127.0.0.1:" + std::to_string(tollgate::testing::free_port());
    } else {
        broken.data_dir = dir_.file("elsewhere");
    }
    ReconcileOptions o;
    o.store = broken;
    o.from = "2026-11-30";
    o.to = "2026-12-02";
    const CommandRun run = run_captured([&] { return run_reconcile(o); });
    EXPECT_EQ(run.code, 2) << describe(run);
    EXPECT_EQ(run.out, "") << describe(run);
    const std::string named =
        redis() ? "tollgate: Redis at " + broken.redis_url + " (prefix " + prefix_ + "): "
                : "tollgate: no database at " + broken.sqlite_path() + "\n";
    EXPECT_TRUE(run.err.starts_with(named)) << describe(run);
}

// The ledger lists every account, a bounded page at a time.
class AccountIdsTest : public BooksTest {};
TOLLGATE_BOOKS_BACKENDS(AccountIdsTest);

TEST_P(AccountIdsTest, PagesThroughEveryAccount) {
    // More than Redis keeps in a set's compact encoding (128 by default), so
    // that SSCAN pages too.
    std::set<std::string> made;
    for (int i = 0; i < 300; ++i) {
        auto id = ledger_->create_account("a" + std::to_string(i));
        ASSERT_TRUE(id.ok()) << id.error().message;
        made.insert(*id);
    }
    std::set<std::string> listed;
    std::string cursor;
    int pages = 0;
    do {
        auto page = ledger_->account_ids(cursor, 20);
        ASSERT_TRUE(page.ok()) << page.error().message;
        // SQLite: exactly the bound; Redis: COUNT is a hint, never far off.
        EXPECT_LE(page->ids.size(), redis() ? 40u : 20u);
        if (!redis() && !page->next_cursor.empty()) {
            EXPECT_EQ(page->ids.size(), 20u);
        }
        listed.insert(page->ids.begin(), page->ids.end());
        cursor = page->next_cursor;
        ASSERT_LT(++pages, 1000) << "the cursor never ends";
    } while (!cursor.empty());
    EXPECT_EQ(listed, made);
    EXPECT_GE(pages, 8);
}

TEST_P(AccountIdsTest, RefusesAnEmptyPageAndABadCursor) {
    auto none = ledger_->account_ids("", 0);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code, "invalid_limit");
    auto bad = ledger_->account_ids("not a cursor", 10);
    if (redis()) {
        ASSERT_FALSE(bad.ok());
        EXPECT_EQ(bad.error().code, "invalid_cursor");
    } else {
        // SQLite's cursor is the last id seen: any text orders.
        ASSERT_TRUE(bad.ok()) << bad.error().message;
    }
}

// Which store a command reads, from the configuration and --data-dir.
class StoreLocationTest : public BooksTest {};
TOLLGATE_BOOKS_BACKENDS(StoreLocationTest);

TEST_P(StoreLocationTest, TheConfigNamesTheStore) {
    if (redis()) {
        EXPECT_EQ(store_.redis_url, tollgate::testing::shared_redis_server().url());
        EXPECT_EQ(store_.prefix, prefix_);
    } else {
        EXPECT_EQ(store_.sqlite_path(), dir_.file("data/tollgate.db"));
    }
}

TEST_P(StoreLocationTest, DataDirNamesTheFileAndIsRefusedWithRedis) {
    auto chosen = store_location(config_, "/somewhere");
    if (redis()) {
        ASSERT_FALSE(chosen.ok());
        EXPECT_EQ(chosen.error().code, "invalid_option");
        EXPECT_NE(chosen.error().message.find(config_path_), std::string::npos)
            << chosen.error().message;
    } else {
        ASSERT_TRUE(chosen.ok()) << chosen.error().message;
        EXPECT_FALSE(chosen->shared());
        EXPECT_EQ(chosen->sqlite_path(), "/somewhere/tollgate.db");
    }
}

}  // namespace
}  // namespace tollgate::app
