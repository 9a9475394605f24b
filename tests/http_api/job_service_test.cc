// JobService without a network: real SQLite stores, a dispatcher whose runner
// is scripted. Checks the settlement invariants: one outcome per hold, the
// captured amount equals the locked quote, and a refused job leaves nothing.
#include "http/api/job_service.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "jobs/sqlite/sqlite_job_store.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/sqlite.h"
#include "support/temp_dir.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::http {
namespace {

constexpr const char* kBook = R"(
[pricing]
version = "t1"
rounding = "floor"
[pricing.workflows.person]
base = 10
per_megapixel = 2.0
upscale_surcharge = 5
minimum = 10
)";

constexpr const char* kGraph = R"({
 "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
 "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "p"}}})";

std::string png_800x600() {
    image::init();
    return image::encode_blank(image::Format::Png, 800, 600);
}

class JobServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        db_ = store::Database::open(dir_.file("t.db")).value();
        ledger_ = ledger::SqliteLedger::open(*db_, clock_).value();
        jobs_ = jobs::SqliteJobStore::open(*db_).value();
        usage_ = usage::SqliteUsageSink::open(*db_).value();
        book_ = pricing::parse_price_book(kBook, "book.toml").value();
        routes_.emplace(
            "person", WorkflowRoute{dispatch::WorkflowTemplate::from_json_text(kGraph, "g").value(),
                                    std::make_unique<dispatch::WorkerPool>(
                                        std::vector<std::string>{"http://w1"})});
        dispatcher_ = std::make_unique<dispatch::Dispatcher>(
            1, clock_, 1,
            [this](const dispatch::JobSpec& spec, const core::Clock&) { return run(spec); });
        JobServiceDeps deps;
        deps.price_book = &book_;
        deps.ledger = ledger_.get();
        deps.jobs = jobs_.get();
        deps.usage = usage_.get();
        deps.dispatcher = dispatcher_.get();
        deps.routes = &routes_;
        store::Database* db = db_.get();
        deps.atomically = [db](const std::function<core::Status()>& fn) {
            return store::transact(*db, fn);
        };
        deps.clock = &clock_;
        deps.data_dir = dir_.file("data");
        service_ = std::make_unique<JobService>(std::move(deps));
        account_ = ledger_->create_account("a").value();
    }

    void TearDown() override { dispatcher_->stop(); }

    // The scripted worker: waits while `blocked_`, then answers `kind_`.
    dispatch::JobOutcome run(const dispatch::JobSpec& spec) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !blocked_; });
        dispatch::JobOutcome o;
        o.kind = kind_;
        o.worker_url = spec.worker_url;
        o.prompt_id = "p-" + spec.job_id;
        o.execution_ms = 1500;
        if (kind_ == dispatch::JobOutcomeKind::Succeeded)
            o.output_bytes = "\x89PNG result";
        else
            o.reason = "boom";
        return o;
    }

    void release() {
        {
            std::lock_guard lock(mu_);
            blocked_ = false;
        }
        cv_.notify_all();
    }

    jobs::Job wait_final(const std::string& job_id) {
        for (int i = 0; i < 2000; ++i) {
            auto job = jobs_->get(job_id).value();
            if (job && jobs::is_final(job->state)) return *job;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ADD_FAILURE() << "job did not finish";
        return {};
    }

    ledger::Balance balance() { return ledger_->balance(account_).value(); }

    testing::TempDir dir_;
    core::ManualClock clock_{1'700'000'000'000};
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<ledger::SqliteLedger> ledger_;
    std::unique_ptr<jobs::SqliteJobStore> jobs_;
    std::unique_ptr<usage::SqliteUsageSink> usage_;
    pricing::PriceBook book_;
    std::map<std::string, WorkflowRoute> routes_;
    std::unique_ptr<dispatch::Dispatcher> dispatcher_;
    std::unique_ptr<JobService> service_;
    std::string account_;

    std::mutex mu_;
    std::condition_variable cv_;
    bool blocked_ = false;
    dispatch::JobOutcomeKind kind_ = dispatch::JobOutcomeKind::Succeeded;
};

TEST_F(JobServiceTest, SuccessCapturesTheLockedQuote) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    auto r = service_->submit(account_, {"person", "", ""}, png_800x600());
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

TEST_F(JobServiceTest, FailureVoidsAndRecordsZero) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    kind_ = dispatch::JobOutcomeKind::ExecutionFailed;
    auto r = service_->submit(account_, {"person", "", ""}, png_800x600());
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
    auto r = service_->submit(account_, {"person", "", ""}, png_800x600());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outcome, SubmitOutcome::InsufficientBalance);
    EXPECT_EQ(r->available, core::Tokens(9));
    EXPECT_TRUE(r->job_id.empty());
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_TRUE(jobs_->unfinished().value().empty());
}

TEST_F(JobServiceTest, BadBytesAreRefusedBeforeAnyHold) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    auto r = service_->submit(account_, {"person", "", ""}, "not an image");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "unsupported_media_type");
    auto u = service_->submit(account_, {"cats", "", ""}, png_800x600());
    ASSERT_FALSE(u.ok());
    EXPECT_EQ(u.error().code, "unknown_workflow");
    EXPECT_EQ(balance().held, core::Tokens(0));
}

TEST_F(JobServiceTest, FullDispatcherVoidsTheHoldAtOnce) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    blocked_ = true;
    // One runs (blocked), one waits in the queue of capacity 1, the third is refused.
    auto a = service_->submit(account_, {"person", "", ""}, png_800x600());
    for (int i = 0; i < 2000 && dispatcher_->running() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(dispatcher_->running(), 1);
    auto b = service_->submit(account_, {"person", "", ""}, png_800x600());
    auto c = service_->submit(account_, {"person", "", ""}, png_800x600());
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

TEST_F(JobServiceTest, RecoveryVoidsJobsLeftUnfinished) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(50), "").ok());
    // A job admitted by a process that then died: hold open, job not final.
    jobs::Job job;
    job.id = "job_orphan";
    job.account_id = account_;
    job.workflow = "person";
    job.tokens = 10;
    job.book_version = "t1";
    job.quote_json = "{}";
    job.format = "png";
    ASSERT_EQ(ledger_->reserve(account_, core::Tokens(10), job.id)->outcome,
              ledger::ReserveOutcome::Held);
    ASSERT_TRUE(jobs_->insert(job).ok());
    EXPECT_EQ(service_->recover_unfinished().value(), 1);
    EXPECT_EQ(balance().available(), core::Tokens(50));
    EXPECT_EQ(jobs_->get(job.id).value()->state, jobs::JobState::Failed);
    EXPECT_EQ(service_->recover_unfinished().value(), 0);
}

}  // namespace
}  // namespace tollgate::http
