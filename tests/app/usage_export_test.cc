// Usage export to a real ClickHouse server started for this test process,
// through the sink app/ builds from an export_to URL.
#include "app/usage_export.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "support/clickhouse_server.h"
#include "support/temp_dir.h"
#include "usage/export/clickhouse_sink.h"
#include "usage/export/exporter.h"
#include "usage/sample_record.h"
#include "usage/sqlite/sqlite_usage_outbox.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::app {
namespace {

using usage::DayTotal;
using usage::sample_record;
constexpr std::int64_t kDay = usage::kMsPerDay;

class ClickHouseExportTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        std::string error;
        server_ = testing::ClickHouseServer::start(&error).release();
        ASSERT_NE(server_, nullptr) << error;
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override { ASSERT_NE(server_, nullptr); }
    // A sink on a database of the test's own, so tests share no rows.
    std::unique_ptr<usage::RemoteSink> make_sink(const std::string& database) {
        return make_usage_sink(server_->url(database)).value();
    }

    // One statement run in `database` over the HTTP interface (curl); the
    // answer, or "<failed>" when the server refused it.
    static std::string clickhouse(const std::string& database, const std::string& sql) {
        testing::TempDir dir;
        std::ofstream(dir.file("query.sql")) << sql;
        const std::string cmd = "curl -sf --data-binary @" + dir.file("query.sql") +
                                " 'http://127.0.0.1:" + std::to_string(server_->http_port()) +
                                "/?database=" + database + "'";
        FILE* pipe = ::popen(cmd.c_str(), "r");
        if (pipe == nullptr) return "<failed>";
        std::string out;
        char buffer[256];
        while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
        return ::pclose(pipe) == 0 ? out : "<failed>";
    }

    static testing::ClickHouseServer* server_;
};

testing::ClickHouseServer* ClickHouseExportTest::server_ = nullptr;

TEST_F(ClickHouseExportTest, CreatesItsTableAndTotalsPerAccountAndDay) {
    auto sink = make_sink("totals");
    auto prepared = sink->prepare();
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    ASSERT_TRUE(sink->prepare().ok());  // everything exists: nothing to do
    usage::UsageRecord failed = sample_record("job_4", 0, "acct_b", 3 * kDay + 5);
    failed.outcome = "failed";
    failed.failure_reason = "worker said \"no\"\n\ttab\\slash \x01 ünïcode";
    ASSERT_TRUE(sink->ship({sample_record("job_1", 10, "acct_a", 2 * kDay + 1),
                            sample_record("job_2", 15, "acct_a", 2 * kDay + 7),
                            sample_record("job_3", 12, "acct_a", 3 * kDay), failed})
                    .ok());
    auto totals = sink->day_totals(0, 10 * kDay);
    ASSERT_TRUE(totals.ok()) << totals.error().message;
    ASSERT_EQ(totals->size(), 3u);
    EXPECT_EQ((*totals)[0], (DayTotal{"acct_a", 2, 25, 2}));
    EXPECT_EQ((*totals)[1], (DayTotal{"acct_a", 3, 12, 1}));
    EXPECT_EQ((*totals)[2], (DayTotal{"acct_b", 3, 0, 1}));
    auto day_two = sink->day_totals(2 * kDay, 3 * kDay).value();
    ASSERT_EQ(day_two.size(), 1u);
    EXPECT_EQ(day_two[0].tokens, 25);
}

TEST_F(ClickHouseExportTest, AReplayedBatchCountsOnce) {
    auto sink = make_sink("replay");
    ASSERT_TRUE(sink->prepare().ok());
    std::vector<usage::UsageRecord> batch;
    for (int i = 0; i < 300; ++i) {
        batch.push_back(sample_record("job_" + std::to_string(i), 2, "acct_a", kDay + i));
    }
    ASSERT_TRUE(sink->ship(batch).ok());
    ASSERT_TRUE(sink->ship(batch).ok());
    batch.push_back(sample_record("job_new", 5, "acct_a", kDay));
    ASSERT_TRUE(sink->ship(batch).ok());
    auto totals = sink->day_totals(0, 10 * kDay).value();
    ASSERT_EQ(totals.size(), 1u);
    EXPECT_EQ(totals[0], (DayTotal{"acct_a", 1, 605, 301}));
}

