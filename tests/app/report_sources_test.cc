// The reports (usage/reports.h) from every usage store: a generated history
// of jobs is charged through a real SQLite ledger, its usage records written
// to the embedded file and shipped to a real PostgreSQL and a real ClickHouse
// (twice, as a replayed export would), and each store's reports must equal
// the figures computed here from the records, and the ledger's captures.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "app/report_source.h"
#include "app/usage_export.h"
#include "core/clock.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "support/clickhouse_server.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "usage/insight/forecast.h"
#include "usage/sample_record.h"
#include "usage/sqlite/sqlite_reports.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::app {
namespace {

using usage::kMsPerHour;

constexpr std::int64_t kStartMs = 1'795'996'800'000;  // Monday 2026-11-30 00:00 UTC
constexpr int kAccounts = 9;
constexpr int kJobs = 700;
constexpr std::int64_t kSpanMs = 10 * 24 * kMsPerHour;

// What the reports must say, computed from the records one by one.
struct Expected {
    std::map<std::pair<std::string, std::int64_t>, usage::HourCell> cells;
    std::map<std::pair<std::string, std::size_t>, std::int64_t> waits;
    std::map<std::string, usage::AccountTotal> accounts;
    std::map<std::string, std::vector<usage::UsageRecord>> ran;  // by workflow, newest first
};

class ReportSourcesTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        std::string error;
        postgres_ = testing::PostgresServer::start(&error).release();
        ASSERT_NE(postgres_, nullptr) << error;
        clickhouse_ = testing::ClickHouseServer::start(&error).release();
        ASSERT_NE(clickhouse_, nullptr) << error;
    }
    static void TearDownTestSuite() {
        delete postgres_;
        delete clickhouse_;
        postgres_ = nullptr;
        clickhouse_ = nullptr;
    }

    void SetUp() override {
        ASSERT_NE(postgres_, nullptr);
        ASSERT_NE(clickhouse_, nullptr);
        db_ = store::Database::open(dir_.file("tollgate.db")).value();
        ledger_ = ledger::SqliteLedger::open(*db_, clock_).value();
        sink_ = usage::SqliteUsageSink::open(*db_).value();
    }

    // Charges kJobs generated jobs through the ledger and records each.
    void generate() {
        std::mt19937_64 rng(20261130);
        std::vector<std::string> accounts;
        for (int i = 0; i < kAccounts; ++i) {
            accounts.push_back(ledger_->create_account("a" + std::to_string(i)).value());
            ASSERT_TRUE(ledger_->grant(accounts.back(), core::Tokens(10'000'000), "t").ok());
        }
        std::vector<std::int64_t> finished;
        for (int i = 0; i < kJobs; ++i) {
            finished.push_back(kStartMs + static_cast<std::int64_t>(rng() % kSpanMs));
        }
        std::sort(finished.begin(), finished.end());
        for (int i = 0; i < kJobs; ++i) {
            usage::UsageRecord r = usage::sample_record(
                "job_" + std::to_string(i), 0, accounts[rng() % (i % 3 == 0 ? 2 : kAccounts)],
                finished[static_cast<std::size_t>(i)]);
            r.workflow = rng() % 3 == 0 ? "building" : "person";
            r.width = 256 + static_cast<std::int64_t>(rng() % 3840);
            r.height = 256 + static_cast<std::int64_t>(rng() % 3840);
            r.quoted_tokens =
                (r.workflow == "person" ? 10 : 15) + 2 * r.width * r.height / 1'000'000;
            // Waits across every bucket, some on an edge exactly.
            r.queue_wait_ms = i % 17 == 0 ? usage::kQueueWaitEdgesMs[rng() % 16]
                                          : static_cast<std::int64_t>(rng() % (1u << (rng() % 21)));
            r.execution_ms =
                700 + r.width * r.height / 5'000 + static_cast<std::int64_t>(rng() % 300);
            // Half the jobs ran a graph with the reporting node.
            if (i % 2 == 1)
                r.meter_wall_ms = r.execution_ms - static_cast<std::int64_t>(rng() % 200);
            const int kind = static_cast<int>(rng() % 20);
            clock_.set_ms(r.finished_ms);
            if (kind == 0) {  // an exact duplicate: nothing held, nothing ran
                r.dedupe_kind = "exact";
                r.dedupe_of = "job_0";
                r.execution_ms = 0;
                r.meter_wall_ms = -1;
            } else {
                ASSERT_EQ(ledger_->reserve(r.account_id, core::Tokens(r.quoted_tokens), r.job_id)
                              .value()
                              .outcome,
                          ledger::ReserveOutcome::Held);
                if (kind <= 2) {
                    r.outcome = "failed";
                    r.failure_reason = "execution_failed: boom";
                    ASSERT_TRUE(ledger_->void_hold(r.job_id, r.failure_reason).ok());
                } else {
                    r.tokens = r.quoted_tokens;
                    ASSERT_TRUE(ledger_->capture(r.job_id, std::nullopt).ok());
                }
            }
            ASSERT_TRUE(sink_->write(r).ok());
            records_.push_back(r);
        }
    }

    Expected expected(const usage::ReportRange& range) const {
        Expected e;
        for (const usage::UsageRecord& r : records_) {
            if (r.finished_ms < range.from_ms || r.finished_ms >= range.to_ms) continue;
            const std::int64_t hour = r.finished_ms / kMsPerHour;
            usage::HourCell& c = e.cells[{r.workflow, hour}];
            c.workflow = r.workflow;
            c.hour = hour;
            ++c.jobs;
            c.failures += r.outcome == "failed";
            c.duplicates += !r.dedupe_kind.empty();
            c.tokens += r.tokens;
            c.execution_ms += r.execution_ms;
            c.queue_wait_ms += r.queue_wait_ms;
            ++e.waits[{r.workflow, usage::queue_wait_bucket(r.queue_wait_ms)}];
            usage::AccountTotal& a = e.accounts[r.account_id];
            a.account_id = r.account_id;
            ++a.jobs;
            a.tokens += r.tokens;
            a.execution_ms += r.execution_ms;
            if (r.outcome == "succeeded" && r.dedupe_kind.empty()) e.ran[r.workflow].push_back(r);
        }
        for (auto& [workflow, list] : e.ran) std::reverse(list.begin(), list.end());
        return e;
    }

    // Every report of `source` against the figures of the records.
    void expect_reports(usage::UsageReportSource& source, const std::string& name,
                        const usage::ReportRange& range) {
        SCOPED_TRACE(name);
        const Expected e = expected(range);
        auto cells = source.hourly(range);
        ASSERT_TRUE(cells.ok()) << cells.error().message;
        std::vector<usage::HourCell> want;
        for (const auto& [key, c] : e.cells) want.push_back(c);
        EXPECT_EQ(*cells, want);

        auto waits = source.queue_waits(range);
        ASSERT_TRUE(waits.ok()) << waits.error().message;
        std::vector<usage::WaitBucket> want_waits;
        for (const auto& [key, n] : e.waits) want_waits.push_back({key.first, key.second, n});
        EXPECT_EQ(*waits, want_waits);

        auto top = source.top_accounts(range, 4);
        ASSERT_TRUE(top.ok()) << top.error().message;
        std::vector<usage::AccountTotal> ranked;
        for (const auto& [id, a] : e.accounts) ranked.push_back(a);
        std::sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) {
            if (x.tokens != y.tokens) return x.tokens > y.tokens;
            if (x.jobs != y.jobs) return x.jobs > y.jobs;
            return x.account_id < y.account_id;
        });
        ranked.resize(std::min<std::size_t>(ranked.size(), 4));
        EXPECT_EQ(*top, ranked);

        for (const std::string workflow : {"person", "building"}) {
            auto samples = source.executions(workflow, range, 50);
            ASSERT_TRUE(samples.ok()) << samples.error().message;
            std::vector<usage::ExecutionSample> want_samples;
            for (const usage::UsageRecord& r : e.ran.at(workflow)) {
                if (want_samples.size() == 50) break;
                want_samples.push_back({r.width, r.height, r.execution_ms, r.account_id,
                                        r.finished_ms, r.meter_wall_ms});
            }
            EXPECT_EQ(*samples, want_samples) << workflow;
        }
    }

    std::vector<usage::UsageRecord> records_;
    testing::TempDir dir_;
    core::ManualClock clock_{kStartMs};
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<ledger::SqliteLedger> ledger_;
    std::unique_ptr<usage::SqliteUsageSink> sink_;
    static testing::PostgresServer* postgres_;
    static testing::ClickHouseServer* clickhouse_;
};

