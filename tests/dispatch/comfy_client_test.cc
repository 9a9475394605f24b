// run_job and ComfyClient against (a) a port nobody listens on and (b) the
// in-process FakeComfy (dispatch/fake_comfy.h).
#include "dispatch/comfy_client.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "dispatch/fake_comfy.h"
#include "dispatch/run_job.h"

namespace tollgate::dispatch {
namespace {

using testing::FakeComfy;
using testing::job_spec;
using testing::Script;
using testing::unused_port;

TEST(WorkerUrlTest, ParsesHostPortAndPath) {
    auto a = parse_worker_url("http://127.0.0.1:8188");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, "8188");
    EXPECT_EQ(a->base_path, "");
    EXPECT_EQ(a->host_header(), "127.0.0.1:8188");
    a = parse_worker_url("HTTP://gpu-1.internal/comfy/");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->host, "gpu-1.internal");
    EXPECT_EQ(a->port, "80");
    EXPECT_EQ(a->base_path, "/comfy");
    a = parse_worker_url("http://[::1]:9000");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->host, "::1");
    EXPECT_EQ(a->host_header(), "[::1]:9000");
}

TEST(WorkerUrlTest, RejectsBadUrls) {
    for (const char* bad : {"", "127.0.0.1:8188", "https://h:1", "ftp://h", "http://", "http://:80",
                            "http://h:", "http://h:0", "http://h:65536", "http://h:80x",
                            "http://::1:80", "http://[::1", "http://[zz]:1", "http://u@h:1",
                            "http://h h:1", "http://h:1/a?b", "http://h\r\n:1"}) {
        auto a = parse_worker_url(bad);
        EXPECT_FALSE(a.ok()) << bad;
        if (!a.ok()) {
            EXPECT_EQ(a.error().code, "invalid_worker_url");
        }
    }
}

TEST(ComfyClientTest, UnreachablePortIsWorkerUnreachable) {
    auto client = ComfyClient::create("http://127.0.0.1:" + std::to_string(unused_port()));
    ASSERT_TRUE(client.ok());
    auto stats = client->system_stats();
    ASSERT_FALSE(stats.ok());
    EXPECT_EQ(stats.error().code, "worker_unreachable");
}

TEST(RunJobTest, UnreachableWorker) {
    const std::string url = "http://127.0.0.1:" + std::to_string(unused_port());
    const JobOutcome out = run_job(job_spec(url), core::SystemClock::instance());
    EXPECT_EQ(out.kind, JobOutcomeKind::WorkerUnreachable) << out.reason;
    EXPECT_EQ(out.worker_url, url);
    EXPECT_TRUE(out.prompt_id.empty());
}

TEST(RunJobTest, InvalidSpecIsRejectedBeforeAnyNetwork) {
    JobSpec spec = job_spec("http://127.0.0.1:1");
    spec.job_id = "../etc";
    EXPECT_EQ(run_job(spec, core::SystemClock::instance()).kind, JobOutcomeKind::Rejected);
    spec = job_spec("http://127.0.0.1:1");
    spec.image_extension = "exe";
    EXPECT_EQ(run_job(spec, core::SystemClock::instance()).kind, JobOutcomeKind::Rejected);
}

