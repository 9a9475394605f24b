// Usage export to a real ClickHouse server started for this test process,
// through the sink app/ builds from an export_to URL.
#include "app/usage_export.h"

#include <gtest/gtest.h>

#include "support/clickhouse_server.h"
#include "support/temp_dir.h"
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
