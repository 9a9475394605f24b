#include "usage/sqlite/sqlite_usage_sink.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "support/temp_dir.h"
#include "usage/sample_record.h"

namespace tollgate::usage {
namespace {

UsageRecord sample(const std::string& job_id, std::int64_t tokens) {
    return sample_record(job_id, tokens);
}

TEST(SqliteUsageSinkTest, WritesOneRecordPerJobIdempotently) {
    testing::TempDir dir;
    auto db = store::Database::open(dir.file("u.db")).value();
    auto sink = SqliteUsageSink::open(*db).value();
    ASSERT_TRUE(sink->write(sample("job_1", 10)).ok());
    ASSERT_TRUE(sink->write(sample("job_1", 99)).ok());  // replay: ignored
    auto got = sink->find("job_1").value();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->tokens, 10);
    EXPECT_EQ(got->execution_ms, 1200);
    EXPECT_EQ(got->md5_hex, "md5");
    EXPECT_EQ(sink->for_account("acct_1").value().size(), 1u);
    EXPECT_FALSE(sink->find("job_2").value().has_value());
}

TEST(SqliteUsageSinkTest, SumsExecutionTimeSinceAnInstant) {
    testing::TempDir dir;
    auto db = store::Database::open(dir.file("u.db")).value();
    auto sink = SqliteUsageSink::open(*db).value();
    UsageRecord early = sample("job_1", 10);
    early.finished_ms = 1000;
    early.execution_ms = 500;
    UsageRecord late = sample("job_2", 10);
    late.finished_ms = 2000;
    late.execution_ms = 700;
    UsageRecord other = sample("job_3", 10);
    other.account_id = "acct_2";
    other.finished_ms = 2000;
    ASSERT_TRUE(sink->write(early).ok());
    ASSERT_TRUE(sink->write(late).ok());
    ASSERT_TRUE(sink->write(other).ok());
    EXPECT_EQ(sink->execution_ms_since("acct_1", 0).value(), 1200);
    EXPECT_EQ(sink->execution_ms_since("acct_1", 1000).value(), 1200);
    EXPECT_EQ(sink->execution_ms_since("acct_1", 1001).value(), 700);
    EXPECT_EQ(sink->execution_ms_since("acct_1", 2001).value(), 0);
}

TEST(SqliteUsageSinkTest, RejectsUnknownOutcome) {
    testing::TempDir dir;
    auto db = store::Database::open(dir.file("u.db")).value();
    auto sink = SqliteUsageSink::open(*db).value();
    UsageRecord r = sample("job_1", 10);
    r.outcome = "maybe";
    EXPECT_FALSE(sink->write(r).ok());
    EXPECT_FALSE(sink->find("job_1").value().has_value());
}

TEST(SqliteUsageSinkTest, KeepsTheDedupeOutcome) {
    testing::TempDir dir;
    auto db = store::Database::open(dir.file("u.db")).value();
    auto sink = SqliteUsageSink::open(*db).value();
    UsageRecord r = sample("job_2", 0);
    r.dedupe_kind = "near";
    r.dedupe_of = "job_1";
    r.dedupe_distance = 4;
    ASSERT_TRUE(sink->write(r).ok());
    auto got = sink->find("job_2").value().value();
    EXPECT_EQ(got.dedupe_kind, "near");
    EXPECT_EQ(got.dedupe_of, "job_1");
    EXPECT_EQ(got.dedupe_distance, 4);
    EXPECT_EQ(sink->find("job_2").value()->md5_hex, "md5");  // kept for the record
    r.job_id = "job_3";
    r.dedupe_kind = "similar";
    EXPECT_FALSE(sink->write(r).ok());
}

TEST(SqliteUsageSinkTest, AFileFromBeforeDedupeGainsItsColumns) {
    testing::TempDir dir;
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("old.db").c_str(), &raw), SQLITE_OK);
    // usage_records as it was with VRAM peaks and attempts, before duplicates.
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TABLE usage_records (job_id TEXT PRIMARY KEY, account_id TEXT "
                           "NOT NULL, workflow TEXT NOT NULL, width INTEGER NOT NULL, height "
                           "INTEGER NOT NULL, tokens INTEGER NOT NULL, quoted_tokens INTEGER NOT "
                           "NULL, book_version TEXT NOT NULL, md5 TEXT NOT NULL, sha256 TEXT NOT "
                           "NULL, worker TEXT NOT NULL, queue_wait_ms INTEGER NOT NULL, "
                           "execution_ms INTEGER NOT NULL, outcome TEXT NOT NULL CHECK (outcome "
                           "IN ('succeeded', 'failed')), failure_reason TEXT NOT NULL, "
                           "finished_ms INTEGER NOT NULL, vram_peak_bytes INTEGER NOT NULL "
                           "DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 1) STRICT;"
                           "INSERT INTO usage_records VALUES ('job_old', 'acct_1', 'person', 1, "
                           "1, 3, 3, 'v', 'm', 's', 'w', 0, 0, 'succeeded', '', 1, 0, 1);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
    auto db = store::Database::open(dir.file("old.db")).value();
    auto opened = SqliteUsageSink::open(*db);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    auto sink = std::move(opened).value();
    auto old = sink->find("job_old").value().value();
    EXPECT_EQ(old.dedupe_kind, "");
    EXPECT_EQ(old.md5_hex, "m");
    EXPECT_EQ(old.meter_wall_ms, -1);
    EXPECT_EQ(old.meter_gpu_peak_bytes, -1);
    UsageRecord r = sample("job_new", 0);
    r.dedupe_kind = "exact";
    r.dedupe_of = "job_old";
    ASSERT_TRUE(sink->write(r).ok());
    EXPECT_EQ(sink->find("job_new").value()->dedupe_of, "job_old");
    EXPECT_TRUE(SqliteUsageSink::open(*db).ok());
}

