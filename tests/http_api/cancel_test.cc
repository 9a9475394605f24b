// DELETE /v1/jobs/{id}: a job still in the gateway's queue is taken out, a
// running one is stopped on its worker; either way the job ends cancelled,
// its hold is voided, nothing is charged and one usage record says so. A
// cancel that loses the race to a finished job says so and changes nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/api/job_service.h"
#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;

class CancelTest : public testing_support::GatewayFixture {
  protected:
    void SetUp() override {
        queue_capacity_ = 4;
        GatewayFixture::SetUp();
        ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "").ok());
        key_ = key();
    }
    void expect_cancelled(const std::string& job_id) {
        const jobs::Job job = wait_final(job_id);
        EXPECT_TRUE(job.cancelled()) << job.failure_reason;
        auto record = usage_->find(job_id).value();
        ASSERT_TRUE(record.has_value());
        EXPECT_EQ(record->outcome, "failed");
        EXPECT_EQ(record->tokens, 0);
        EXPECT_TRUE(record->failure_reason.starts_with("cancelled")) << record->failure_reason;
        EXPECT_TRUE(job.result_path.empty());
        std::error_code ec;
        for (const auto& entry :
             std::filesystem::directory_iterator(dir_.file("data") + "/results", ec)) {
            EXPECT_FALSE(entry.path().filename().string().starts_with(job_id)) << entry.path();
        }
    }
    std::string key_;
};

TEST_F(CancelTest, QueuedJobIsTakenOutBeforeAnyWorkerSeesIt) {
    block();
    const std::string running = accepted();
    wait_running(1);
    const std::string queued = accepted();
    EXPECT_EQ(balance().held, core::Tokens(20));

    Response r = call("DELETE", "/v1/jobs/" + queued, "", key_);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["state"], "cancelled");
    EXPECT_EQ(json::parse(r.body)["tokens_charged"], 0);
    expect_cancelled(queued);
    EXPECT_EQ(balance().held, core::Tokens(10));  // only the running job's hold is left

    release();
    EXPECT_EQ(wait_final(running).state, jobs::JobState::Succeeded);
    {
        std::lock_guard lock(mu_);
        EXPECT_EQ(ran_, std::vector<std::string>{running});  // the cancelled job never ran
    }
    EXPECT_EQ(balance().captured, core::Tokens(10));
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_TRUE(ledger_->verify(nullptr).value().empty());
}

TEST_F(CancelTest, RunningJobIsStoppedAndItsHoldVoided) {
    block();
    const std::string job = accepted();
    wait_running(1);
    Response r = call("DELETE", "/v1/jobs/" + job, "", key_);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["state"], "cancelled");
    expect_cancelled(job);
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_EQ(balance().captured, core::Tokens(0));
    EXPECT_EQ(balance().available(), core::Tokens(100));
    // GET says the same.
    Response got = call("GET", "/v1/jobs/" + job, "", key_);
    EXPECT_EQ(json::parse(got.body)["state"], "cancelled");
    release();
}

TEST_F(CancelTest, CancelWinsOverAWorkerThatFinishedAnyway) {
    honor_cancel_ = false;  // the worker ignores the interrupt and delivers a result
    block();
    const std::string job = accepted();
    wait_running(1);
    std::thread releaser([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        release();
    });
    auto cancelled = service_->cancel(account_, job);
    releaser.join();
    ASSERT_TRUE(cancelled.ok());
    EXPECT_EQ(cancelled->outcome, CancelOutcome::Cancelled);
    expect_cancelled(job);
    EXPECT_EQ(balance().captured, core::Tokens(0));
    EXPECT_EQ(balance().held, core::Tokens(0));
}

class SlowCancelTest : public CancelTest {
  protected:
    void SetUp() override {
        cancel_wait_ms_ = 50;
        CancelTest::SetUp();
    }
};

TEST_F(SlowCancelTest, WorkerSlowToStopGets202ThenEndsCancelled) {
    honor_cancel_ = false;
    block();
    const std::string slow = accepted();
    wait_running(1);
    Response r = call("DELETE", "/v1/jobs/" + slow, "", key_);
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(json::parse(r.body)["state"], "cancelling");
    release();
    expect_cancelled(slow);
    EXPECT_EQ(balance().captured, core::Tokens(0));
}

TEST_F(CancelTest, FinishedUnknownAndForeignJobsAreNotCancelled) {
    const std::string done = accepted();
    EXPECT_EQ(wait_final(done).state, jobs::JobState::Succeeded);
    Response r = call("DELETE", "/v1/jobs/" + done, "", key_);
    ASSERT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "job_finished");
    EXPECT_EQ(json::parse(r.body)["job"]["state"], "succeeded");
    EXPECT_EQ(balance().captured, core::Tokens(10));

    EXPECT_EQ(call("DELETE", "/v1/jobs/job_nope", "", key_).status, 404);
    // Another account's job looks missing, and is left alone.
    block();
    const std::string mine = accepted();
    const std::string other = ledger_->create_account("other").value();
    const std::string other_key = ledger_->create_api_key(other).value();
    EXPECT_EQ(call("DELETE", "/v1/jobs/" + mine, "", other_key).status, 404);
    release();
    EXPECT_EQ(wait_final(mine).state, jobs::JobState::Succeeded);
    // A cancelled job cannot be cancelled twice.
    block();
    const std::string twice = accepted();
    wait_running(1);
    EXPECT_EQ(call("DELETE", "/v1/jobs/" + twice, "", key_).status, 200);
    Response again = call("DELETE", "/v1/jobs/" + twice, "", key_);
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(json::parse(again.body)["job"]["state"], "cancelled");
    release();
    EXPECT_TRUE(ledger_->verify(nullptr).value().empty());
}

TEST_F(CancelTest, UsageRecordKeepsMeasuredCost) {
    const std::string job = accepted();
    wait_final(job);
    auto record = usage_->find(job).value();
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->vram_peak_bytes, 3'000'000'000);
    EXPECT_EQ(record->attempts, 2);
    EXPECT_EQ(record->execution_ms, 1500);
    EXPECT_EQ(record->meter_wall_ms, 1'450);
    EXPECT_EQ(record->meter_gpu_peak_bytes, 2'500'000'000);
}

}  // namespace
}  // namespace tollgate::http
