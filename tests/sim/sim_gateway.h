// One life of the gateway process over the simulation's database file: the
// SQLite Database, the ledger, job and usage stores, the price book, the plan
// service, a dispatcher that never runs a job by itself, and the JobService
// over them, wired as app/gateway.cc wires them, without a network.
//
// The dispatcher: its runner parks the first job its one thread takes until
// the process ends, and every later job stays in its queue, so no job is ever
// settled by a dispatch thread. The simulation plays the worker instead: it
// calls JobService::finish() from its own thread with the outcome its RNG
// picked, as the dispatcher's callback would. The simulation waits for the
// thread to park after the first job of each life, so how many jobs are
// queued, and so whether the next one is refused as busy, never depends on
// thread timing.
//
// Destroying a Gateway is the simulated process death: the process is marked
// dead first (every transaction then fails untouched, see sim_faults.h), so
// the dispatcher handing its jobs back while it stops changes nothing, then
// everything is destroyed with no cleanup path beyond the destructors.
//
// Threads: the simulation's thread, apart from the parked runner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "dispatch/dispatcher.h"
#include "http/api/book_source.h"
#include "http/api/job_service.h"
#include "http/api/plan_service.h"
#include "jobs/sqlite/sqlite_job_store.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "pricing/price_book.h"
#include "sim/sim_faults.h"
#include "store/sqlite.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::sim {

// A workflow graph with one input and one output, enough for a template.
inline constexpr const char* kSimGraph = R"({
 "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
 "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "p"}}})";

struct GatewayOptions {
    std::string db_path;
    std::string data_dir;
    const std::string* book_text = nullptr;  // the simulation's current book, read on (re)load
    std::size_t queue_capacity = 1000;
    int account_jobs_max = 0;  // unfinished jobs per account; 0 = no limit
    int job_timeout_ms = 600'000;
    // The store's group commit (a committer thread runs every transaction
    // under its own savepoint) or one transaction per operation on the caller.
    bool group_commit = false;
};

class Gateway {
  public:
    static core::Result<std::unique_ptr<Gateway>> open(const GatewayOptions& options,
                                                       core::ManualClock& clock,
                                                       FaultInjector& faults) {
        auto gw = std::make_unique<Gateway>(options, clock, faults);
        core::Status s = gw->start();
        if (!s.ok()) return s.error();
        return gw;
    }

    // Use open(): a Gateway is usable only once started.
    Gateway(const GatewayOptions& options, core::ManualClock& clock, FaultInjector& faults)
        : options_(options), clock_(clock), faults_(faults) {}

    ~Gateway() {
        dead_.store(true);
        {
            std::lock_guard lock(mu_);
            released_ = true;
        }
        cv_.notify_all();
        dispatcher_.reset();  // hands its jobs back to a service that can no longer write
        service_.reset();
        plans_.reset();
        books_.reset();
        usage_.reset();
        jobs_.reset();
        ledger_.reset();
        db_.reset();
    }

    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    store::Database& db() { return *db_; }
    ledger::SqliteLedger& ledger() { return *ledger_; }
    jobs::SqliteJobStore& jobs() { return *jobs_; }
    usage::SqliteUsageSink& usage() { return *usage_; }
    http::PriceBookSource& books() { return *books_; }
    http::PlanService& plans() { return *plans_; }
    http::JobService& service() { return *service_; }
    // The same fault-injecting Atomically the JobService runs under.
    const http::Atomically& atomically() const { return atomically_; }
    const std::string& data_dir() const { return options_.data_dir; }

