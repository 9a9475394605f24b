// JobService on the shared store: a real redis-server holds the ledger, the
// jobs and the usage outbox, and admission and settlement go through
// RedisSettlement, one script each. Two services on one Redis stand for two
// gateway instances.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "http_api/fixture.h"
#include "jobs/redis/redis_job_store.h"
#include "jobs/redis/redis_ownership.h"
#include "jobs/redis/redis_settlement.h"
#include "jobs/redis/redis_webhook_outbox.h"
#include "ledger/redis/redis_ledger.h"
#include "store/redis/redis_client.h"
#include "support/redis_test_store.h"
#include "usage/redis/redis_usage_outbox.h"
#include "usage/redis/redis_usage_sink.h"

namespace tollgate::http::testing_support {
namespace {

// One gateway instance's stores and service, on the shared Redis.
struct Instance {
    std::unique_ptr<store::redis::Client> client;
    std::unique_ptr<ledger::RedisLedger> ledger;
    std::unique_ptr<jobs::RedisJobStore> jobs;
    std::unique_ptr<jobs::RedisSettlement> settlement;
    std::unique_ptr<jobs::RedisOwnership> ownership;
    std::unique_ptr<usage::RedisUsageSink> usage;
    std::unique_ptr<jobs::RedisWebhookOutbox> webhooks;
    std::unique_ptr<PlanService> plans;
    std::unique_ptr<dispatch::Dispatcher> dispatcher;
    std::unique_ptr<JobService> service;
};

class RedisJobServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        start_logging();
        ASSERT_TRUE(::tollgate::testing::shared_redis_server().ok())
            << ::tollgate::testing::shared_redis_server().error();
        auto book = pricing::parse_price_book(kTestBook, "book.toml");
        ASSERT_TRUE(book.ok());
        books_ = std::make_unique<PriceBookSource>(
            std::make_shared<const pricing::PriceBook>(std::move(book).value()),
            []() { return pricing::parse_price_book(kTestBook, "book.toml"); }, nullptr);
        routes_.emplace(
            "person",
            WorkflowRoute{dispatch::WorkflowTemplate::from_json_text(kTestGraph, "g").value()});
        a_ = start("instance-a");
        account_ = a_->ledger->create_account("a").value();
    }
    void TearDown() override {
        release();
        for (Instance* i : {a_.get(), b_.get()}) {
            if (i != nullptr) i->dispatcher->stop();
        }
    }

    std::unique_ptr<Instance> start(const std::string& instance_id) {
        auto in = std::make_unique<Instance>();
        in->client = ::tollgate::testing::shared_redis_client();
        EXPECT_TRUE(in->client);
        in->ledger = ledger::RedisLedger::open(*in->client, clock_, prefix_).value();
        in->jobs = jobs::RedisJobStore::open(*in->client, prefix_).value();
        in->settlement = std::make_unique<jobs::RedisSettlement>(*in->client, *in->jobs, prefix_);
        in->ownership =
            jobs::RedisOwnership::start(*in->client, prefix_, instance_id, lease_ms_).value();
        in->usage = usage::RedisUsageSink::open(*in->client, prefix_).value();
        in->webhooks = std::make_unique<jobs::RedisWebhookOutbox>(*in->client, *in->jobs, prefix_);
        in->plans = std::make_unique<PlanService>(*in->ledger, *in->jobs, *in->usage, clock_);
        in->dispatcher = std::make_unique<dispatch::Dispatcher>(
            2, clock_, 64,
            [this](const dispatch::JobSpec& spec, const core::Clock&) { return run(spec); });
        JobServiceDeps deps;
        deps.books = books_.get();
        deps.plans = in->plans.get();
        deps.ledger = in->ledger.get();
        deps.jobs = in->jobs.get();
        deps.usage = in->usage.get();
        deps.dispatcher = in->dispatcher.get();
        deps.routes = &routes_;
        deps.atomically = [](const std::function<core::Status()>& fn) { return fn(); };
        deps.settlement = in->settlement.get();
        deps.ownership = in->ownership.get();
        deps.webhooks = in->webhooks.get();
        deps.webhook_secret = "webhook-secret";
        deps.webhook_reach = Reach::Anywhere;
        deps.clock = &clock_;
        deps.data_dir = dir_.file("data");
        deps.results_dir = dir_.file("results");
        std::filesystem::create_directories(deps.results_dir);
        deps.account_jobs_max = account_jobs_max_;
        deps.tenant_jobs_max = tenant_jobs_max_;
        deps.result_url_secret = "secret";
        deps.dedupe.policy = dedupe_policy_;
        deps.dedupe.near_policy = jobs::NearDedupePolicy::Allow;
        in->service = std::make_unique<JobService>(std::move(deps));
        return in;
    }

