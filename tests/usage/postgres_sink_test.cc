// The PostgreSQL sink against a real server started for this test process.
#include "usage/export/postgres_sink.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "usage/export/exporter.h"
#include "usage/sample_record.h"
#include "usage/sqlite/sqlite_usage_outbox.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::usage {
namespace {

constexpr std::int64_t kDay = kMsPerDay;

class PostgresSinkTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        std::string error;
        server_ = testing::PostgresServer::start(&error).release();
        ASSERT_NE(server_, nullptr) << error;
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override { ASSERT_NE(server_, nullptr); }
    std::unique_ptr<PostgresSink> make_sink() {
        return std::make_unique<PostgresSink>(parse_sink_url(server_->url()).value());
    }
    // Every test starts from an empty table.
    void empty_table() {
        auto sink = make_sink();
        ASSERT_TRUE(sink->prepare().ok());
        psql("TRUNCATE tollgate_usage");
    }
    static void psql(const std::string& sql) {
        std::string cmd = "psql -q -h 127.0.0.1 -p " + std::to_string(server_->port()) +
                          " -U tollgate -d postgres -c \"" + sql + "\" >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << sql;
    }
    // The answer to one query, unaligned: the columns of each row joined by
    // '|', the rows by '\n'; "" when psql fails.
    static std::string psql_answer(const std::string& sql) {
        std::string cmd = "psql -qAt -h 127.0.0.1 -p " + std::to_string(server_->port()) +
                          " -U tollgate -d postgres -c \"" + sql + "\"";
        FILE* pipe = ::popen(cmd.c_str(), "r");
        if (pipe == nullptr) return "";
        std::string out;
        char buffer[256];
        while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
        if (::pclose(pipe) != 0) return "";
        while (!out.empty() && out.back() == '\n') out.pop_back();
        return out;
    }

    static testing::PostgresServer* server_;
};

testing::PostgresServer* PostgresSinkTest::server_ = nullptr;

TEST_F(PostgresSinkTest, CreatesItsTableAndTotalsPerAccountAndDay) {
    empty_table();
    auto sink = make_sink();
    ASSERT_TRUE(sink->prepare().ok());
    ASSERT_TRUE(sink->prepare().ok());  // the table exists: nothing to do
    UsageRecord failed = sample_record("job_4", 0, "acct_b", 3 * kDay + 5);
    failed.outcome = "failed";
    failed.failure_reason = "worker: it's \"broken\"; DROP TABLE x; --";
    ASSERT_TRUE(sink->ship({sample_record("job_1", 10, "acct_a", 2 * kDay + 1),
                            sample_record("job_2", 15, "acct_a", 2 * kDay + 7),
                            sample_record("job_3", 12, "acct_a", 3 * kDay), failed})
                    .ok());
    auto totals = sink->day_totals(0, 10 * kDay).value();
    ASSERT_EQ(totals.size(), 3u);
    EXPECT_EQ(totals[0], (DayTotal{"acct_a", 2, 25, 2}));
    EXPECT_EQ(totals[1], (DayTotal{"acct_a", 3, 12, 1}));
    EXPECT_EQ(totals[2], (DayTotal{"acct_b", 3, 0, 1}));
    // The window is half open: from <= finished_ms < to.
    auto day_two = sink->day_totals(2 * kDay, 3 * kDay).value();
    ASSERT_EQ(day_two.size(), 1u);
    EXPECT_EQ(day_two[0].tokens, 25);
}

TEST_F(PostgresSinkTest, AReplayedBatchCountsOnce) {
    empty_table();
    auto sink = make_sink();
    std::vector<UsageRecord> batch;
    for (int i = 0; i < 300; ++i) {
        batch.push_back(sample_record("job_" + std::to_string(i), 2, "acct_a", kDay + i));
    }
    ASSERT_TRUE(sink->ship(batch).ok());
    ASSERT_TRUE(sink->ship(batch).ok());
    batch.push_back(sample_record("job_new", 5, "acct_a", kDay));
    ASSERT_TRUE(sink->ship(batch).ok());  // overlapping: only the new one lands
    auto totals = sink->day_totals(0, 10 * kDay).value();
    ASSERT_EQ(totals.size(), 1u);
    EXPECT_EQ(totals[0], (DayTotal{"acct_a", 1, 605, 301}));
}

