// A gateway without a network: real SQLite stores in a temporary directory,
// the price book parsed from text that a test may change and reload, a
// manual clock, and a dispatcher whose runner is scripted (it can be held
// blocked to keep jobs in flight). Shared by the http_api tests.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "core/time_zone.h"
#include "http/api/api.h"
#include "http/api/book_source.h"
#include "http/api/job_service.h"
#include "http/api/plan_service.h"
#include "http_api/hooked_job_store.h"
#include "image/probe.h"
#include "jobs/sqlite/sqlite_job_store.h"
#include "jobs/sqlite/sqlite_webhook_outbox.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/sqlite.h"
#include "support/temp_dir.h"
#include "usage/sqlite/sqlite_reports.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::http::testing_support {

// person: the seed's prices. A peak window 19:00-23:00 UTC at x1.5; tenant
// acme is postpaid with a 30-token credit limit; plans of every kind.
inline constexpr const char* kTestBook = R"(
version = "t1"
rounding = "floor"
time_zone = "UTC"

[workflows.person]
base = 10
per_megapixel = 2.0
upscale_surcharge = 5
minimum = 10

[[windows]]
name = "peak"
start = "19:00"
end = "23:00"
multiplier = 1.5

[tenants.acme]
postpaid = true
credit_limit = 30

[tenants.half]
discount_percent = 50
minimum = 3

[plans.monthly]
period = "month"
tokens = 100
price = "9.99"
currency = "USD"

[plans.rolling]
period = "month"
tokens = 100
price = "19.99"
currency = "USD"
rollover_max = 30

[plans.annual]
period = "year"
tokens = 1000
price = "99"
currency = "USD"

[plans.vip]
period = "month"
unlimited = true
price = "499"
currency = "USD"
dispatch_priority = "high"
[plans.vip.fair_use]
requests_per_minute = 2
over_limit = "reject"

[plans.vipslow]
period = "month"
unlimited = true
price = "299"
currency = "USD"
[plans.vipslow.fair_use]
concurrent_jobs = 1
over_limit = "deprioritize"
)";

inline constexpr const char* kTestGraph = R"({
 "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
 "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "p"}}})";

inline std::string png(int width, int height) {
    image::init();
    return image::encode_blank(image::Format::Png, width, height);
}