TEST_F(ClickHouseExportTest, TextThatIsNotUtf8IsStoredRatherThanRefused) {
    auto sink = make_sink("bytes");
    ASSERT_TRUE(sink->prepare().ok());
    usage::UsageRecord r = sample_record("job_1", 3, "acct_a", kDay);
    r.failure_reason = std::string("bad \xff\xfe bytes and a \0 NUL", 24);
    // Refused, the record would block every later one in the outbox.
    auto shipped = sink->ship({r});
    ASSERT_TRUE(shipped.ok()) << shipped.error().message;
    EXPECT_EQ(sink->day_totals(0, 10 * kDay).value().at(0).tokens, 3);
}

TEST_F(ClickHouseExportTest, ShipsTheMeterFigures) {
    auto sink = make_sink("meter");
    ASSERT_TRUE(sink->prepare().ok());
    usage::UsageRecord unmeasured = sample_record("job_2", 3, "acct_a", kDay);
    unmeasured.meter_wall_ms = -1;
    unmeasured.meter_gpu_peak_bytes = -1;
    ASSERT_TRUE(sink->ship({sample_record("job_1", 3, "acct_a", kDay), unmeasured}).ok());
    EXPECT_EQ(clickhouse("meter",
                         "SELECT job_id, meter_wall_ms, meter_gpu_peak_bytes FROM tollgate_usage "
                         "FINAL ORDER BY job_id FORMAT TabSeparated"),
              "job_1\t1100\t3221225472\njob_2\t-1\t-1\n");
}

TEST_F(ClickHouseExportTest, ATableOfTheVersionBeforeTheMeterGainsItsColumns) {
    // tollgate_usage as the version before the meter fields created it, with a
    // row it shipped (the row as it was: without the meter's keys).
    ASSERT_EQ(clickhouse("default", "CREATE DATABASE before_meter"), "");
    ASSERT_EQ(clickhouse("before_meter",
                         "CREATE TABLE tollgate_usage (job_id String, account_id String, "
                         "workflow String, width Int64, height Int64, tokens Int64, "
                         "quoted_tokens Int64, book_version String, md5 String, sha256 String, "
                         "worker String, queue_wait_ms Int64, execution_ms Int64, outcome String, "
                         "failure_reason String, finished_ms Int64, vram_peak_bytes Int64, "
                         "attempts Int64, dedupe_kind String, dedupe_of String, dedupe_distance "
                         "Int64, day Date) ENGINE = ReplacingMergeTree() PARTITION BY "
                         "toYYYYMM(day) ORDER BY job_id"),
              "");
    std::string old_row = usage::clickhouse_row(sample_record("job_old", 7, "acct_a", kDay + 1));
    const std::size_t from = old_row.find(",\"meter_wall_ms\"");
    old_row.erase(from, old_row.find(",\"day\"") - from);
    ASSERT_EQ(old_row.find("meter"), std::string::npos) << old_row;
    ASSERT_EQ(
        clickhouse("before_meter", "INSERT INTO tollgate_usage FORMAT JSONEachRow\n" + old_row),
        "");

    auto sink = make_sink("before_meter");
    auto prepared = sink->prepare();
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    ASSERT_TRUE(make_sink("before_meter")->prepare().ok());  // the columns are there
    // The old row reads as not measured; a new one carries its figures.
    ASSERT_TRUE(sink->ship({sample_record("job_new", 5, "acct_a", kDay + 2)}).ok());
    EXPECT_EQ(clickhouse("before_meter",
                         "SELECT job_id, meter_wall_ms, meter_gpu_peak_bytes FROM tollgate_usage "
                         "FINAL ORDER BY job_id FORMAT TabSeparated"),
              "job_new\t1100\t3221225472\njob_old\t-1\t-1\n");
    EXPECT_EQ(sink->day_totals(0, 10 * kDay).value(),
              (std::vector<DayTotal>{{"acct_a", 1, 12, 2}}));
    // The migrated table has the columns of a new one, in the same order.
    ASSERT_TRUE(make_sink("after_meter")->prepare().ok());
    const std::string columns =
        "SELECT name, type, default_expression FROM system.columns WHERE database = "
        "currentDatabase() AND table = 'tollgate_usage' FORMAT TabSeparated";
    EXPECT_EQ(clickhouse("before_meter", columns), clickhouse("after_meter", columns));
    // Each with its default, which 18.16 keeps as CAST(-1, 'Int64'), and before `day`.
    const std::string fresh = clickhouse("after_meter", columns);
    EXPECT_NE(fresh.find("\ndedupe_distance\tInt64\t\nmeter_wall_ms\tInt64\tCAST(-1, "),
              std::string::npos)
        << fresh;
    EXPECT_NE(fresh.find("\nmeter_gpu_peak_bytes\tInt64\tCAST(-1, \\'Int64\\')\nday\tDate\t\n"),
              std::string::npos)
        << fresh;
}