TEST(RunJobTest, SucceedsOverWebSocket) {
    FakeComfy fake(Script::Success);
    const JobOutcome out = run_job(job_spec(fake.url()), core::SystemClock::instance());
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(out.output_bytes, "COLORIZED");
    EXPECT_EQ(out.output_filename, "job_test1_00001_.png");
    EXPECT_EQ(out.execution_ms, 2500);
    EXPECT_GE(out.queue_wait_ms, 700);
    EXPECT_LT(out.queue_wait_ms, 700 + 5000);

    std::lock_guard<std::mutex> lock(fake.mu_);
    EXPECT_EQ(fake.upload_filename, "job_test1.png");
    EXPECT_EQ(fake.upload_subfolder, "tollgate/job_test1");
    EXPECT_EQ(fake.upload_type, "input");
    EXPECT_EQ(fake.upload_overwrite, "true");
    EXPECT_EQ(fake.upload_data, "\x89PNG fake image bytes");
    EXPECT_EQ(fake.ws_client_id, "tollgate-job_test1");
    EXPECT_EQ(fake.prompt_body["client_id"], "tollgate-job_test1");
    EXPECT_EQ(fake.prompt_body["prompt_id"], out.prompt_id);
    EXPECT_EQ(out.prompt_id.size(), 36u);
    EXPECT_EQ(fake.prompt_body["prompt"]["1"]["inputs"]["image"],
              "tollgate/job_test1/job_test1.png");
    // Each job saves into a folder of its own.
    EXPECT_EQ(fake.prompt_body["prompt"]["3"]["inputs"]["filename_prefix"],
              "tollgate/job_test1/job_test1");
    EXPECT_EQ(fake.view_target,
              "/view?filename=job_test1_00001_.png&subfolder=tollgate&type=output");
    EXPECT_EQ(fake.history_deletes, std::vector<std::string>{out.prompt_id});
}

TEST(RunJobTest, ADeferredCleanupDeletesTheHistoryOnlyWhenCalled) {
    FakeComfy fake(Script::Success);
    JobSpec spec = job_spec(fake.url());
    spec.defer_cleanup = true;
    JobOutcome out = run_job(spec, core::SystemClock::instance());
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(out.output_bytes, "COLORIZED");
    ASSERT_TRUE(out.after_settle);
    {
        std::lock_guard<std::mutex> lock(fake.mu_);
        EXPECT_TRUE(fake.history_deletes.empty());  // nothing waited for it
    }
    out.after_settle();
    std::lock_guard<std::mutex> lock(fake.mu_);
    EXPECT_EQ(fake.history_deletes, std::vector<std::string>{out.prompt_id});
}

TEST(RunJobTest, CarriesTheMeterFiguresOfTheHistoryEntry) {
    for (const Script script : {Script::Success, Script::NoWebSocket}) {
        FakeComfy fake(script);
        {
            std::lock_guard<std::mutex> lock(fake.mu_);
            fake.extra_history_outputs["4"] = nlohmann::json::parse(
                R"({"tollgate_meter": [{"version": 1, "wall_ms": 3512,
                    "wall_source": "execution_start", "gpu_peak_bytes": 1409286144,
                    "device": "cuda:0"}]})");
        }
        const JobOutcome out = run_job(job_spec(fake.url()), core::SystemClock::instance());
        ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
        EXPECT_EQ(out.meter_wall_ms, 3512);
        EXPECT_EQ(out.meter_gpu_peak_bytes, 1409286144);
        EXPECT_EQ(out.output_filename, "job_test1_00001_.png");
    }
}

TEST(RunJobTest, WithoutAMeterTheFiguresAreNotMeasured) {
    FakeComfy fake(Script::Success);
    const JobOutcome out = run_job(job_spec(fake.url()), core::SystemClock::instance());
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(out.meter_wall_ms, -1);
    EXPECT_EQ(out.meter_gpu_peak_bytes, -1);
}

TEST(RunJobTest, AMalformedMeterReadingCostsNothingButItsFigures) {
    FakeComfy fake(Script::Success);
    {
        std::lock_guard<std::mutex> lock(fake.mu_);
        fake.extra_history_outputs["4"] = nlohmann::json::parse(
            R"({"tollgate_meter": [{"version": 1, "wall_ms": "3.5 s",
                "wall_source": "execution_start", "gpu_peak_bytes": 1024}]})");
    }
    const JobOutcome out = run_job(job_spec(fake.url()), core::SystemClock::instance());
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(out.output_bytes, "COLORIZED");
    EXPECT_EQ(out.meter_wall_ms, -1);
    EXPECT_EQ(out.meter_gpu_peak_bytes, -1);
}