TEST_F(PostgresSinkTest, ABatchLargerThanOneStatementLandsWhole) {
    empty_table();
    auto sink = make_sink();
    std::vector<UsageRecord> batch;
    for (int i = 0; i < 5000; ++i) {  // the largest export_batch_max: two statements
        batch.push_back(sample_record("job_" + std::to_string(i), 1, "acct_a", kDay));
    }
    ASSERT_TRUE(sink->ship(batch).ok());
    auto totals = sink->day_totals(0, 10 * kDay).value();
    ASSERT_EQ(totals.size(), 1u);
    EXPECT_EQ(totals[0], (DayTotal{"acct_a", 1, 5000, 5000}));
    // A batch whose second statement the server refuses leaves none of its rows.
    psql("ALTER TABLE tollgate_usage ADD CONSTRAINT refuse CHECK (account_id <> 'acct_refused')");
    std::vector<UsageRecord> bad;
    for (int i = 0; i < 4000; ++i) {
        bad.push_back(sample_record("job_bad_" + std::to_string(i), 1, "acct_b", kDay));
    }
    bad.back().account_id = "acct_refused";
    auto refused = sink->ship(bad);
    psql("ALTER TABLE tollgate_usage DROP CONSTRAINT refuse");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, "sink_error");
    EXPECT_EQ(make_sink()->day_totals(0, 10 * kDay).value().size(), 1u);
}

TEST_F(PostgresSinkTest, TextThatIsNotUtf8IsStoredWithReplacementsRatherThanRefused) {
    empty_table();
    auto sink = make_sink();
    UsageRecord r = sample_record("job_1", 3, "acct_a", kDay);
    r.failure_reason = std::string("bad \xff\xfe bytes and a \0 NUL", 24);
    // Refused, the record would block every later one in the outbox.
    ASSERT_TRUE(sink->ship({r}).ok());
    EXPECT_EQ(sink->day_totals(0, 10 * kDay).value().at(0).tokens, 3);
}

TEST_F(PostgresSinkTest, ShipsTheMeterFigures) {
    empty_table();
    auto sink = make_sink();
    UsageRecord unmeasured = sample_record("job_2", 3, "acct_a", kDay);
    unmeasured.meter_wall_ms = -1;
    unmeasured.meter_gpu_peak_bytes = -1;
    ASSERT_TRUE(sink->ship({sample_record("job_1", 3, "acct_a", kDay), unmeasured}).ok());
    EXPECT_EQ(psql_answer("SELECT job_id, meter_wall_ms, meter_gpu_peak_bytes FROM "
                          "tollgate_usage ORDER BY job_id"),
              "job_1|1100|3221225472\njob_2|-1|-1");
}