    dispatch::JobOutcome run(const dispatch::JobSpec& spec) {
        std::unique_lock lock(mu_);
        while (blocked_) cv_.wait_for(lock, std::chrono::milliseconds(2));
        dispatch::JobOutcome o;
        o.kind = kind_;
        o.worker_url = "http://w1";
        o.prompt_id = "p-" + spec.job_id;
        o.execution_ms = 1500;
        if (kind_ == dispatch::JobOutcomeKind::Succeeded) {
            o.output_bytes = "\x89PNG result";
        } else {
            o.reason = "boom";
        }
        return o;
    }
    void block() {
        std::lock_guard lock(mu_);
        blocked_ = true;
    }
    void release() {
        {
            std::lock_guard lock(mu_);
            blocked_ = false;
        }
        cv_.notify_all();
    }

    core::Result<SubmitResult> submit(Instance& in, const std::string& key = "") {
        return in.service->submit(account_, {"person", "", "", ""}, png(800, 600), key);
    }
    jobs::Job wait_final(Instance& in, const std::string& job_id) {
        for (int i = 0; i < 4000; ++i) {
            auto job = in.jobs->get(job_id).value();
            if (job && jobs::is_final(job->state)) return *job;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ADD_FAILURE() << "job did not finish";
        return {};
    }
    ledger::Balance balance() { return a_->ledger->balance(account_).value(); }
    std::string verify() {
        auto m = a_->ledger->verify(nullptr);
        EXPECT_TRUE(m.ok());
        std::string out;
        for (const ledger::Mismatch& x : *m) out += x.account_id + ": " + x.what + "\n";
        return out;
    }

    ::tollgate::testing::TempDir dir_;
    core::ManualClock clock_{utc_ms(2026, 11, 28, 12, 0)};
    std::string prefix_ = ::tollgate::testing::unique_redis_prefix("s");
    std::int64_t lease_ms_ = 10'000;
    int account_jobs_max_ = 0;
    int tenant_jobs_max_ = 0;
    jobs::DedupePolicy dedupe_policy_ = jobs::DedupePolicy::Allow;
    std::unique_ptr<PriceBookSource> books_;
    std::map<std::string, WorkflowRoute> routes_;
    std::unique_ptr<Instance> a_, b_;
    std::string account_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool blocked_ = false;
    dispatch::JobOutcomeKind kind_ = dispatch::JobOutcomeKind::Succeeded;
};

TEST_F(RedisJobServiceTest, ASucceededJobIsCapturedStoredAndRecordedInOneStep) {
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(100), "t").ok());
    auto r = submit(*a_);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->outcome, SubmitOutcome::Accepted);
    const std::int64_t tokens = r->priced.quote.tokens.value;
    EXPECT_EQ(r->available.value, 100 - tokens);
    jobs::Job job = wait_final(*a_, r->job_id);
    EXPECT_EQ(job.state, jobs::JobState::Succeeded);
    EXPECT_FALSE(job.result_path.empty());
    EXPECT_EQ(job.worker, "http://w1");
    EXPECT_EQ(balance().captured.value, tokens);
    EXPECT_EQ(balance().held.value, 0);
    auto record = a_->usage->find(r->job_id);
    ASSERT_TRUE(record.ok());
    ASSERT_TRUE(record->has_value());
    EXPECT_EQ((*record)->tokens, tokens);
    EXPECT_EQ((*record)->outcome, "succeeded");
    // The record waits in its shard's outbox for the exporter.
    auto outbox = usage::RedisUsageOutbox::open(*a_->client, prefix_).value();
    EXPECT_EQ(outbox->pending("sink").value(), 1);
    EXPECT_EQ(verify(), "");
}

