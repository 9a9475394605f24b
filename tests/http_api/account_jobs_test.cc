// One account may have at most account_jobs_max unfinished jobs: the next
// submit is refused before anything is held, and is admitted again once one
// of its jobs ends. Other accounts are not affected.
#include <gtest/gtest.h>

#include "http/api/job_service.h"
#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

class AccountJobsTest : public testing_support::GatewayFixture {
  protected:
    void SetUp() override {
        account_jobs_max_ = 1;
        GatewayFixture::SetUp();
    }
};

TEST_F(AccountJobsTest, SecondUnfinishedJobIsRefusedWithNothingHeld) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    block();
    auto first = submit();
    ASSERT_TRUE(first.ok());
    ASSERT_EQ(first->outcome, SubmitOutcome::Accepted);
    wait_running(1);
    auto second = submit();
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(second->outcome, SubmitOutcome::TooManyJobs);
    EXPECT_TRUE(second->job_id.empty());
    EXPECT_EQ(balance().held, core::Tokens(10));  // the first job's hold only
    EXPECT_EQ(jobs_->count_unfinished(account_).value(), 1);

    // Another account is not limited by this one's jobs.
    const std::string other = ledger_->create_account("other").value();
    ASSERT_TRUE(ledger_->grant(other, core::Tokens(50), "").ok());
    auto theirs = service_->submit(other, {"person", "", "", ""}, testing_support::png(800, 600));
    ASSERT_TRUE(theirs.ok());
    EXPECT_EQ(theirs->outcome, SubmitOutcome::Accepted);

    release();
    wait_final(first->job_id);
    auto third = submit();
    ASSERT_TRUE(third.ok());
    EXPECT_EQ(third->outcome, SubmitOutcome::Accepted);
    wait_final(third->job_id);
    EXPECT_EQ(balance().captured, core::Tokens(20));
}

}  // namespace
}  // namespace tollgate::http