TEST_F(PostgresSinkTest, ATableOfTheVersionBeforeTheMeterGainsItsColumns) {
    // tollgate_usage as the version before the meter fields created it, with a row.
    psql("DROP TABLE IF EXISTS tollgate_usage");
    psql(
        "CREATE TABLE tollgate_usage (job_id text PRIMARY KEY, account_id text NOT NULL, "
        "workflow text NOT NULL, width bigint NOT NULL, height bigint NOT NULL, tokens bigint "
        "NOT NULL, quoted_tokens bigint NOT NULL, book_version text NOT NULL, md5 text NOT "
        "NULL, sha256 text NOT NULL, worker text NOT NULL, queue_wait_ms bigint NOT NULL, "
        "execution_ms bigint NOT NULL, outcome text NOT NULL, failure_reason text NOT NULL, "
        "finished_ms bigint NOT NULL, vram_peak_bytes bigint NOT NULL, attempts bigint NOT "
        "NULL, dedupe_kind text NOT NULL, dedupe_of text NOT NULL, dedupe_distance bigint NOT "
        "NULL); CREATE INDEX tollgate_usage_by_account ON tollgate_usage (account_id, "
        "finished_ms)");
    psql(
        "INSERT INTO tollgate_usage VALUES ('job_old', 'acct_a', 'person', 800, 600, 7, 7, "
        "'v1', 'md5', 'sha', 'http://w', 3, 1200, 'succeeded', '', 86400001, 0, 1, '', '', 0)");
    auto sink = make_sink();
    auto prepared = sink->prepare();
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    ASSERT_TRUE(make_sink()->prepare().ok());  // the columns are there: nothing to do
    // The old row reads as not measured; a new one carries its figures.
    EXPECT_EQ(psql_answer("SELECT meter_wall_ms, meter_gpu_peak_bytes FROM tollgate_usage "
                          "WHERE job_id = 'job_old'"),
              "-1|-1");
    ASSERT_TRUE(sink->ship({sample_record("job_new", 5, "acct_a", kDay + 2)}).ok());
    EXPECT_EQ(psql_answer("SELECT meter_wall_ms, meter_gpu_peak_bytes FROM tollgate_usage "
                          "WHERE job_id = 'job_new'"),
              "1100|3221225472");
    // A gateway of the earlier version, still shipping during an upgrade,
    // names only the columns it knows: its rows read as not measured too.
    psql(
        "INSERT INTO tollgate_usage (job_id, account_id, workflow, width, height, tokens, "
        "quoted_tokens, book_version, md5, sha256, worker, queue_wait_ms, execution_ms, "
        "outcome, failure_reason, finished_ms, vram_peak_bytes, attempts, dedupe_kind, "
        "dedupe_of, dedupe_distance) VALUES ('job_older_writer', 'acct_a', 'person', 1, 1, 1, "
        "1, 'v1', 'm', 's', 'w', 0, 0, 'succeeded', '', 86400003, 0, 1, '', '', 0)");
    EXPECT_EQ(psql_answer("SELECT meter_wall_ms, meter_gpu_peak_bytes FROM tollgate_usage "
                          "WHERE job_id = 'job_older_writer'"),
              "-1|-1");
    EXPECT_EQ(sink->day_totals(0, 10 * kDay).value(),
              (std::vector<DayTotal>{{"acct_a", 1, 13, 3}}));
}

TEST_F(PostgresSinkTest, NothingListeningIsSinkUnavailable) {
    auto sink = std::make_unique<PostgresSink>(
        parse_sink_url("postgresql://tollgate@127.0.0.1:1/postgres").value());
    auto s = sink->prepare();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "sink_unavailable");
    auto shipped = sink->ship({sample_record("job_1", 1)});
    ASSERT_FALSE(shipped.ok());
    EXPECT_EQ(shipped.error().code, "sink_unavailable");
}

TEST_F(PostgresSinkTest, TheExporterKeepsRecordsWhileTheServerIsDownAndShipsThemOnce) {
    empty_table();
    testing::TempDir dir;
    auto db = store::Database::open(dir.file("u.db")).value();
    auto local = SqliteUsageSink::open(*db).value();
    auto outbox = SqliteUsageOutbox::open(*db).value();
    std::vector<std::unique_ptr<RemoteSink>> sinks;
    sinks.push_back(make_sink());
    ExporterOptions options;
    options.batch_max = 7;
    Exporter exporter(*outbox, std::move(sinks), options);
    const std::string name = exporter.stats()[0].sink;

    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(
            local->write(sample_record("job_" + std::to_string(i), 3, "acct_a", kDay)).ok());
    }
    ASSERT_EQ(exporter.export_pending(0).value(), 20);

    ASSERT_TRUE(server_->stop());
    for (int i = 20; i < 30; ++i) {
        ASSERT_TRUE(
            local->write(sample_record("job_" + std::to_string(i), 3, "acct_a", kDay)).ok());
    }
    auto down = exporter.export_pending(0);
    ASSERT_FALSE(down.ok());
    EXPECT_EQ(down.error().code, "sink_unavailable");
    EXPECT_EQ(outbox->pending(name).value(), 10);

    ASSERT_TRUE(server_->start_server());
    // A replay from an older cursor as well: still no duplicate.
    ASSERT_TRUE(db->exec("UPDATE usage_export_cursors SET last_seq = 15").ok());
    ASSERT_EQ(exporter.export_pending(0).value(), 15);
    EXPECT_EQ(outbox->pending(name).value(), 0);
    auto sink = make_sink();
    auto totals = sink->day_totals(0, 10 * kDay).value();
    ASSERT_EQ(totals.size(), 1u);
    EXPECT_EQ(totals[0], (DayTotal{"acct_a", 1, 90, 30}));
}

}  // namespace
}  // namespace tollgate::usage
