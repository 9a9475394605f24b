#include "dispatch/scheduler.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

namespace tollgate::dispatch {
namespace {

// Scripted attempts: the n-th run returns script[n] (the last one repeats),
// and every run's worker is recorded.
struct ScriptedRunner {
    explicit ScriptedRunner(std::vector<JobOutcome> s) : script(std::move(s)) {}
    std::vector<JobOutcome> script;
    std::vector<std::string> workers;
    std::vector<int> timeouts_ms;
    JobOutcome operator()(const JobSpec& spec, const core::Clock&) {
        workers.push_back(spec.worker_url);
        timeouts_ms.push_back(spec.timeout_ms);
        JobOutcome out = script[std::min(workers.size(), script.size()) - 1];
        out.worker_url = spec.worker_url;
        return out;
    }
};

JobOutcome outcome(JobOutcomeKind kind, bool retry_safe = false) {
    JobOutcome out;
    out.kind = kind;
    out.retry_safe = retry_safe;
    out.reason = "scripted";
    return out;
}

class SchedulerTest : public ::testing::Test {
  protected:
    SchedulerTest()
        : pools_({{"http://a", 1}, {"http://b", 1}, {"http://c", 1}},
                 {{"p", {"http://a", "http://b", "http://c"}, ""}}, clock_) {}

    JobOutcome run(ScriptedRunner& runner, RetryPolicy policy = {}) {
        JobSpec spec;
        spec.job_id = "job";
        spec.pool = "p";
        spec.timeout_ms = 200;  // on a clock that stands still: only a wait for a worker is real
        return run_with_retries(
            spec, pools_, policy,
            [&](const JobSpec& s, const core::Clock& c) { return runner(s, c); }, clock_);
    }

