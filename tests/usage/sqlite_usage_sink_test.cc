#include "usage/sqlite/sqlite_usage_sink.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace tollgate::usage {
namespace {

UsageRecord sample(const std::string& job_id, std::int64_t tokens) {
    UsageRecord r;
    r.job_id = job_id;
    r.account_id = "acct_1";
    r.workflow = "person";
    r.width = 800;
    r.height = 600;
    r.tokens = tokens;
    r.quoted_tokens = 10;
    r.book_version = "v1";
    r.md5_hex = "md5";
    r.sha256_hex = "sha";
    r.worker = "http://w";
    r.queue_wait_ms = 3;
    r.execution_ms = 1200;
    r.outcome = "succeeded";
    r.finished_ms = 42;
    return r;
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

}  // namespace
}  // namespace tollgate::usage