TEST_F(RedisJobServiceTest, AFailedJobIsVoidedAndRecordedWithNothingCharged) {
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(100), "t").ok());
    kind_ = dispatch::JobOutcomeKind::ExecutionFailed;
    auto r = submit(*a_);
    ASSERT_TRUE(r.ok());
    jobs::Job job = wait_final(*a_, r->job_id);
    EXPECT_EQ(job.state, jobs::JobState::Failed);
    EXPECT_EQ(balance().available().value, 100);
    EXPECT_EQ(balance().captured.value, 0);
    EXPECT_EQ(a_->ledger->find_hold(r->job_id).value()->state, ledger::HoldState::Voided);
    EXPECT_EQ(a_->usage->find(r->job_id).value()->tokens, 0);
    EXPECT_EQ(verify(), "");
}

TEST_F(RedisJobServiceTest, ARefusedJobWritesNothing) {
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(5), "t").ok());
    auto r = submit(*a_);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outcome, SubmitOutcome::InsufficientBalance);
    EXPECT_EQ(r->available.value, 5);
    EXPECT_EQ(a_->jobs->count_unfinished(account_).value(), 0);
    EXPECT_EQ(a_->jobs->recent(account_, 0)->count, 0);
    EXPECT_EQ(a_->ledger->entries(account_)->size(), 1u);  // the grant alone
}

TEST_F(RedisJobServiceTest, AnIdempotencyKeyGetsTheSameJobAndResponseFromEitherInstance) {
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(100), "t").ok());
    b_ = start("instance-b");
    block();
    auto first = submit(*a_, "key-1");
    ASSERT_TRUE(first.ok());
    ASSERT_EQ(first->outcome, SubmitOutcome::Accepted);
    auto again = submit(*b_, "key-1");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->outcome, SubmitOutcome::Replayed);
    EXPECT_EQ(again->job_id, first->job_id);
    EXPECT_EQ(again->response_json, first->response_json);
    // The stored response carries the balance after the hold, not the placeholder.
    auto body = nlohmann::json::parse(first->response_json);
    EXPECT_EQ(body["available"].get<std::int64_t>(), first->available.value);
    EXPECT_EQ(first->response_json.find(std::to_string(jobs::kAvailablePlaceholder)),
              std::string::npos);
    release();
    wait_final(*a_, first->job_id);
    EXPECT_EQ(balance().captured.value, first->priced.quote.tokens.value);
}

TEST_F(RedisJobServiceTest, TheUnfinishedLimitHoldsAcrossInstances) {
    account_jobs_max_ = 2;
    a_->dispatcher->stop();
    a_ = start("instance-a");
    b_ = start("instance-b");
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(1000), "t").ok());
    block();
    ASSERT_EQ(submit(*a_)->outcome, SubmitOutcome::Accepted);
    ASSERT_EQ(submit(*b_)->outcome, SubmitOutcome::Accepted);
    EXPECT_EQ(submit(*a_)->outcome, SubmitOutcome::TooManyJobs);
    EXPECT_EQ(submit(*b_)->outcome, SubmitOutcome::TooManyJobs);
    EXPECT_EQ(balance().held.value, 2 * submit(*a_)->priced.quote.tokens.value);
}

