// The usage sink contract, run against the SQLite sink and the Redis one.
#include "usage/usage_sink.h"

#include <gtest/gtest.h>

#include "usage/sample_record.h"
#include "usage/usage_fixture.h"

namespace tollgate::usage {
namespace {

class UsageSinkTest : public UsageTest {};
TOLLGATE_USAGE_BACKENDS(UsageSinkTest);

TEST_P(UsageSinkTest, WritesOneRecordPerJobIdempotently) {
    write(sample_record("job_1", 10));
    write(sample_record("job_1", 99));  // replay: ignored
    auto got = sink_->find("job_1").value();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->tokens, 10);
    EXPECT_EQ(*got, sample_record("job_1", 10));
    EXPECT_EQ(sink_->for_account("acct_1").value().size(), 1u);
    EXPECT_FALSE(sink_->find("job_2").value().has_value());
    EXPECT_TRUE(sink_->for_account("acct_2").value().empty());
}

TEST_P(UsageSinkTest, KeepsEveryField) {
    UsageRecord r = sample_record("job_9", 33, "acct_7", 1'700'000'000'123);
    r.outcome = "failed";
    r.failure_reason = "worker lost: 'quoted' \"and\" more";
    r.attempts = 2;
    r.dedupe_kind = "exact";
    r.dedupe_of = "job_8";
    r.dedupe_distance = 0;
    r.vram_peak_bytes = 24'000'000'000;
    write(r);
    EXPECT_EQ(sink_->find("job_9").value(), std::optional<UsageRecord>(r));
    EXPECT_EQ(sink_->for_account("acct_7").value(), std::vector<UsageRecord>{r});
}

TEST_P(UsageSinkTest, ListsAnAccountsRecordsByFinishTime) {
    write(sample_record("job_c", 1, "acct_1", 3000));
    write(sample_record("job_a", 1, "acct_1", 1000));
    write(sample_record("job_x", 1, "acct_2", 500));
    write(sample_record("job_b", 1, "acct_1", 2000));
    std::vector<std::string> ids;
    const std::vector<UsageRecord> records = sink_->for_account("acct_1").value();
    for (const UsageRecord& r : records) ids.push_back(r.job_id);
    EXPECT_EQ(ids, (std::vector<std::string>{"job_a", "job_b", "job_c"}));
}

TEST_P(UsageSinkTest, SumsExecutionTimeSinceAnInstant) {
    UsageRecord early = sample_record("job_1", 10);
    early.finished_ms = 1000;
    early.execution_ms = 500;
    UsageRecord late = sample_record("job_2", 10);
    late.finished_ms = 2000;
    late.execution_ms = 700;
    UsageRecord other = sample_record("job_3", 10);
    other.account_id = "acct_2";
    other.finished_ms = 2000;
    write(early);
    write(late);
    write(other);
    EXPECT_EQ(sink_->execution_ms_since("acct_1", 0).value(), 1200);
    EXPECT_EQ(sink_->execution_ms_since("acct_1", 1000).value(), 1200);
    EXPECT_EQ(sink_->execution_ms_since("acct_1", 1001).value(), 700);
    EXPECT_EQ(sink_->execution_ms_since("acct_1", 2001).value(), 0);
    EXPECT_EQ(sink_->execution_ms_since("acct_3", 0).value(), 0);
}

TEST_P(UsageSinkTest, RejectsUnknownOutcome) {
    UsageRecord r = sample_record("job_1", 10);
    r.outcome = "maybe";
    EXPECT_FALSE(sink_->write(r).ok());
    EXPECT_FALSE(sink_->find("job_1").value().has_value());
}

TEST_P(UsageSinkTest, KeepsTheDedupeOutcome) {
    UsageRecord r = sample_record("job_2", 0);
    r.dedupe_kind = "near";
    r.dedupe_of = "job_1";
    r.dedupe_distance = 4;
    write(r);
    auto got = sink_->find("job_2").value().value();
    EXPECT_EQ(got.dedupe_kind, "near");
    EXPECT_EQ(got.dedupe_of, "job_1");
    EXPECT_EQ(got.dedupe_distance, 4);
    EXPECT_EQ(got.md5_hex, "md5");  // kept for the record
    r.job_id = "job_3";
    r.dedupe_kind = "similar";
    EXPECT_FALSE(sink_->write(r).ok());
    EXPECT_FALSE(sink_->find("job_3").value().has_value());
}

TEST_P(UsageSinkTest, KeepsTheMeterFiguresMeasuredOrNot) {
    UsageRecord measured = sample_record("job_1", 10);
    measured.meter_wall_ms = 604'800'000;  // the largest a meter reports
    measured.meter_gpu_peak_bytes = std::int64_t{1} << 50;
    UsageRecord wall_only = sample_record("job_2", 10);
    wall_only.meter_wall_ms = 0;
    wall_only.meter_gpu_peak_bytes = -1;  // a worker without CUDA
    UsageRecord unmeasured = sample_record("job_3", 10);
    unmeasured.meter_wall_ms = -1;
    unmeasured.meter_gpu_peak_bytes = -1;
    for (const UsageRecord& r : {measured, wall_only, unmeasured}) {
        write(r);
        EXPECT_EQ(sink_->find(r.job_id).value(), std::optional<UsageRecord>(r));
    }
    // Below -1 means nothing: every store refuses it.
    UsageRecord bad = sample_record("job_4", 10);
    bad.meter_wall_ms = -2;
    EXPECT_FALSE(sink_->write(bad).ok());
    EXPECT_FALSE(sink_->find("job_4").value().has_value());
}

TEST_P(UsageSinkTest, RecordsSurviveReopening) {
    write(sample_record("job_1", 10));
    ASSERT_NO_FATAL_FAILURE(open());
    EXPECT_EQ(sink_->find("job_1").value(), std::optional<UsageRecord>(sample_record("job_1", 10)));
}

}  // namespace
}  // namespace tollgate::usage
