// Exact duplicates over the API: each policy (reuse charges 0 and returns the
// first result, reject answers 409 naming the first job, allow charges
// twice), single flight (a duplicate of a job in flight attaches to it and is
// never dispatched), and what happens to attached jobs when the first one
// fails, is cancelled, or is left behind by a crash.
#include <gtest/gtest.h>

#include <thread>

#include "http_api/dedupe_fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;
using testing_support::DedupeFixture;

class DedupeReuseTest : public DedupeFixture {};

TEST_F(DedupeReuseTest, ReuseChargesNothingAndReturnsTheFirstResult) {
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    ASSERT_EQ(first["tokens"], 10);
    EXPECT_FALSE(first.contains("dedupe"));
    ASSERT_EQ(wait_final(first["job_id"]).state, jobs::JobState::Succeeded);
    ASSERT_EQ(runs(), 1u);

    const json second = admitted(post(photo));
    EXPECT_NE(second["job_id"], first["job_id"]);
    EXPECT_EQ(second["state"], "succeeded");
    EXPECT_EQ(second["tokens"], 0);
    EXPECT_EQ(second["available"], 90);
    EXPECT_EQ(second["dedupe"],
              json({{"kind", "exact"}, {"of", first["job_id"]}, {"reused", true}}));
    // Nothing ran again, nothing moved in the ledger.
    EXPECT_EQ(runs(), 1u);
    EXPECT_EQ(balance().captured, core::Tokens(10));
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_EQ(entries_of("hold"), 1);
    EXPECT_EQ(entries_of("capture"), 1);

    const json shown = get_job(second["job_id"]);
    EXPECT_EQ(shown["state"], "succeeded");
    EXPECT_EQ(shown["tokens_charged"], 0);
    EXPECT_EQ(shown["dedupe"]["kind"], "exact");
    EXPECT_EQ(shown["dedupe"]["of"], first["job_id"]);
    EXPECT_TRUE(shown.contains("result_url"));
    EXPECT_EQ(result_of(second["job_id"]), result_of(first["job_id"]));
    EXPECT_EQ(result_of(second["job_id"]), "\x89PNG result");

    const usage::UsageRecord record = usage_of(second["job_id"]);
    EXPECT_EQ(record.tokens, 0);
    EXPECT_EQ(record.outcome, "succeeded");
    EXPECT_EQ(record.dedupe_kind, "exact");
    EXPECT_EQ(record.dedupe_of, first["job_id"]);
    EXPECT_EQ(record.md5_hex, usage_of(first["job_id"]).md5_hex);
    EXPECT_FALSE(record.md5_hex.empty());
    EXPECT_EQ(usage_of(first["job_id"]).dedupe_kind, "");
    // Nothing ran for it, so no meter measured it; the first job's figures stay its own.
    EXPECT_EQ(record.meter_wall_ms, -1);
    EXPECT_EQ(record.meter_gpu_peak_bytes, -1);
    EXPECT_GE(usage_of(first["job_id"]).meter_wall_ms, 0);
}

TEST_F(DedupeReuseTest, OtherOptionsAreOtherWork) {
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    wait_final(first["job_id"]);
    // Upscaled: another output, so charged; the same photo is flagged near.
    const json upscaled = admitted(post(photo, "", "workflow=person&upscale_factor=2"));
    EXPECT_GT(upscaled["tokens"], 0);
    EXPECT_EQ(upscaled["dedupe"]["kind"], "near");
    EXPECT_EQ(upscaled["dedupe"]["distance"], 0);
    EXPECT_EQ(upscaled["dedupe"]["reused"], false);
    wait_final(upscaled["job_id"]);
    EXPECT_EQ(runs(), 2u);
    EXPECT_EQ(entries_of("capture"), 2);
}