testing::PostgresServer* ReportSourcesTest::postgres_ = nullptr;
testing::ClickHouseServer* ReportSourcesTest::clickhouse_ = nullptr;

TEST_F(ReportSourcesTest, EveryStoreReportsTheFiguresOfTheRecordsAndTheLedger) {
    ASSERT_NO_FATAL_FAILURE(generate());
    // The tokens the reports count are the tokens the ledger captured.
    auto reader_store = open_report_store(StoreLocation::embedded(dir_.path().string()), {});
    ASSERT_TRUE(reader_store.ok()) << reader_store.error().message;
    ASSERT_TRUE(reader_store->source);
    const usage::ReportRange all{kStartMs, kStartMs + kSpanMs};
    auto top = reader_store->source->top_accounts(all, usage::kTopAccountsMax);
    ASSERT_TRUE(top.ok());
    ASSERT_EQ(top->size(), static_cast<std::size_t>(kAccounts));
    std::int64_t captured_total = 0;
    for (const usage::AccountTotal& a : *top) {
        const ledger::Balance b = ledger_->balance(a.account_id).value();
        EXPECT_EQ(a.tokens, b.captured.value) << a.account_id;
        EXPECT_EQ(b.held.value, 0);
        captured_total += b.captured.value;
    }
    auto cells = reader_store->source->hourly(all);
    ASSERT_TRUE(cells.ok());
    EXPECT_EQ(usage::overall_totals(*cells, {}).tokens, captured_total);
    EXPECT_GT(captured_total, 0);

    // The same records in PostgreSQL and ClickHouse, shipped twice.
    std::vector<std::unique_ptr<usage::RemoteSink>> remotes;
    remotes.push_back(make_usage_sink(postgres_->url()).value());
    remotes.push_back(make_usage_sink(clickhouse_->url("reports")).value());
    for (auto& remote : remotes) {
        ASSERT_TRUE(remote->prepare().ok()) << remote->name();
        for (int pass = 0; pass < 2; ++pass) {
            for (std::size_t i = 0; i < records_.size(); i += 250) {
                std::vector<usage::UsageRecord> batch(
                    records_.begin() + static_cast<std::ptrdiff_t>(i),
                    records_.begin() +
                        static_cast<std::ptrdiff_t>(std::min(records_.size(), i + 250)));
                ASSERT_TRUE(remote->ship(batch).ok()) << remote->name();
            }
        }
    }
    // The whole range and a part of it cut mid-hour.
    for (const usage::ReportRange range :
         {all,
          usage::ReportRange{kStartMs + 30 * kMsPerHour + 1234, kStartMs + 100 * kMsPerHour}}) {
        expect_reports(*reader_store->source, "sqlite", range);
        for (auto& remote : remotes) {
            auto source = remote->reports();
            ASSERT_TRUE(source);
            expect_reports(*source, remote->name(), range);
        }
    }
}

TEST_F(ReportSourcesTest, ARangeOrWorkflowNameThatCannotBeAskedIsRefused) {
    auto source = usage::sqlite_report_source(*db_);
    EXPECT_EQ(source->hourly({10, 10}).error().code, "invalid_range");
    EXPECT_EQ(source->hourly({-1, 10}).error().code, "invalid_range");
    EXPECT_EQ(source->queue_waits({0, usage::kReportSpanMsMax + 1}).error().code, "invalid_range");
    EXPECT_EQ(source->executions("person' OR 1=1 --", {0, 10}, 5).error().code, "unknown_workflow");
    EXPECT_EQ(source->executions("", {0, 10}, 5).error().code, "unknown_workflow");
    EXPECT_TRUE(source->executions("person", {0, 10}, 5).ok());
}

TEST_F(ReportSourcesTest, AStoreWithoutAnswersForReportsGivesNone) {
    auto none = open_report_store(StoreLocation::redis("redis://127.0.0.1:1", "tg:"), {});
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->source);
    auto missing = open_report_store(StoreLocation::embedded(dir_.file("nowhere")), {});
    EXPECT_FALSE(missing.ok());
}

}  // namespace
}  // namespace tollgate::app
