// resume_job against the in-process FakeComfy holding a prompt it was never
// sent, as after a gateway restart: still running, already finished, unknown,
// and never finishing. A resumed job must not upload or queue anything.
#include <gtest/gtest.h>

#include <future>
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
using testing::Seeded;

constexpr const char* kPromptId = "0f6c2b1e-7d4a-4c3b-9e8f-1a2b3c4d5e6f";

// A spec as the gateway rebuilds it after a restart: no image bytes.
JobSpec resume_spec(const std::string& url, int timeout_ms = 10'000) {
    JobSpec spec = job_spec(url, timeout_ms);
    spec.image_bytes.clear();
    spec.image_extension.clear();
    spec.on_queued = [](const std::string&, const std::string&) {
        ADD_FAILURE() << "resume_job queued a prompt";
    };
    return spec;
}

void expect_nothing_sent(FakeComfy& fake) {
    std::lock_guard<std::mutex> lock(fake.mu_);
    EXPECT_TRUE(fake.upload_filename.empty());
    EXPECT_TRUE(fake.prompt_body.is_null());
}

// Resumes on another thread, finishes the prompt once resume_job has looked
// at /queue (and so has its WebSocket open, if the fake offers one).
JobOutcome resume_then_finish(FakeComfy& fake, const JobSpec& spec) {
    auto resumed = std::async(std::launch::async, [&] {
        return resume_job(spec, kPromptId, core::SystemClock::instance());
    });
    EXPECT_TRUE(fake.wait_until([&] { return fake.queue_gets >= 1; }));
    fake.finish_seeded();
    return resumed.get();
}

TEST(ResumeJobTest, FollowsARunningPromptOverTheWebSocket) {
    FakeComfy fake(Script::Success);
    fake.seed(kPromptId, Seeded::Running);
    const JobOutcome out = resume_then_finish(fake, resume_spec(fake.url()));
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(out.prompt_id, kPromptId);
    EXPECT_EQ(out.output_bytes, "COLORIZED");
    EXPECT_EQ(out.output_filename, "job_test1_00001_.png");
    EXPECT_EQ(out.execution_ms, 2500);
    EXPECT_EQ(out.queue_wait_ms, 0);
    expect_nothing_sent(fake);
    std::lock_guard<std::mutex> lock(fake.mu_);
    EXPECT_EQ(fake.ws_client_id, "tollgate-job_test1");
    EXPECT_EQ(fake.history_deletes, std::vector<std::string>{kPromptId});
}

TEST(ResumeJobTest, FollowsARunningPromptByPollingWithoutWebSocket) {
    FakeComfy fake(Script::NoWebSocket);
    fake.seed(kPromptId, Seeded::Running);
    const JobOutcome out = resume_then_finish(fake, resume_spec(fake.url()));
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(out.output_bytes, "COLORIZED");
    expect_nothing_sent(fake);
}

TEST(ResumeJobTest, CollectsAPromptAlreadyInHistory) {
    FakeComfy fake(Script::Success);
    fake.seed(kPromptId, Seeded::Finished);
    const JobOutcome out =
        resume_job(resume_spec(fake.url()), kPromptId, core::SystemClock::instance());
    ASSERT_EQ(out.kind, JobOutcomeKind::Succeeded) << out.reason;
    EXPECT_EQ(out.output_bytes, "COLORIZED");
    EXPECT_EQ(out.execution_ms, 2500);
    expect_nothing_sent(fake);
    std::lock_guard<std::mutex> lock(fake.mu_);
    EXPECT_EQ(fake.view_target,
              "/view?filename=job_test1_00001_.png&subfolder=tollgate&type=output");
    EXPECT_EQ(fake.history_deletes, std::vector<std::string>{kPromptId});
}

TEST(ResumeJobTest, AFailedPromptInHistoryIsExecutionFailed) {
    FakeComfy fake(Script::ExecutionError);
    fake.seed(kPromptId, Seeded::Finished);
    const JobOutcome out =
        resume_job(resume_spec(fake.url()), kPromptId, core::SystemClock::instance());
    EXPECT_EQ(out.kind, JobOutcomeKind::ExecutionFailed);
    EXPECT_EQ(out.reason, "FileNotFoundError: Checkpoint load failed.");
    expect_nothing_sent(fake);
}

TEST(ResumeJobTest, APromptTheWorkerDoesNotKnowIsLost) {
    FakeComfy fake(Script::Success);
    const JobOutcome out =
        resume_job(resume_spec(fake.url()), kPromptId, core::SystemClock::instance());
    EXPECT_EQ(out.kind, JobOutcomeKind::ProtocolError);
    EXPECT_EQ(out.reason.rfind("prompt_lost: ", 0), 0u) << out.reason;
    EXPECT_EQ(out.prompt_id, kPromptId);
    expect_nothing_sent(fake);
}

TEST(ResumeJobTest, DeadlineGivesTimedOutAndRemovesThePrompt) {
    FakeComfy fake(Script::Success);
    fake.seed(kPromptId, Seeded::Running);
    const JobOutcome out =
        resume_job(resume_spec(fake.url(), 1500), kPromptId, core::SystemClock::instance());
    EXPECT_EQ(out.kind, JobOutcomeKind::TimedOut) << out.reason;
    expect_nothing_sent(fake);
    std::lock_guard<std::mutex> lock(fake.mu_);
    EXPECT_EQ(fake.queue_deletes, std::vector<std::string>{kPromptId});
}

TEST(ResumeJobTest, AnUnreachableWorkerIsNeverWorkerUnreachable) {
    const std::string url = "http://127.0.0.1:" + std::to_string(testing::unused_port());
    const JobOutcome out = resume_job(resume_spec(url), kPromptId, core::SystemClock::instance());
    EXPECT_EQ(out.kind, JobOutcomeKind::ProtocolError) << out.reason;
    EXPECT_EQ(out.reason.rfind("worker_lost: ", 0), 0u) << out.reason;
}

TEST(ResumeJobTest, BadIdsAreRejectedBeforeAnyNetwork) {
    const JobSpec spec = resume_spec("http://127.0.0.1:1");
    for (const char* bad : {"", "../history", "a b"}) {
        EXPECT_EQ(resume_job(spec, bad, core::SystemClock::instance()).kind,
                  JobOutcomeKind::Rejected)
            << bad;
    }
    JobSpec bad_job = spec;
    bad_job.job_id = "../etc";
    EXPECT_EQ(resume_job(bad_job, kPromptId, core::SystemClock::instance()).kind,
              JobOutcomeKind::Rejected);
}

}  // namespace
}  // namespace tollgate::dispatch