TEST_F(DedupeReuseTest, AFailedOrCancelledJobIsNotADuplicate) {
    const std::string photo = testing::sample_portrait();
    kind_ = dispatch::JobOutcomeKind::ExecutionFailed;
    const json failed = admitted(post(photo));
    ASSERT_EQ(wait_final(failed["job_id"]).state, jobs::JobState::Failed);
    kind_ = dispatch::JobOutcomeKind::Succeeded;
    block();
    const json retried = admitted(post(photo));
    EXPECT_FALSE(retried.contains("dedupe"));
    EXPECT_EQ(retried["tokens"], 10);
    wait_running(1);
    Response cancelled =
        call("DELETE", "/v1/jobs/" + retried["job_id"].get<std::string>(), "", key_);
    ASSERT_EQ(cancelled.status, 200) << cancelled.body;
    release();
    const json again = admitted(post(photo));
    EXPECT_FALSE(again.contains("dedupe"));
    EXPECT_EQ(wait_final(again["job_id"]).state, jobs::JobState::Succeeded);
    EXPECT_EQ(runs(), 3u);
    EXPECT_EQ(balance().captured, core::Tokens(10));
}

class DedupeRejectTest : public DedupeFixture {
  protected:
    DedupeRejectTest() { dedupe_.policy = jobs::DedupePolicy::Reject; }
};

TEST_F(DedupeRejectTest, ADuplicateGets409NamingTheFirstJobAndHoldsNothing) {
    const std::string photo = testing::sample_portrait();
    block();
    const json first = admitted(post(photo));
    // In flight.
    Response refused = post(photo);
    EXPECT_EQ(refused.status, 409);
    json body = json::parse(refused.body);
    EXPECT_EQ(body["error"]["code"], "duplicate");
    EXPECT_EQ(body["error"]["duplicate_of"], first["job_id"]);
    EXPECT_EQ(body["duplicate_of"], first["job_id"]);
    EXPECT_EQ(body["error"]["dedupe"]["kind"], "exact");
    EXPECT_EQ(balance().held, core::Tokens(10));
    EXPECT_EQ(entries_of("hold"), 1);
    release();
    ASSERT_EQ(wait_final(first["job_id"]).state, jobs::JobState::Succeeded);
    // And once it succeeded.
    Response later = post(photo);
    EXPECT_EQ(later.status, 409);
    EXPECT_EQ(json::parse(later.body)["duplicate_of"], first["job_id"]);
    EXPECT_EQ(jobs_->recent(account_, 0).value().count, 1);
    EXPECT_EQ(balance().captured, core::Tokens(10));
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_EQ(runs(), 1u);
}

class DedupeAllowTest : public DedupeFixture {
  protected:
    DedupeAllowTest() { dedupe_.policy = jobs::DedupePolicy::Allow; }
};

TEST_F(DedupeAllowTest, EveryCopyIsChargedAndNothingIsRecorded) {
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    wait_final(first["job_id"]);
    const json second = admitted(post(photo));
    EXPECT_EQ(second["tokens"], 10);
    EXPECT_FALSE(second.contains("dedupe"));
    wait_final(second["job_id"]);
    EXPECT_FALSE(get_job(second["job_id"]).contains("dedupe"));
    EXPECT_EQ(usage_of(second["job_id"]).dedupe_kind, "");
    EXPECT_EQ(balance().captured, core::Tokens(20));
    EXPECT_EQ(entries_of("capture"), 2);
    EXPECT_EQ(runs(), 2u);
}

class DedupeSingleFlightTest : public DedupeFixture {
  protected:
    // What a process that died leaves: a held job `id` in flight (accepted by
    // a worker, with its prompt recorded, or not), and a duplicate `id`_dup
    // attached to it.
    void leave_unfinished(const std::string& id, bool accepted) {
        jobs::Job job = left_held(id);
        EXPECT_TRUE(jobs_->transition(id, jobs::JobState::Dispatched, job).ok());
        if (accepted) {
            EXPECT_TRUE(jobs_->set_prompt(id, "http://w1", "p-" + id).ok());
        }
        jobs::Job dup = job;
        dup.id = id + "_dup";
        dup.tokens = 0;
        dup.dedupe_kind = jobs::DedupeKind::Exact;
        dup.dedupe_of = id;
        dup.dedupe_reused = true;
        EXPECT_TRUE(jobs_->insert(dup).ok());
        EXPECT_TRUE(jobs_->transition(dup.id, jobs::JobState::Dispatched, dup).ok());
    }
};