    core::ManualClock clock_{0};
    WorkerPools pools_;
};

TEST_F(SchedulerTest, RetriesWhatIsSafeOnAnotherWorker) {
    ScriptedRunner runner({outcome(JobOutcomeKind::WorkerUnreachable, true),
                           outcome(JobOutcomeKind::ProtocolError, true),
                           outcome(JobOutcomeKind::Succeeded)});
    const JobOutcome out = run(runner);
    EXPECT_EQ(out.kind, JobOutcomeKind::Succeeded);
    EXPECT_EQ(out.attempts, 3);
    ASSERT_EQ(runner.workers.size(), 3u);
    EXPECT_NE(runner.workers[0], runner.workers[1]);
    EXPECT_NE(runner.workers[1], runner.workers[2]);
    EXPECT_NE(runner.workers[0], runner.workers[2]);
    // Leases are released; the winner is warm now.
    for (const WorkerStatus& s : pools_.status()) {
        EXPECT_EQ(s.leases, 0);
        EXPECT_EQ(s.warm_models.size(), s.url == out.worker_url ? 1u : 0u);
    }
}

TEST_F(SchedulerTest, StopsAfterRetriesMax) {
    ScriptedRunner runner({outcome(JobOutcomeKind::WorkerUnreachable, true)});
    const JobOutcome out = run(runner, {.retries_max = 1});
    EXPECT_EQ(out.kind, JobOutcomeKind::WorkerUnreachable);
    EXPECT_EQ(out.attempts, 2);
    EXPECT_EQ(runner.workers.size(), 2u);
}

TEST_F(SchedulerTest, DoesNotRetryWhatMayHaveRun) {
    for (JobOutcomeKind kind :
         {JobOutcomeKind::ProtocolError, JobOutcomeKind::TimedOut, JobOutcomeKind::Rejected,
          JobOutcomeKind::ExecutionFailed, JobOutcomeKind::Cancelled}) {
        ScriptedRunner runner({outcome(kind, false), outcome(JobOutcomeKind::Succeeded)});
        const JobOutcome out = run(runner);
        EXPECT_EQ(out.kind, kind) << to_string(kind);
        EXPECT_EQ(runner.workers.size(), 1u) << to_string(kind);
    }
}

TEST_F(SchedulerTest, ExecutionErrorsRetriedOnlyWhenConfigured) {
    ScriptedRunner runner(
        {outcome(JobOutcomeKind::ExecutionFailed), outcome(JobOutcomeKind::Succeeded)});
    const JobOutcome out = run(runner, {.retries_max = 2, .retry_execution_errors = true});
    EXPECT_EQ(out.kind, JobOutcomeKind::Succeeded);
    EXPECT_EQ(out.attempts, 2);
}

TEST_F(SchedulerTest, UnreachableWorkersTurnUnhealthy) {
    ScriptedRunner runner({outcome(JobOutcomeKind::WorkerUnreachable, true)});
    (void)run(runner, {.retries_max = 0});
    (void)run(runner, {.retries_max = 0});
    int unhealthy = 0;
    for (const WorkerStatus& s : pools_.status()) unhealthy += s.healthy ? 0 : 1;
    // Two failures on one worker make it unhealthy (round robin spreads them otherwise).
    EXPECT_LE(unhealthy, 1);
    ScriptedRunner more({outcome(JobOutcomeKind::WorkerUnreachable, true)});
    (void)run(more, {.retries_max = 5});
    unhealthy = 0;
    for (const WorkerStatus& s : pools_.status()) unhealthy += s.healthy ? 0 : 1;
    EXPECT_EQ(unhealthy, 3);
    // With every worker unhealthy nothing runs, and the job fails as unreachable.
    ScriptedRunner never({outcome(JobOutcomeKind::Succeeded)});
    JobSpec spec;
    spec.job_id = "job";
    spec.pool = "p";
    spec.timeout_ms = 1;
    const JobOutcome out = run_with_retries(
        spec, pools_, {}, [&](const JobSpec& s, const core::Clock& c) { return never(s, c); },
        clock_);
    EXPECT_EQ(out.kind, JobOutcomeKind::WorkerUnreachable);
    EXPECT_EQ(out.reason, kReasonNoWorker);
    EXPECT_TRUE(never.workers.empty());
}

TEST_F(SchedulerTest, ACancelledJobWaitingForAWorkerEndsCancelled) {
    auto held_a = pools_.lease_on("http://a");
    auto held_b = pools_.lease_on("http://b");
    auto held_c = pools_.lease_on("http://c");
    ScriptedRunner runner({outcome(JobOutcomeKind::Succeeded)});
    JobSpec spec;
    spec.job_id = "job";
    spec.pool = "p";
    spec.timeout_ms = 60'000;
    auto flag = std::make_shared<std::atomic<bool>>(true);
    spec.cancelled = flag;
    const JobOutcome out = run_with_retries(
        spec, pools_, {}, [&](const JobSpec& s, const core::Clock& c) { return runner(s, c); },
        clock_);
    EXPECT_EQ(out.kind, JobOutcomeKind::Cancelled);
    EXPECT_TRUE(runner.workers.empty());
}

TEST_F(SchedulerTest, ResumedJobsRunOnceOnTheirWorkerWithALease) {
    ScriptedRunner runner({outcome(JobOutcomeKind::ProtocolError, true)});
    JobSpec spec;
    spec.job_id = "job";
    spec.pool = "p";
    spec.worker_url = "http://b";
    spec.resume_prompt_id = "prompt";
    spec.timeout_ms = 1000;
    const JobOutcome out = run_with_retries(
        spec, pools_, {},
        [&](const JobSpec& s, const core::Clock& c) {
            EXPECT_EQ(pools_.status()[1].leases, 1);
            return runner(s, c);
        },
        clock_);
    EXPECT_EQ(out.kind, JobOutcomeKind::ProtocolError);
    EXPECT_EQ(runner.workers, std::vector<std::string>{"http://b"});
    EXPECT_EQ(pools_.status()[1].leases, 0);
}

}  // namespace
}  // namespace tollgate::dispatch