    // Call after every accepted job: blocks until the dispatcher's thread has
    // taken the first job of this life and parked with it.
    void wait_until_parked() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return parked_; });
    }

  private:
    core::Status start() {
        store::Database::Options db_options;
        db_options.group_commit = options_.group_commit;
        auto db = store::Database::open(options_.db_path, db_options);
        if (!db.ok()) return db.error();
        db_ = std::move(db).value();
        // Durability across a power loss is not what the simulation tests:
        // crashes are simulated at the API level, so fsyncs only cost time.
        // Temporary b-trees (the grouped views of verify()) stay in memory,
        // and one connection per file needs no file lock per transaction.
        core::Status tuned = db_->exec(
            "PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY; PRAGMA locking_mode=EXCLUSIVE;");
        if (!tuned.ok()) return tuned;
        auto ledger = ledger::SqliteLedger::open(*db_, clock_);
        if (!ledger.ok()) return ledger.error();
        ledger_ = std::move(ledger).value();
        auto jobs = jobs::SqliteJobStore::open(*db_);
        if (!jobs.ok()) return jobs.error();
        jobs_ = std::move(jobs).value();
        auto usage = usage::SqliteUsageSink::open(*db_);
        if (!usage.ok()) return usage.error();
        usage_ = std::move(usage).value();
        const std::string* text = options_.book_text;
        auto book = pricing::parse_price_book(*text, "sim.toml");
        if (!book.ok()) return book.error();
        books_ = std::make_unique<http::PriceBookSource>(
            std::make_shared<const pricing::PriceBook>(std::move(book).value()),
            [text]() { return pricing::parse_price_book(*text, "sim.toml"); }, nullptr);
        plans_ = std::make_unique<http::PlanService>(*ledger_, *jobs_, *usage_, clock_);
        auto workflow = dispatch::WorkflowTemplate::from_json_text(kSimGraph, "sim");
        if (!workflow.ok()) return workflow.error();
        routes_.emplace("person", http::WorkflowRoute{std::move(workflow).value()});
        dispatcher_ = std::make_unique<dispatch::Dispatcher>(
            1, clock_, options_.queue_capacity,
            [this](const dispatch::JobSpec& spec, const core::Clock&) { return park(spec); });
        atomically_ = faulty_atomically(*db_, faults_, dead_);
        service_ = std::make_unique<http::JobService>(deps());
        return {};
    }

    http::JobServiceDeps deps() {
        http::JobServiceDeps deps;
        deps.books = books_.get();
        deps.plans = plans_.get();
        deps.ledger = ledger_.get();
        deps.jobs = jobs_.get();
        deps.usage = usage_.get();
        deps.dispatcher = dispatcher_.get();
        deps.routes = &routes_;
        deps.atomically = atomically_;
        deps.clock = &clock_;
        deps.data_dir = options_.data_dir;
        deps.job_timeout_ms = options_.job_timeout_ms;
        deps.account_jobs_max = options_.account_jobs_max;
        // The same few images are submitted over and over on purpose: the
        // model expects every one of them held and dispatched.
        deps.dedupe.policy = jobs::DedupePolicy::Allow;
        deps.dedupe.near_policy = jobs::NearDedupePolicy::Allow;
        return deps;
    }

    // The runner: holds the dispatcher's one thread until the process ends.
    dispatch::JobOutcome park(const dispatch::JobSpec& spec) {
        std::unique_lock lock(mu_);
        parked_ = true;
        cv_.notify_all();
        cv_.wait(lock, [this] { return released_; });
        dispatch::JobOutcome outcome;
        outcome.kind = dispatch::JobOutcomeKind::WorkerUnreachable;
        outcome.reason = "the gateway process ended";
        outcome.worker_url = spec.worker_url;
        return outcome;
    }

    const GatewayOptions options_;
    core::ManualClock& clock_;
    FaultInjector& faults_;
    std::atomic<bool> dead_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    bool parked_ = false;
    bool released_ = false;

    std::unique_ptr<store::Database> db_;
    std::unique_ptr<ledger::SqliteLedger> ledger_;
    std::unique_ptr<jobs::SqliteJobStore> jobs_;
    std::unique_ptr<usage::SqliteUsageSink> usage_;
    std::unique_ptr<http::PriceBookSource> books_;
    std::unique_ptr<http::PlanService> plans_;
    std::map<std::string, http::WorkflowRoute> routes_;
    std::unique_ptr<dispatch::Dispatcher> dispatcher_;
    http::Atomically atomically_;
    std::unique_ptr<http::JobService> service_;
};

}  // namespace tollgate::sim
