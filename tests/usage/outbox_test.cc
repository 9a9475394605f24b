#include "usage/export/outbox.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "usage/sample_record.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::usage {
namespace {

class OutboxTest : public ::testing::Test {
  protected:
    testing::TempDir dir_;
    std::unique_ptr<store::Database> db_ = store::Database::open(dir_.file("u.db")).value();
    std::unique_ptr<SqliteUsageSink> sink_ = SqliteUsageSink::open(*db_).value();
    std::unique_ptr<UsageOutbox> outbox_ = UsageOutbox::open(*db_).value();
};

TEST_F(OutboxTest, ReadsRecordsInCommitOrderAfterASeq) {
    ASSERT_TRUE(sink_->write(sample_record("job_b", 10)).ok());
    ASSERT_TRUE(sink_->write(sample_record("job_a", 20)).ok());
    ASSERT_TRUE(sink_->write(sample_record("job_c", 30)).ok());
    auto all = outbox_->after(0, 10).value();
    ASSERT_EQ(all.size(), 3u);
    // Commit order, not key order.
    EXPECT_EQ(all[0].record.job_id, "job_b");
    EXPECT_EQ(all[1].record.job_id, "job_a");
    EXPECT_EQ(all[2].record.job_id, "job_c");
    EXPECT_LT(all[0].seq, all[1].seq);
    EXPECT_LT(all[1].seq, all[2].seq);
    EXPECT_EQ(all[1].record.tokens, 20);
    EXPECT_EQ(all[1].record.vram_peak_bytes, 1 << 20);

    auto rest = outbox_->after(all[0].seq, 10).value();
    ASSERT_EQ(rest.size(), 2u);
    EXPECT_EQ(rest[0].record.job_id, "job_a");
    EXPECT_EQ(outbox_->after(all[0].seq, 1).value().size(), 1u);
    EXPECT_TRUE(outbox_->after(all[2].seq, 10).value().empty());
    EXPECT_TRUE(outbox_->after(0, 0).value().empty());
}

TEST_F(OutboxTest, AReplayedRecordIsNotQueuedAgain) {
    ASSERT_TRUE(sink_->write(sample_record("job_1", 10)).ok());
    ASSERT_TRUE(sink_->write(sample_record("job_1", 10)).ok());
    EXPECT_EQ(outbox_->after(0, 10).value().size(), 1u);
}

TEST_F(OutboxTest, CursorsAreKeptPerSinkAndOnlyMoveForward) {
    ASSERT_TRUE(sink_->write(sample_record("job_1", 10)).ok());
    ASSERT_TRUE(sink_->write(sample_record("job_2", 10)).ok());
    ASSERT_TRUE(sink_->write(sample_record("job_3", 10)).ok());
    auto rows = outbox_->after(0, 10).value();
    const std::string pg = "postgresql://db/a";
    const std::string ch = "clickhouse://ch/a";
    EXPECT_EQ(outbox_->cursor(pg).value(), 0);
    EXPECT_EQ(outbox_->pending(pg).value(), 3);

    ASSERT_TRUE(outbox_->advance(pg, rows[1].seq).ok());
    EXPECT_EQ(outbox_->cursor(pg).value(), rows[1].seq);
    EXPECT_EQ(outbox_->pending(pg).value(), 1);
    EXPECT_EQ(outbox_->pending(ch).value(), 3);  // another sink's cursor is its own

    ASSERT_TRUE(outbox_->advance(pg, rows[0].seq).ok());  // a late acknowledgement
    EXPECT_EQ(outbox_->cursor(pg).value(), rows[1].seq);

    auto beyond = outbox_->advance(pg, rows[2].seq + 1);
    ASSERT_FALSE(beyond.ok());
    EXPECT_EQ(beyond.error().code, "invalid_cursor");
    EXPECT_EQ(outbox_->cursor(pg).value(), rows[1].seq);
}

TEST_F(OutboxTest, CursorsSurviveReopening) {
    ASSERT_TRUE(sink_->write(sample_record("job_1", 10)).ok());
    const std::int64_t seq = outbox_->after(0, 1).value().at(0).seq;
    ASSERT_TRUE(outbox_->advance("postgresql://db/a", seq).ok());
    outbox_.reset();
    sink_.reset();
    db_.reset();
    db_ = store::Database::open(dir_.file("u.db")).value();
    sink_ = SqliteUsageSink::open(*db_).value();
    outbox_ = UsageOutbox::open(*db_).value();
    EXPECT_EQ(outbox_->cursor("postgresql://db/a").value(), seq);
    EXPECT_EQ(outbox_->pending("postgresql://db/a").value(), 0);
}

}  // namespace
}  // namespace tollgate::usage
