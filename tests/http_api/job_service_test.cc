// JobService without a network: real SQLite stores, a dispatcher whose runner
// is scripted. Checks the settlement invariants: one outcome per hold, the
// captured amount equals the locked quote, and a refused job leaves nothing.
#include "http/api/job_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>

#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using testing_support::png;
using testing_support::utc_ms;

class JobServiceTest : public testing_support::GatewayFixture {};

std::string png_800x600() { return png(800, 600); }

TEST_F(JobServiceTest, SuccessCapturesTheLockedQuote) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    auto r = service_->submit(account_, {"person", "", "", ""}, png_800x600());
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->outcome, SubmitOutcome::Accepted);
    EXPECT_EQ(r->priced.quote.tokens, core::Tokens(10));
    jobs::Job job = wait_final(r->job_id);
    EXPECT_EQ(job.state, jobs::JobState::Succeeded);
    EXPECT_EQ(balance().captured, core::Tokens(10));
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_TRUE(std::filesystem::exists(dir_.file("data") + "/" + job.result_path));
    auto record = usage_->find(job.id).value();
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->tokens, 10);
    EXPECT_EQ(record->execution_ms, 1500);
    EXPECT_EQ(record->outcome, "succeeded");
}

// A worker's success delivered twice (a retried callback, a re-attached
// prompt) charges once and leaves the first result in place, untouched; the
// second delivery's file is removed.
TEST_F(JobServiceTest, DuplicateSuccessChargesOnceAndKeepsTheResult) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    auto r = service_->submit(account_, {"person", "", "", ""}, png_800x600());
    ASSERT_TRUE(r.ok());
    jobs::Job job = wait_final(r->job_id);
    ASSERT_EQ(job.state, jobs::JobState::Succeeded);
    const std::string file = dir_.file("data") + "/" + job.result_path;
    dispatch::JobOutcome again;
    again.kind = dispatch::JobOutcomeKind::Succeeded;
    again.worker_url = job.worker;
    again.output_bytes = "\x89PNG other";
    service_->finish(job, again);
    EXPECT_EQ(balance().captured, core::Tokens(10));
    ASSERT_TRUE(std::filesystem::exists(file));
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes, "\x89PNG result");
    // A failure delivered after the success changes nothing either.
    again.kind = dispatch::JobOutcomeKind::ExecutionFailed;
    service_->finish(job, again);
    EXPECT_EQ(jobs_->get(job.id).value()->state, jobs::JobState::Succeeded);
    EXPECT_EQ(balance().captured, core::Tokens(10));
    int files = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(file).parent_path())) {
        EXPECT_EQ(entry.path().string(), file);
        ++files;
    }
    EXPECT_EQ(files, 1);
}

// The result is durable under the name the job records before the
// transaction that records it runs: the committer, which every job's commits
// wait on, never waits for a result's fsyncs.
TEST_F(JobServiceTest, TheResultIsInPlaceBeforeTheTransactionThatNamesIt) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    std::mutex mu;
    std::string seen_path, seen_bytes;
    service_jobs_->before_transition = [&](const std::string&, jobs::JobState to,
                                           const jobs::Job& update) {
        if (to != jobs::JobState::Succeeded) return;
        std::lock_guard lock(mu);
        seen_path = update.result_path;
        std::ifstream in(dir_.file("data") + "/" + update.result_path, std::ios::binary);
        seen_bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    auto r = service_->submit(account_, {"person", "", "", ""}, png_800x600());
    ASSERT_TRUE(r.ok());
    const jobs::Job job = wait_final(r->job_id);
    service_jobs_->before_transition = nullptr;
    ASSERT_EQ(job.state, jobs::JobState::Succeeded);
    std::lock_guard lock(mu);
    EXPECT_EQ(seen_path, job.result_path);
    EXPECT_TRUE(seen_path.starts_with("results/" + job.id + "-")) << seen_path;
    EXPECT_EQ(seen_bytes, "\x89PNG result");
}

TEST_F(JobServiceTest, FailureVoidsAndRecordsZero) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    kind_ = dispatch::JobOutcomeKind::ExecutionFailed;
    auto r = service_->submit(account_, {"person", "", "", ""}, png_800x600());
    ASSERT_TRUE(r.ok());
    jobs::Job job = wait_final(r->job_id);
    EXPECT_EQ(job.state, jobs::JobState::Failed);
    EXPECT_NE(job.failure_reason.find("execution_failed"), std::string::npos);
    EXPECT_EQ(balance().available(), core::Tokens(50));
    EXPECT_EQ(balance().captured, core::Tokens(0));
    EXPECT_EQ(ledger_->find_hold(job.id).value()->state, ledger::HoldState::Voided);
    EXPECT_EQ(usage_->find(job.id).value()->tokens, 0);
}

TEST_F(JobServiceTest, ShortBalanceCreatesNoJobAndNoHold) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(9), "").ok());
    auto r = service_->submit(account_, {"person", "", "", ""}, png_800x600());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outcome, SubmitOutcome::InsufficientBalance);
    EXPECT_EQ(r->available, core::Tokens(9));
    EXPECT_TRUE(r->job_id.empty());
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_TRUE(jobs_->unfinished().value().empty());
}

