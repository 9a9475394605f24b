// The outbox contract, run against the SQLite outbox and the Redis one.
#include "usage/export/outbox.h"

#include <gtest/gtest.h>

#include "usage/sample_record.h"
#include "usage/usage_fixture.h"

namespace tollgate::usage {
namespace {

class OutboxTest : public UsageTest {
  protected:
    // The partition of acct_1, sample_record()'s account.
    int p() const { return partition_of("acct_1"); }
};
TOLLGATE_USAGE_BACKENDS(OutboxTest);

TEST_P(OutboxTest, ReadsRecordsInCommitOrderAfterASeq) {
    write(sample_record("job_b", 10));
    write(sample_record("job_a", 20));
    write(sample_record("job_c", 30));
    auto all = outbox_->after(p(), 0, 10).value();
    ASSERT_EQ(all.size(), 3u);
    // Commit order, not key order.
    EXPECT_EQ(all[0].record.job_id, "job_b");
    EXPECT_EQ(all[1].record.job_id, "job_a");
    EXPECT_EQ(all[2].record.job_id, "job_c");
    EXPECT_LT(all[0].seq, all[1].seq);
    EXPECT_LT(all[1].seq, all[2].seq);
    EXPECT_EQ(all[1].record.tokens, 20);
    EXPECT_EQ(all[1].record.vram_peak_bytes, 1 << 20);
    EXPECT_EQ(all[1].record, sample_record("job_a", 20));

    auto rest = outbox_->after(p(), all[0].seq, 10).value();
    ASSERT_EQ(rest.size(), 2u);
    EXPECT_EQ(rest[0].record.job_id, "job_a");
    EXPECT_EQ(outbox_->after(p(), all[0].seq, 1).value().size(), 1u);
    EXPECT_TRUE(outbox_->after(p(), all[2].seq, 10).value().empty());
    EXPECT_TRUE(outbox_->after(p(), 0, 0).value().empty());
}

TEST_P(OutboxTest, APageStopsAtItsBound) {
    for (int i = 0; i < 300; ++i) write(sample_record("job_" + std::to_string(i), i));
    auto page = outbox_->after(p(), 0, 299).value();
    ASSERT_EQ(page.size(), 299u);
    for (std::size_t i = 1; i < page.size(); ++i) ASSERT_LT(page[i - 1].seq, page[i].seq);
    EXPECT_EQ(page.back().record.job_id, "job_298");
    auto rest = outbox_->after(p(), page.back().seq, kOutboxPageMax + 1).value();
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].record.job_id, "job_299");
}

TEST_P(OutboxTest, AReplayedRecordIsNotQueuedAgain) {
    write(sample_record("job_1", 10));
    write(sample_record("job_1", 10));
    EXPECT_EQ(outbox_->after(p(), 0, 10).value().size(), 1u);
    EXPECT_EQ(outbox_->pending("postgresql://db/a").value(), 1);
}

TEST_P(OutboxTest, CursorsAreKeptPerSinkAndOnlyMoveForward) {
    write(sample_record("job_1", 10));
    write(sample_record("job_2", 10));
    write(sample_record("job_3", 10));
    auto rows = outbox_->after(p(), 0, 10).value();
    const std::string pg = "postgresql://db/a";
    const std::string ch = "clickhouse://ch/a";
    EXPECT_EQ(outbox_->cursor(pg, p()).value(), 0);
    EXPECT_EQ(outbox_->pending(pg).value(), 3);

    ASSERT_TRUE(outbox_->advance(pg, p(), rows[1].seq).ok());
    EXPECT_EQ(outbox_->cursor(pg, p()).value(), rows[1].seq);
    EXPECT_EQ(outbox_->pending(pg).value(), 1);
    EXPECT_EQ(outbox_->pending(ch).value(), 3);  // another sink's cursor is its own

    ASSERT_TRUE(outbox_->advance(pg, p(), rows[0].seq).ok());  // a late acknowledgement
    EXPECT_EQ(outbox_->cursor(pg, p()).value(), rows[1].seq);

    auto beyond = outbox_->advance(pg, p(), rows[2].seq + 1);
    ASSERT_FALSE(beyond.ok());
    EXPECT_EQ(beyond.error().code, "invalid_cursor");
    EXPECT_EQ(outbox_->cursor(pg, p()).value(), rows[1].seq);
}

TEST_P(OutboxTest, CursorsSurviveReopening) {
    write(sample_record("job_1", 10));
    const std::int64_t seq = outbox_->after(p(), 0, 1).value().at(0).seq;
    ASSERT_TRUE(outbox_->advance("postgresql://db/a", p(), seq).ok());
    ASSERT_NO_FATAL_FAILURE(open());
    EXPECT_EQ(outbox_->cursor("postgresql://db/a", p()).value(), seq);
    EXPECT_EQ(outbox_->pending("postgresql://db/a").value(), 0);
}

}  // namespace
}  // namespace tollgate::usage