TEST_F(RedisJobServiceTest, TheTenantLimitHoldsAcrossInstances) {
    tenant_jobs_max_ = 2;
    a_->dispatcher->stop();
    a_ = start("instance-a");
    b_ = start("instance-b");
    const std::string other = a_->ledger->create_account("other").value();
    for (const std::string& id : {account_, other}) {
        ASSERT_TRUE(a_->ledger->grant(id, core::Tokens(1000), "t").ok());
        ASSERT_TRUE(a_->ledger->set_tenant(id, "acme").value());
    }
    auto submit_as = [&](Instance& in, const std::string& account) {
        return in.service->submit(account, {"person", "", "", ""}, png(800, 600), "");
    };
    block();
    auto first = submit_as(*a_, account_);
    ASSERT_EQ(first->outcome, SubmitOutcome::Accepted);
    ASSERT_EQ(submit_as(*b_, other)->outcome, SubmitOutcome::Accepted);
    // Each instance follows one job, and neither admits a third.
    auto refused = submit_as(*a_, other);
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->outcome, SubmitOutcome::TenantBusy);
    EXPECT_EQ(submit_as(*b_, account_)->outcome, SubmitOutcome::TenantBusy);
    // Nothing was held for the refusals.
    const std::int64_t price = first->priced.quote.tokens.value;
    EXPECT_EQ(balance().held.value + a_->ledger->balance(other)->held.value, 2 * price);
    // Settled jobs free their slots for either instance.
    release();
    for (Instance* in : {a_.get(), b_.get()}) {
        for (int i = 0; i < 2000 && in->service->jobs_in_flight() > 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ASSERT_EQ(in->service->jobs_in_flight(), 0);
    }
    block();
    EXPECT_EQ(submit_as(*b_, account_)->outcome, SubmitOutcome::Accepted);
    EXPECT_EQ(submit_as(*b_, other)->outcome, SubmitOutcome::Accepted);
    EXPECT_EQ(submit_as(*a_, other)->outcome, SubmitOutcome::TenantBusy);
    release();
}