TEST(RunJobTest, ExecutionErrorIsExecutionFailed) {
    FakeComfy fake(Script::ExecutionError);
    const JobOutcome out = run_job(job_spec(fake.url()), core::SystemClock::instance());
    EXPECT_EQ(out.kind, JobOutcomeKind::ExecutionFailed);
    EXPECT_EQ(out.reason, "FileNotFoundError: Checkpoint load failed.");
    EXPECT_EQ(out.execution_ms, 1200);
}

TEST(RunJobTest, ValidationFailureIsRejected) {
    FakeComfy fake(Script::Reject);
    const JobOutcome out = run_job(job_spec(fake.url()), core::SystemClock::instance());
    EXPECT_EQ(out.kind, JobOutcomeKind::Rejected);
    EXPECT_NE(out.reason.find("Value smaller than min of 32"), std::string::npos) << out.reason;
}

TEST(RunJobTest, FallsBackToPollingWithoutWebSocket) {
    FakeComfy fake(Script::NoWebSocket);
    const JobOutcome out = run_job(job_spec(fake.url()), core::SystemClock::instance());
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(out.output_bytes, "COLORIZED");
    EXPECT_EQ(out.execution_ms, 2500);  // timings recovered from history
}

TEST(RunJobTest, OldServerIdIsFollowed) {
    FakeComfy fake(Script::OldServer);
    const JobOutcome out = run_job(job_spec(fake.url()), core::SystemClock::instance());
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(out.prompt_id, "11111111-2222-4333-8444-555555555555");
}

TEST(RunJobTest, OnQueuedGetsTheWorkersIdOnceBeforeFollowing) {
    FakeComfy fake(Script::Success);
    JobSpec spec = job_spec(fake.url());
    std::vector<std::string> reported;
    bool followed_before = true;
    spec.on_queued = [&](const std::string& worker, const std::string& prompt_id) {
        EXPECT_EQ(worker, fake.url());
        reported.push_back(prompt_id);
        std::lock_guard<std::mutex> lock(fake.mu_);
        followed_before = !fake.history_deletes.empty() || !fake.view_target.empty();
    };
    const JobOutcome out = run_job(spec, core::SystemClock::instance());
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(reported, std::vector<std::string>{out.prompt_id});
    EXPECT_FALSE(followed_before);
    std::lock_guard<std::mutex> lock(fake.mu_);
    EXPECT_EQ(fake.prompt_body["prompt_id"], out.prompt_id);
}

TEST(RunJobTest, OnQueuedGetsTheIdAnOldServerChose) {
    FakeComfy fake(Script::OldServer);
    JobSpec spec = job_spec(fake.url());
    std::vector<std::string> reported;
    spec.on_queued = [&](const std::string&, const std::string& prompt_id) {
        reported.push_back(prompt_id);
    };
    const JobOutcome out = run_job(spec, core::SystemClock::instance());
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(reported, std::vector<std::string>{"11111111-2222-4333-8444-555555555555"});
}

TEST(RunJobTest, OnQueuedIsNotCalledWhenNothingWasQueued) {
    int calls = 0;
    const auto count = [&](const std::string&, const std::string&) { ++calls; };
    FakeComfy fake(Script::Reject);
    JobSpec spec = job_spec(fake.url());
    spec.on_queued = count;
    EXPECT_EQ(run_job(spec, core::SystemClock::instance()).kind, JobOutcomeKind::Rejected);
    spec = job_spec("http://127.0.0.1:" + std::to_string(unused_port()));
    spec.on_queued = count;
    EXPECT_EQ(run_job(spec, core::SystemClock::instance()).kind, JobOutcomeKind::WorkerUnreachable);
    EXPECT_EQ(calls, 0);
}

TEST(RunJobTest, DeadlineGivesTimedOut) {
    FakeComfy fake(Script::NeverFinishes);
    const JobOutcome out = run_job(job_spec(fake.url(), 1500), core::SystemClock::instance());
    EXPECT_EQ(out.kind, JobOutcomeKind::TimedOut) << out.reason;
    EXPECT_FALSE(out.prompt_id.empty());
}

}  // namespace
}  // namespace tollgate::dispatch