TEST_F(DedupeSingleFlightTest, TwoIdenticalSubmissionsAtOnceDispatchOnce) {
    const std::string photo = testing::sample_portrait();
    block();
    Response answers[2];
    std::thread a([&] { answers[0] = post(photo); });
    std::thread b([&] { answers[1] = post(photo); });
    a.join();
    b.join();
    const json one = admitted(answers[0]);
    const json two = admitted(answers[1]);
    // Exactly one of them holds and runs; the other is attached to it.
    const bool first_ran = !one.contains("dedupe");
    const json& ran = first_ran ? one : two;
    const json& attached = first_ran ? two : one;
    ASSERT_FALSE(ran.contains("dedupe")) << ran;
    ASSERT_TRUE(attached.contains("dedupe")) << attached;
    EXPECT_EQ(attached["state"], "dispatched");
    EXPECT_EQ(attached["tokens"], 0);
    EXPECT_EQ(attached["dedupe"]["of"], ran["job_id"]);
    EXPECT_EQ(balance().held, core::Tokens(10));
    EXPECT_EQ(get_job(attached["job_id"])["state"], "dispatched");

    release();
    const jobs::Job done = wait_final(attached["job_id"]);
    EXPECT_EQ(done.state, jobs::JobState::Succeeded);
    EXPECT_EQ(wait_final(ran["job_id"]).state, jobs::JobState::Succeeded);
    EXPECT_EQ(runs(), 1u);
    EXPECT_EQ(entries_of("hold"), 1);
    EXPECT_EQ(entries_of("capture"), 1);
    EXPECT_EQ(balance().captured, core::Tokens(10));
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_EQ(get_job(attached["job_id"])["tokens_charged"], 0);
    EXPECT_EQ(result_of(attached["job_id"]), result_of(ran["job_id"]));
    EXPECT_EQ(usage_of(attached["job_id"]).tokens, 0);
    EXPECT_EQ(usage_of(attached["job_id"]).dedupe_kind, "exact");
    EXPECT_EQ(usage_of(ran["job_id"]).tokens, 10);
}

TEST_F(DedupeSingleFlightTest, AttachedJobsFailWithTheFirstAndNothingIsCharged) {
    const std::string photo = testing::sample_portrait();
    block();
    const json first = admitted(post(photo));
    wait_running(1);
    const json second = admitted(post(photo));
    const json third = admitted(post(photo));
    ASSERT_EQ(second["dedupe"]["of"], first["job_id"]);
    ASSERT_EQ(third["dedupe"]["of"], first["job_id"]);
    kind_ = dispatch::JobOutcomeKind::ExecutionFailed;
    release();
    for (const json* j : {&first, &second, &third}) {
        EXPECT_EQ(wait_final((*j)["job_id"]).state, jobs::JobState::Failed);
    }
    const json shown = get_job(second["job_id"]);
    EXPECT_EQ(shown["state"], "failed");
    EXPECT_EQ(shown["tokens_charged"], 0);
    EXPECT_NE(shown["failure_reason"].get<std::string>().find(first["job_id"].get<std::string>()),
              std::string::npos);
    EXPECT_EQ(usage_of(third["job_id"]).outcome, "failed");
    EXPECT_EQ(runs(), 1u);
    EXPECT_EQ(balance().available(), core::Tokens(100));
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_EQ(entries_of("capture"), 0);
    EXPECT_TRUE(ledger_->verify(nullptr).value().empty());
}

TEST_F(DedupeSingleFlightTest, CancellingTheFirstFailsTheAttachedOnes) {
    const std::string photo = testing::sample_portrait();
    block();
    const json first = admitted(post(photo));
    wait_running(1);
    const json second = admitted(post(photo));
    Response cancelled = call("DELETE", "/v1/jobs/" + first["job_id"].get<std::string>(), "", key_);
    ASSERT_EQ(cancelled.status, 200) << cancelled.body;
    const jobs::Job attached = wait_final(second["job_id"]);
    EXPECT_EQ(attached.state, jobs::JobState::Failed);
    EXPECT_FALSE(attached.cancelled());  // its own client did not cancel it
    EXPECT_EQ(balance().available(), core::Tokens(100));
    EXPECT_EQ(balance().held, core::Tokens(0));
}