TEST_F(RedisJobServiceTest, AStoppedInstancesTenantSlotsAreFreedByTheTakeover) {
    tenant_jobs_max_ = 1;
    lease_ms_ = 1'000;
    a_->dispatcher->stop();
    a_ = start("instance-a");
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(100), "t").ok());
    ASSERT_TRUE(a_->ledger->set_tenant(account_, "acme").value());
    block();
    ASSERT_EQ(submit(*a_)->outcome, SubmitOutcome::Accepted);
    a_->ownership->stop_renewing();  // as if A died with its job unfinished
    b_ = start("instance-b");
    EXPECT_EQ(submit(*b_)->outcome, SubmitOutcome::TenantBusy);
    std::this_thread::sleep_for(std::chrono::milliseconds(1'300));
    EXPECT_EQ(b_->service->recover_unfinished().value(), 1);  // failed and voided
    EXPECT_EQ(submit(*b_)->outcome, SubmitOutcome::Accepted);
    release();
}

TEST_F(RedisJobServiceTest, TwoInstancesAdmitExactlyWhatTheBalanceCovers) {
    b_ = start("instance-b");
    block();  // every admitted job stays held
    const std::int64_t price = [&] {
        auto priced = a_->service->price(account_, {"person", "", "", ""}, png(800, 600));
        return priced->quote.tokens.value;
    }();
    constexpr int kCovered = 23;
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(kCovered * price), "exactly K").ok());
    std::atomic<int> accepted{0}, refused{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            Instance& in = t % 2 == 0 ? *a_ : *b_;
            for (int i = 0; i < 10; ++i) {
                auto r = submit(in);
                if (!r.ok()) {
                    ++errors;
                } else if (r->outcome == SubmitOutcome::Accepted) {
                    ++accepted;
                } else if (r->outcome == SubmitOutcome::InsufficientBalance) {
                    ++refused;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(accepted.load(), kCovered);
    EXPECT_EQ(refused.load(), 80 - kCovered);
    EXPECT_EQ(balance().available().value, 0);
    release();
}

TEST_F(RedisJobServiceTest, IdenticalRequestsOnBothInstancesAtOnceAreHeldAndChargedOnce) {
    dedupe_policy_ = jobs::DedupePolicy::Reuse;
    a_->dispatcher->stop();
    a_ = start("instance-a");
    b_ = start("instance-b");
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(1'000), "t").ok());
    block();  // the first job stays in flight: every other one attaches to it
    constexpr int kThreads = 8, kEach = 5;
    std::atomic<int> accepted{0}, other{0};
    std::mutex ids_mu;
    std::set<std::string> dispatched;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            Instance& in = t % 2 == 0 ? *a_ : *b_;
            for (int i = 0; i < kEach; ++i) {
                auto r = submit(in);
                if (!r.ok() || r->outcome != SubmitOutcome::Accepted) {
                    ++other;
                    continue;
                }
                ++accepted;
                if (r->dedupe.action == jobs::DedupeAction::Proceed) {
                    std::lock_guard lock(ids_mu);
                    dispatched.insert(r->job_id);
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(accepted.load(), kThreads * kEach);
    ASSERT_EQ(dispatched.size(), 1u);  // one hold, one dispatch
    const std::int64_t price = a_->jobs->get(*dispatched.begin()).value().value().tokens;
    EXPECT_EQ(balance().held.value, price);
    EXPECT_EQ(a_->jobs->count_attached(*dispatched.begin()).value(), kThreads * kEach - 1);
    release();
    jobs::Job first = wait_final(*a_, *dispatched.begin());
    EXPECT_EQ(first.state, jobs::JobState::Succeeded);
    for (int i = 0; i < 400 && a_->jobs->count_unfinished(account_).value() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(a_->jobs->count_unfinished(account_).value(), 0);
    EXPECT_EQ(balance().held.value, 0);
    EXPECT_EQ(balance().available().value, 1'000 - price);  // charged once
    EXPECT_EQ(verify(), "");
}

TEST_F(RedisJobServiceTest, AStoppedInstancesJobsAreTakenOverAndVoided) {
    lease_ms_ = 1'000;
    a_->dispatcher->stop();
    a_ = start("instance-a");
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(100), "t").ok());
    block();
    auto r = submit(*a_);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->outcome, SubmitOutcome::Accepted);
    // Instance A stops renewing its lease (as if it died); its job stays.
    a_->ownership->stop_renewing();
    b_ = start("instance-b");
    EXPECT_EQ(b_->service->recover_unfinished().value(), 0);  // A's lease still runs
    std::this_thread::sleep_for(std::chrono::milliseconds(1'300));
    EXPECT_EQ(b_->service->recover_unfinished().value(), 1);
    jobs::Job job = b_->jobs->get(r->job_id).value().value();
    EXPECT_EQ(job.state, jobs::JobState::Failed);
    EXPECT_EQ(balance().held.value, 0);
    EXPECT_EQ(balance().available().value, 100);
    EXPECT_EQ(b_->service->recover_unfinished().value(), 0);  // taken once
    release();
}

TEST_F(RedisJobServiceTest, DuplicatesOfAJobWhoseOwnerDiedAfterItEndedAreEndedByTheTakeover) {
    lease_ms_ = 1'000;
    a_->dispatcher->stop();
    a_ = start("instance-a");
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(100), "t").ok());
    block();
    auto r = submit(*a_);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->outcome, SubmitOutcome::Accepted);
    jobs::Job first = a_->jobs->get(r->job_id).value().value();
    // A duplicate attached to it, as admission stores one.
    jobs::Job dup = first;
    dup.id = "job_dup_1";
    dup.tokens = 0;
    dup.state = jobs::JobState::Admitted;
    dup.dedupe_kind = jobs::DedupeKind::Exact;
    dup.dedupe_of = first.id;
    dup.dedupe_reused = true;
    ASSERT_TRUE(a_->jobs->insert(dup).ok());
    ASSERT_TRUE(a_->jobs->transition(dup.id, jobs::JobState::Dispatched, dup).ok());
    // The first job's end commits, then its instance dies before ending the duplicate.
    jobs::Job ended = first;
    ended.state = jobs::JobState::Failed;
    ended.failure_reason = "execution_failed: boom";
    ended.finished_ms = clock_.now_ms();
    usage::UsageRecord record;
    record.job_id = first.id;
    record.account_id = account_;
    record.outcome = "failed";
    ASSERT_EQ(a_->settlement->end({ended, true, record, std::nullopt}).value(),
              jobs::EndOutcome::Ended);
    a_->ownership->stop_renewing();
    b_ = start("instance-b");
    std::this_thread::sleep_for(std::chrono::milliseconds(1'300));
    ASSERT_TRUE(b_->service->recover_unfinished().ok());
    jobs::Job after = b_->jobs->get(dup.id).value().value();
    EXPECT_EQ(after.state, jobs::JobState::Failed);
    EXPECT_NE(after.failure_reason.find(first.id), std::string::npos);
    EXPECT_EQ(b_->jobs->count_unfinished(account_).value(), 0);
    release();
}

TEST_F(RedisJobServiceTest, AJobsWebhookIsQueuedWithItsEndAndDeliveredByOneInstance) {
    ASSERT_TRUE(a_->ledger->grant(account_, core::Tokens(100), "t").ok());
    b_ = start("instance-b");
    auto r = a_->service->submit(account_, {"person", "", "", ""}, png(800, 600), "",
                                 "http://127.0.0.1:9/hook");
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->outcome, SubmitOutcome::Accepted);
    wait_final(*a_, r->job_id);
    auto queued = b_->webhooks->for_job(r->job_id);
    ASSERT_TRUE(queued.ok());
    ASSERT_TRUE(queued->has_value());
    EXPECT_EQ((*queued)->state, jobs::DeliveryState::Pending);
    EXPECT_NE((*queued)->payload_json.find("job.succeeded"), std::string::npos);
    // Either instance may deliver it; the first to ask claims it.
    const std::int64_t now = clock_.now_ms();
    auto due_a = a_->webhooks->due(now, 10);
    ASSERT_TRUE(due_a.ok());
    ASSERT_EQ(due_a->size(), 1u);
    EXPECT_EQ(b_->webhooks->due(now, 10)->size(), 0u);
    EXPECT_EQ(b_->webhooks->next_due_ms().value(), now + jobs::kWebhookClaimMs);
    jobs::DeliveryAttempt done{due_a->front().id, jobs::DeliveryState::Delivered, 0, 204, "", now};
    ASSERT_TRUE(a_->webhooks->record_attempt(done).ok());
    EXPECT_EQ(b_->webhooks->for_job(r->job_id)->value().state, jobs::DeliveryState::Delivered);
    EXPECT_EQ(b_->webhooks->record_attempt(done).error().code, "webhook_not_pending");
    EXPECT_FALSE(b_->webhooks->next_due_ms()->has_value());
    // A claim that runs out (the instance died mid-delivery) makes it due again.
    auto other = a_->service->submit(account_, {"person", "", "", ""}, png(800, 600), "",
                                     "http://127.0.0.1:9/hook");
    ASSERT_TRUE(other.ok());
    wait_final(*a_, other->job_id);
    ASSERT_EQ(a_->webhooks->due(now, 10)->size(), 1u);
    EXPECT_EQ(b_->webhooks->due(now + jobs::kWebhookClaimMs, 10)->size(), 1u);
}

}  // namespace
}  // namespace tollgate::http::testing_support
