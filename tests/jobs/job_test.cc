#include "jobs/job.h"

#include <gtest/gtest.h>

#include <tuple>

#include "jobs/sqlite/sqlite_job_store.h"
#include "support/temp_dir.h"

namespace tollgate::jobs {
namespace {

TEST(JobStateTest, FinalStatesAllowNoTransition) {
    for (JobState to :
         {JobState::Admitted, JobState::Dispatched, JobState::Succeeded, JobState::Failed}) {
        EXPECT_FALSE(can_transition(JobState::Succeeded, to));
        EXPECT_FALSE(can_transition(JobState::Failed, to));
    }
}

TEST(JobStateTest, AdmittedCannotSucceedWithoutDispatch) {
    EXPECT_FALSE(can_transition(JobState::Admitted, JobState::Succeeded));
    EXPECT_TRUE(can_transition(JobState::Admitted, JobState::Dispatched));
    EXPECT_TRUE(can_transition(JobState::Admitted, JobState::Failed));
    EXPECT_TRUE(can_transition(JobState::Dispatched, JobState::Succeeded));
}

TEST(JobStateTest, NamesRoundTrip) {
    for (JobState s :
         {JobState::Admitted, JobState::Dispatched, JobState::Succeeded, JobState::Failed}) {
        EXPECT_EQ(parse_job_state(to_string(s)), s);
    }
    EXPECT_FALSE(parse_job_state("running?").has_value());
}

class SqliteJobStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        db_ = store::Database::open(dir_.file("jobs.db")).value();
        store_ = SqliteJobStore::open(*db_).value();
    }
    Job sample(const std::string& id) {
        Job j;
        j.id = id;
        j.account_id = "acct_1";
        j.workflow = "person";
        j.tokens = 10;
        j.book_version = "v1";
        j.quote_json = "{}";
        j.width = 800;
        j.height = 600;
        j.format = "png";
        j.md5_hex = "m";
        j.sha256_hex = "s";
        j.created_ms = 5;
        return j;
    }
    testing::TempDir dir_;
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<SqliteJobStore> store_;
};

TEST_F(SqliteJobStoreTest, InsertGetAndFinish) {
    ASSERT_TRUE(store_->insert(sample("job_a")).ok());
    Job got = store_->get("job_a").value().value();
    EXPECT_EQ(got.state, JobState::Admitted);
    EXPECT_EQ(got.tokens, 10);
    EXPECT_EQ(got.width, 800);

    Job u = got;
    u.worker = "http://w1";
    ASSERT_TRUE(store_->transition("job_a", JobState::Dispatched, u).ok());
    u.result_path = "results/job_a.png";
    u.finished_ms = 9;
    ASSERT_TRUE(store_->transition("job_a", JobState::Succeeded, u).ok());
    got = store_->get("job_a").value().value();
    EXPECT_EQ(got.state, JobState::Succeeded);
    EXPECT_EQ(got.worker, "http://w1");
    EXPECT_EQ(got.result_path, "results/job_a.png");
    EXPECT_FALSE(store_->get("job_missing").value().has_value());
}

TEST_F(SqliteJobStoreTest, IllegalTransitionChangesNothing) {
    ASSERT_TRUE(store_->insert(sample("job_a")).ok());
    Job u = sample("job_a");
    u.failure_reason = "x";
    core::Status s = store_->transition("job_a", JobState::Succeeded, u);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "illegal_transition");
    EXPECT_EQ(store_->get("job_a").value()->state, JobState::Admitted);
    ASSERT_TRUE(store_->transition("job_a", JobState::Failed, u).ok());
    EXPECT_FALSE(store_->transition("job_a", JobState::Dispatched, u).ok());
}

TEST_F(SqliteJobStoreTest, UnfinishedListsOnlyOpenJobs) {
    ASSERT_TRUE(store_->insert(sample("job_a")).ok());
    ASSERT_TRUE(store_->insert(sample("job_b")).ok());
    ASSERT_TRUE(store_->transition("job_b", JobState::Failed, sample("job_b")).ok());
    auto open = store_->unfinished().value();
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0].id, "job_a");
}

TEST_F(SqliteJobStoreTest, RecentAndUnfinishedCountsArePerAccount) {
    for (auto [id, account, created] :
         {std::tuple{"job_a", "acct_1", 100}, std::tuple{"job_b", "acct_1", 200},
          std::tuple{"job_c", "acct_1", 300}, std::tuple{"job_d", "acct_2", 250}}) {
        Job j = sample(id);
        j.account_id = account;
        j.created_ms = created;
        ASSERT_TRUE(store_->insert(j).ok());
    }
    ASSERT_TRUE(store_->transition("job_a", JobState::Failed, sample("job_a")).ok());

    auto recent = store_->recent("acct_1", 200).value();
    EXPECT_EQ(recent.count, 2);  // job_b at exactly 200 and job_c; job_d is another account
    EXPECT_EQ(recent.oldest_ms, 200);
    EXPECT_EQ(store_->recent("acct_1", 301).value().count, 0);
    EXPECT_EQ(store_->recent("acct_1", 301).value().oldest_ms, 0);
    EXPECT_EQ(store_->count_unfinished("acct_1").value(), 2);  // job_a failed
    EXPECT_EQ(store_->count_unfinished("acct_2").value(), 1);
    EXPECT_EQ(store_->count_unfinished("acct_none").value(), 0);
}

}  // namespace
}  // namespace tollgate::jobs