TEST_F(ClickHouseExportTest, AServerThatRefusesIsASinkErrorWithItsMessage) {
    auto sink = make_sink("refuses");
    // No prepare(): the table does not exist, and the server says so.
    auto shipped = sink->ship({sample_record("job_1", 1)});
    ASSERT_FALSE(shipped.ok());
    EXPECT_EQ(shipped.error().code, "sink_error");
    EXPECT_NE(shipped.error().message.find("HTTP"), std::string::npos);
}

TEST_F(ClickHouseExportTest, TheExporterKeepsRecordsWhileTheServerIsDownAndShipsThemOnce) {
    testing::TempDir dir;
    auto db = store::Database::open(dir.file("u.db")).value();
    auto local = usage::SqliteUsageSink::open(*db).value();
    auto outbox = usage::SqliteUsageOutbox::open(*db).value();
    std::vector<std::unique_ptr<usage::RemoteSink>> sinks;
    sinks.push_back(make_sink("outage"));
    usage::ExporterOptions options;
    options.batch_max = 7;
    usage::Exporter exporter(*outbox, std::move(sinks), options);
    const std::string name = exporter.stats()[0].sink;
    auto write = [&](int from, int to) {
        for (int i = from; i < to; ++i) {
            ASSERT_TRUE(
                local->write(sample_record("job_" + std::to_string(i), 3, "acct_a", kDay)).ok());
        }
    };
    write(0, 20);
    auto first = exporter.export_pending(0);
    ASSERT_TRUE(first.ok()) << first.error().message;
    ASSERT_EQ(*first, 20);

    ASSERT_TRUE(server_->stop());
    write(20, 30);
    auto down = exporter.export_pending(0);
    ASSERT_FALSE(down.ok());
    EXPECT_EQ(down.error().code, "sink_unavailable");
    EXPECT_EQ(outbox->pending(name).value(), 10);

    ASSERT_TRUE(server_->start_server());
    ASSERT_TRUE(db->exec("UPDATE usage_export_cursors SET last_seq = 15").ok());  // a replay too
    auto again = exporter.export_pending(0);
    ASSERT_TRUE(again.ok()) << again.error().message;
    ASSERT_EQ(*again, 15);
    EXPECT_EQ(outbox->pending(name).value(), 0);
    auto totals = make_sink("outage")->day_totals(0, 10 * kDay).value();
    ASSERT_EQ(totals.size(), 1u);
    EXPECT_EQ(totals[0], (DayTotal{"acct_a", 1, 90, 30}));
}

}  // namespace
}  // namespace tollgate::app