TEST(SqliteUsageSinkTest, KeepsTheMeterFigures) {
    testing::TempDir dir;
    auto db = store::Database::open(dir.file("u.db")).value();
    auto sink = SqliteUsageSink::open(*db).value();
    UsageRecord measured = sample("job_1", 10);
    measured.meter_wall_ms = 3'512;
    measured.meter_gpu_peak_bytes = 1'409'286'144;
    UsageRecord unmeasured = sample("job_2", 10);
    unmeasured.meter_wall_ms = -1;
    unmeasured.meter_gpu_peak_bytes = -1;
    ASSERT_TRUE(sink->write(measured).ok());
    ASSERT_TRUE(sink->write(unmeasured).ok());
    EXPECT_EQ(sink->find("job_1").value().value(), measured);
    EXPECT_EQ(sink->find("job_2").value().value(), unmeasured);
    // Below -1 means nothing: refused, as check_usage_record() refuses it.
    UsageRecord bad = sample("job_3", 10);
    bad.meter_wall_ms = -2;
    EXPECT_FALSE(sink->write(bad).ok());
    bad.meter_wall_ms = 0;
    bad.meter_gpu_peak_bytes = -5;
    EXPECT_FALSE(sink->write(bad).ok());
    EXPECT_FALSE(sink->find("job_3").value().has_value());
}

TEST(SqliteUsageSinkTest, AFileFromBeforeTheMeterGainsItsColumnsAndOldRowsReadNotMeasured) {
    testing::TempDir dir;
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("old.db").c_str(), &raw), SQLITE_OK);
    // usage_records exactly as the version before the meter made it, with a
    // row it wrote and the index on duplicates.
    ASSERT_EQ(sqlite3_exec(
                  raw,
                  "CREATE TABLE usage_records (job_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, "
                  "workflow TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, "
                  "tokens INTEGER NOT NULL, quoted_tokens INTEGER NOT NULL, book_version TEXT NOT "
                  "NULL, md5 TEXT NOT NULL, sha256 TEXT NOT NULL, worker TEXT NOT NULL, "
                  "queue_wait_ms INTEGER NOT NULL, execution_ms INTEGER NOT NULL, outcome TEXT NOT "
                  "NULL CHECK (outcome IN ('succeeded', 'failed')), failure_reason TEXT NOT NULL, "
                  "finished_ms INTEGER NOT NULL, vram_peak_bytes INTEGER NOT NULL DEFAULT 0, "
                  "attempts INTEGER NOT NULL DEFAULT 1, dedupe_kind TEXT NOT NULL DEFAULT '' "
                  "CHECK (dedupe_kind IN ('', 'exact', 'near')), dedupe_of TEXT NOT NULL DEFAULT "
                  "'', dedupe_distance INTEGER NOT NULL DEFAULT 0) STRICT;"
                  "CREATE INDEX usage_by_account ON usage_records(account_id, finished_ms);"
                  "CREATE INDEX usage_duplicates ON usage_records(finished_ms, account_id) WHERE "
                  "dedupe_kind <> '';"
                  "INSERT INTO usage_records VALUES ('job_old', 'acct_1', 'person', 800, 600, 10, "
                  "10, 'v1', 'md5', 'sha', 'http://w', 3, 1200, 'succeeded', '', 42, 1048576, 1, "
                  "'', '', 0);",
                  nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
    auto db = store::Database::open(dir.file("old.db")).value();
    auto opened = SqliteUsageSink::open(*db);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    auto sink = std::move(opened).value();
    // The old row is the record it was, not measured.
    UsageRecord want = sample("job_old", 10);
    want.meter_wall_ms = -1;
    want.meter_gpu_peak_bytes = -1;
    EXPECT_EQ(sink->find("job_old").value().value(), want);
    // New rows carry their figures next to it.
    ASSERT_TRUE(sink->write(sample("job_new", 10)).ok());
    EXPECT_EQ(sink->find("job_new").value().value(), sample("job_new", 10));
    ASSERT_EQ(sink->for_account("acct_1").value().size(), 2u);
    // Opening again changes nothing.
    ASSERT_TRUE(SqliteUsageSink::open(*db).ok());
    EXPECT_EQ(sink->find("job_old").value().value(), want);
}

}  // namespace
}  // namespace tollgate::usage