TEST_F(JobServiceTest, BadBytesAreRefusedBeforeAnyHold) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    auto r = service_->submit(account_, {"person", "", "", ""}, "not an image");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "unsupported_media_type");
    auto u = service_->submit(account_, {"cats", "", "", ""}, png_800x600());
    ASSERT_FALSE(u.ok());
    EXPECT_EQ(u.error().code, "unknown_workflow");
    EXPECT_EQ(balance().held, core::Tokens(0));
}

TEST_F(JobServiceTest, FullDispatcherVoidsTheHoldAtOnce) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    block();
    // One runs (blocked), one waits in the queue of capacity 1, the third is refused.
    auto a = service_->submit(account_, {"person", "", "", ""}, png_800x600());
    for (int i = 0; i < 2000 && dispatcher_->running() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(dispatcher_->running(), 1);
    auto b = service_->submit(account_, {"person", "", "", ""}, png_800x600());
    auto c = service_->submit(account_, {"person", "", "", ""}, png_800x600());
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(a->outcome, SubmitOutcome::Accepted);
    EXPECT_EQ(b->outcome, SubmitOutcome::Accepted);
    EXPECT_EQ(c->outcome, SubmitOutcome::Busy);
    EXPECT_EQ(balance().held, core::Tokens(20));
    release();
    wait_final(a->job_id);
    wait_final(b->job_id);
    EXPECT_EQ(balance().captured, core::Tokens(20));
    EXPECT_EQ(balance().available(), core::Tokens(30));
}

TEST_F(JobServiceTest, ExpiredHoldIsSweptWithItsJobAndALateResultChargesNothing) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    block();
    auto r = service_->submit(account_, {"person", "", "", ""}, png_800x600());
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->outcome, SubmitOutcome::Accepted);
    wait_running(1);
    // One millisecond before the TTL nothing is swept; at the TTL the job fails.
    clock_.advance_ms(600'000 + kHoldGraceMs - 1);
    EXPECT_EQ(service_->sweep_expired_holds().value(), 0);
    clock_.advance_ms(1);
    EXPECT_EQ(service_->sweep_expired_holds().value(), 1);
    jobs::Job job = jobs_->get(r->job_id).value().value();
    EXPECT_EQ(job.state, jobs::JobState::Failed);
    EXPECT_NE(job.failure_reason.find("hold expired"), std::string::npos);
    EXPECT_EQ(balance().available(), core::Tokens(50));
    EXPECT_EQ(balance().held, core::Tokens(0));
    // The worker finishes after all: the hold is gone, so nothing is captured.
    release();
    for (int i = 0; i < 2000 && dispatcher_->running() > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    dispatcher_->stop();
    EXPECT_EQ(balance().captured, core::Tokens(0));
    EXPECT_EQ(jobs_->get(r->job_id).value()->state, jobs::JobState::Failed);
    EXPECT_EQ(service_->sweep_expired_holds().value(), 0);
}

TEST_F(JobServiceTest, RecoveryVoidsJobsLeftUnfinished) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    // A job admitted by a process that then died: hold open, job not final.
    const jobs::Job job = left_held("job_orphan");
    if (HasFailure()) return;  // as the ASSERTs it replaces
    EXPECT_EQ(service_->recover_unfinished().value(), 1);
    EXPECT_EQ(balance().available(), core::Tokens(50));
    EXPECT_EQ(jobs_->get(job.id).value()->state, jobs::JobState::Failed);
    EXPECT_EQ(service_->recover_unfinished().value(), 0);
}

TEST_F(JobServiceTest, RecoveryReattachesToAPromptTheWorkerAccepted) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    // A job whose worker had accepted prompt p-77 when the process died.
    const jobs::Job job = left_held("job_inflight");
    if (HasFailure()) return;  // as the ASSERTs it replaces
    jobs::Job update = job;
    update.worker = "http://w1";
    ASSERT_TRUE(jobs_->transition(job.id, jobs::JobState::Dispatched, update).ok());
    ASSERT_TRUE(jobs_->set_prompt(job.id, "http://w1", "p-77").ok());

    EXPECT_EQ(service_->recover_unfinished().value(), 1);
    jobs::Job done = wait_final(job.id);
    EXPECT_EQ(done.state, jobs::JobState::Succeeded);
    EXPECT_EQ(last_resume_prompt_, "p-77");
    EXPECT_EQ(balance().captured, core::Tokens(10));
    EXPECT_EQ(service_->recover_unfinished().value(), 0);

    // Past its deadline a job is not followed again: it is voided.
    jobs::Job late = job;
    late.id = "job_late";
    ASSERT_EQ(ledger_->reserve(account_, core::Tokens(10), late.id)->outcome,
              ledger::ReserveOutcome::Held);
    ASSERT_TRUE(jobs_->insert(late).ok());
    ASSERT_TRUE(jobs_->transition(late.id, jobs::JobState::Dispatched, update).ok());
    ASSERT_TRUE(jobs_->set_prompt(late.id, "http://w1", "p-78").ok());
    clock_.advance_ms(600'000);
    EXPECT_EQ(service_->recover_unfinished().value(), 1);
    EXPECT_EQ(jobs_->get(late.id).value()->state, jobs::JobState::Failed);
    EXPECT_EQ(balance().available(), core::Tokens(40));
}

}  // namespace
}  // namespace tollgate::http