// Unix ms of a UTC wall time.
inline std::int64_t utc_ms(int y, int mo, int d, int h, int mi, int s = 0) {
    return (core::days_from_civil({y, mo, d}) * 86'400 + h * 3600 + mi * 60 + s) * 1000;
}

// spdlog's registry is a function-local static inside the uninstrumented
// libspdlog: made here, on one thread, before a test logs from several, so
// ThreadSanitizer sees its construction ordered before every use.
inline void start_logging() { (void)spdlog::default_logger_raw(); }

class GatewayFixture : public ::testing::Test {
  protected:
    void SetUp() override {
        start_logging();
        db_ = store::Database::open(dir_.file("t.db")).value();
        ledger_ = ledger::SqliteLedger::open(*db_, clock_).value();
        jobs_ = jobs::SqliteJobStore::open(*db_).value();
        service_jobs_ = std::make_unique<HookedJobStore>(*jobs_);
        usage_ = usage::SqliteUsageSink::open(*db_).value();
        webhooks_ = jobs::SqliteWebhookOutbox::open(*db_).value();
        auto book = pricing::parse_price_book(book_text_, "book.toml");
        ASSERT_TRUE(book.ok()) << book.error().message;
        books_ = std::make_unique<PriceBookSource>(
            std::make_shared<const pricing::PriceBook>(std::move(book).value()),
            [this]() { return pricing::parse_price_book(book_text_, "book.toml"); }, nullptr);
        plans_ = std::make_unique<PlanService>(*ledger_, *jobs_, *usage_, clock_, access_cache_ms_);
        routes_.emplace(
            "person",
            WorkflowRoute{dispatch::WorkflowTemplate::from_json_text(kTestGraph, "g").value()});
        dispatcher_ = std::make_unique<dispatch::Dispatcher>(
            1, clock_, queue_capacity_,
            [this](const dispatch::JobSpec& spec, const core::Clock&) { return run(spec); });
        JobServiceDeps deps;
        deps.books = books_.get();
        deps.plans = plans_.get();
        deps.ledger = ledger_.get();
        deps.jobs = service_jobs_.get();
        deps.usage = usage_.get();
        deps.dispatcher = dispatcher_.get();
        deps.routes = &routes_;
        store::Database* db = db_.get();
        deps.atomically = [db](const std::function<core::Status()>& fn) {
            return store::transact(*db, fn);
        };
        deps.clock = &clock_;
        deps.data_dir = dir_.file("data");
        deps.account_jobs_max = account_jobs_max_;
        deps.tenant_jobs_max = tenant_jobs_max_;
        deps.cancel_wait_ms = cancel_wait_ms_;
        deps.dedupe = dedupe_;
        deps.results_dir = results_dir_;
        deps.result_url_secret = kResultUrlSecret;
        deps.webhooks = webhooks_.get();
        deps.webhook_secret = kWebhookSecret;
        deps.on_webhook_queued = [this]() { ++webhooks_queued_; };
        deps.webhook_reach = webhook_reach_;
        deps.metrics = &metrics_;
        service_ = std::make_unique<JobService>(std::move(deps));
        ApiOptions options;
        options.admin_token = "admin-secret";
        options.rate_limits = rate_limits_;
        options.rate_limit_accounts_max = rate_limit_accounts_max_;
        // Reports read the file on a read-only connection, as the gateway's do.
        store::Database::Options reader;
        reader.group_commit = false;
        reader.read_only = true;
        reader_ = store::Database::open(dir_.file("t.db"), reader).value();
        reports_ = usage::sqlite_report_source(*reader_);
        options.reports = reports_.get();
        options.metrics = &metrics_;
        options.live_gauges = [this]() {
            LiveGauges g;
            g.jobs_in_flight = service_->jobs_in_flight();
            auto open = ledger_->open_holds().value();
            g.holds_open = open->holds;
            g.tokens_held = open->tokens;
            return g;
        };
        options.report_prices = report_prices_;
        options.facade = facade_;
        api_ = std::make_unique<Api>(*service_, *ledger_, *jobs_, clock_, std::move(options));
        account_ = ledger_->create_account("a").value();
    }

    void TearDown() override {
        release();
        dispatcher_->stop();
    }

    // The scripted worker: waits while `blocked_`, then answers `kind_`. Like
    // run_job it stops with Cancelled once the job's cancel flag is set,
    // unless `honor_cancel_` is false (a worker that finished anyway).
    dispatch::JobOutcome run(const dispatch::JobSpec& spec) {
        std::unique_lock lock(mu_);
        last_params_ = spec.params;
        last_resume_prompt_ = spec.resume_prompt_id;
        ran_.push_back(spec.job_id);
        const auto cancelled = [&] {
            return honor_cancel_ && spec.cancelled && spec.cancelled->load();
        };
        while (blocked_ && !cancelled()) cv_.wait_for(lock, std::chrono::milliseconds(2));
        dispatch::JobOutcome o;
        if (cancelled()) {
            o.kind = dispatch::JobOutcomeKind::Cancelled;
            o.reason = "cancelled: the prompt was taken off the worker";
            return o;
        }
        o.kind = kind_;
        o.worker_url = spec.worker_url.empty() ? "http://w1" : spec.worker_url;
        o.prompt_id = "p-" + spec.job_id;
        o.execution_ms = 1500;
        o.vram_peak_bytes = 3'000'000'000;
        o.attempts = 2;
        o.meter_wall_ms = 1'450;
        o.meter_gpu_peak_bytes = 2'500'000'000;
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

    jobs::Job wait_final(const std::string& job_id) {
        for (int i = 0; i < 4000; ++i) {
            auto job = jobs_->get(job_id).value();
            if (job && jobs::is_final(job->state)) return *job;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ADD_FAILURE() << "job did not finish";
        return {};
    }

    void wait_running(int n) {
        for (int i = 0; i < 4000 && dispatcher_->running() < n; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        ASSERT_GE(dispatcher_->running(), n);
    }

    ledger::Balance balance() { return ledger_->balance(account_).value(); }

    // A 10-token person job `id` as a process that died left it: held and
    // stored (admitted), never handed to the dispatcher.
    jobs::Job left_held(const std::string& id) {
        jobs::Job job;
        job.id = id;
        job.account_id = account_;
        job.workflow = "person";
        job.tokens = 10;
        job.book_version = "t1";
        job.quote_json = "{}";
        job.format = "png";
        job.created_ms = clock_.now_ms();
        EXPECT_EQ(ledger_->reserve(account_, core::Tokens(10), job.id)->outcome,
                  ledger::ReserveOutcome::Held);
        EXPECT_TRUE(jobs_->insert(job).ok());
        return job;
    }

    // The API called as a plain function, with `token` as the bearer.
    Response call(const std::string& method, const std::string& path, const std::string& body,
                  const std::string& token, const std::string& query = "") {
        Request r;
        r.method = method;
        r.path = path;
        r.target = query.empty() ? path : path + "?" + query;
        r.query = query;
        r.body = body;
        r.headers["authorization"] = "Bearer " + token;
        if (!body.empty() && body[0] == '{') r.headers["content-type"] = "application/json";
        return api_->handle(r);
    }
    Response admin(const std::string& method, const std::string& path,
                   const std::string& body = "") {
        return call(method, path, body, "admin-secret");
    }
    // A new API key of the fixture's account.
    std::string key() {
        Response r = admin("POST", "/admin/accounts/" + account_ + "/keys");
        EXPECT_EQ(r.status, 201) << r.body;
        return nlohmann::json::parse(r.body)["api_key"];
    }

    core::Result<SubmitResult> submit(const std::string& workflow = "person", int width = 800,
                                      int height = 600) {
        return service_->submit(account_, {workflow, "", "", ""}, png(width, height));
    }
    // submit() of the default job, which must be accepted: its id.
    std::string accepted() {
        auto r = submit();
        EXPECT_TRUE(r.ok());
        EXPECT_EQ(r->outcome, SubmitOutcome::Accepted);
        return r->job_id;
    }

    testing::TempDir dir_;
    // 2026-11-28 12:00 UTC: outside the peak window.
    core::ManualClock clock_{utc_ms(2026, 11, 28, 12, 0)};
    std::string book_text_ = kTestBook;
    // [server] access_cache_ms: 0, so a test may change the ledger behind the
    // Api's back; access_cache_test.cc sets it.
    std::int64_t access_cache_ms_ = 0;
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<ledger::SqliteLedger> ledger_;
    std::unique_ptr<jobs::SqliteJobStore> jobs_;
    std::unique_ptr<HookedJobStore> service_jobs_;  // what the service reads jobs through
    std::unique_ptr<usage::SqliteUsageSink> usage_;
    std::unique_ptr<jobs::SqliteWebhookOutbox> webhooks_;
    Metrics metrics_;  // before the service and the Api, which count into it
    std::unique_ptr<store::Database> reader_;
    std::unique_ptr<usage::UsageReportSource> reports_;
    usage::ReportPrices report_prices_{1'000, 300, "USD"};
    std::unique_ptr<PriceBookSource> books_;
    std::unique_ptr<PlanService> plans_;
    std::map<std::string, WorkflowRoute> routes_;
    std::unique_ptr<dispatch::Dispatcher> dispatcher_;
    std::unique_ptr<JobService> service_;
    std::unique_ptr<Api> api_;
    std::string account_;

    std::mutex mu_;
    std::condition_variable cv_;
    bool blocked_ = false;
    dispatch::JobParams last_params_;
    std::string last_resume_prompt_;
    dispatch::JobOutcomeKind kind_ = dispatch::JobOutcomeKind::Succeeded;
    int account_jobs_max_ = 0;         // set before SetUp() to cap unfinished jobs per account
    int tenant_jobs_max_ = 0;          // likewise per tenant
    pricing::RateLimits rate_limits_;  // set before SetUp() for [rate_limits]
    int rate_limit_accounts_max_ = 100;
    int cancel_wait_ms_ = kCancelWaitMs;
    std::size_t queue_capacity_ = 1;
    bool honor_cancel_ = true;
    // Set before SetUp(). Off unless a test turns it on: most tests submit
    // the same blank image again and again and expect a job (and a hold)
    // each time.
    jobs::DedupeSettings dedupe_ = [] {
        jobs::DedupeSettings off;
        off.policy = jobs::DedupePolicy::Allow;
        off.near_policy = jobs::NearDedupePolicy::Allow;
        return off;
    }();
    std::vector<std::string> ran_;  // job ids in the order the runner got them
    std::string results_dir_;       // set before SetUp(); empty: <data>/results
    std::atomic<int> webhooks_queued_{0};
    // Receivers in these tests listen on 127.0.0.1; set before SetUp() to test the guard.
    Reach webhook_reach_ = Reach::Anywhere;
    // Set before SetUp() to serve the ComfyUI facade's routes too.
    std::optional<facade::FacadeOptions> facade_;
    static constexpr const char* kResultUrlSecret = "result-url-secret-for-tests";
    static constexpr const char* kWebhookSecret = "webhook-secret-for-tests";
};

}  // namespace tollgate::http::testing_support