TEST_F(DedupeSingleFlightTest, CancellingAnAttachedJobLeavesTheFirstRunning) {
    const std::string photo = testing::sample_portrait();
    block();
    const json first = admitted(post(photo));
    wait_running(1);
    const json second = admitted(post(photo));
    Response cancelled =
        call("DELETE", "/v1/jobs/" + second["job_id"].get<std::string>(), "", key_);
    ASSERT_EQ(cancelled.status, 200) << cancelled.body;
    EXPECT_EQ(json::parse(cancelled.body)["state"], "cancelled");
    release();
    EXPECT_EQ(wait_final(first["job_id"]).state, jobs::JobState::Succeeded);
    EXPECT_TRUE(jobs_->get(second["job_id"]).value()->cancelled());
    EXPECT_EQ(balance().captured, core::Tokens(10));
    EXPECT_EQ(entries_of("void"), 0);
}

TEST_F(DedupeSingleFlightTest, RecoverySettlesAttachedJobsWithTheirFirstJob) {
    // What a process that died left: a held job a worker had accepted, and a
    // duplicate attached to it; and a held job no worker had, with its own.
    leave_unfinished("job_accepted", true);
    leave_unfinished("job_lost", false);
    if (HasFailure()) return;
    auto recovered = service_->recover_unfinished();
    ASSERT_TRUE(recovered.ok()) << recovered.error().message;
    EXPECT_EQ(*recovered, 4);
    EXPECT_EQ(jobs_->get("job_lost").value()->state, jobs::JobState::Failed);
    EXPECT_EQ(jobs_->get("job_lost_dup").value()->state, jobs::JobState::Failed);
    EXPECT_EQ(wait_final("job_accepted").state, jobs::JobState::Succeeded);
    const jobs::Job dup = wait_final("job_accepted_dup");
    EXPECT_EQ(dup.state, jobs::JobState::Succeeded);
    EXPECT_EQ(dup.result_path, jobs_->get("job_accepted").value()->result_path);
    EXPECT_EQ(balance().captured, core::Tokens(10));
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_EQ(service_->recover_unfinished().value(), 0);
}

TEST_F(DedupeSingleFlightTest, ARecoveredJobThatFinishesDuringRecoveryKeepsItsAttachedOnes) {
    // Recovery re-attaches the first job, and it finishes in the background
    // (settling its duplicate in the same transaction) while recovery is
    // between its reads of the two. Recovery must see both ended, or neither:
    // never fail a duplicate that has just succeeded.
    leave_unfinished("job_accepted", true);
    if (HasFailure()) return;
    block();
    bool finished_between = false;
    service_jobs_->after_get = [&](const std::string& job_id) {
        if (finished_between || (job_id != "job_accepted" && job_id != "job_accepted_dup")) return;
        finished_between = true;
        release();
        wait_final("job_accepted");
    };
    auto recovered = service_->recover_unfinished();
    service_jobs_->after_get = nullptr;
    release();
    ASSERT_TRUE(recovered.ok()) << recovered.error().message;
    EXPECT_EQ(*recovered, 2);
    EXPECT_TRUE(finished_between);
    EXPECT_EQ(wait_final("job_accepted").state, jobs::JobState::Succeeded);
    EXPECT_EQ(wait_final("job_accepted_dup").state, jobs::JobState::Succeeded);
    EXPECT_EQ(balance().captured, core::Tokens(10));
    EXPECT_EQ(balance().held, core::Tokens(0));
}

TEST_F(DedupeSingleFlightTest, AnIdempotencyKeyReplaysTheDuplicateAnswer) {
    const std::string photo = testing::sample_portrait();
    const json first = admitted(post(photo));
    wait_final(first["job_id"]);
    Request r;
    r.method = "POST";
    r.path = "/v1/jobs";
    r.query = "workflow=person";
    r.target = "/v1/jobs?workflow=person";
    r.body = photo;
    r.headers["authorization"] = "Bearer " + key_;
    r.headers["idempotency-key"] = "retry-1";
    Response reused = api_->handle(r);
    ASSERT_EQ(reused.status, 202) << reused.body;
    Response replayed = api_->handle(r);
    EXPECT_EQ(replayed.body, reused.body);
    EXPECT_EQ(json::parse(replayed.body)["dedupe"]["of"], first["job_id"]);
    EXPECT_EQ(jobs_->recent(account_, 0).value().count, 2);
}

}  // namespace
}  // namespace tollgate::http
