#include "app/gateway.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "app/insight_command.h"
#include "app/report_source.h"
#include "app/secrets.h"
#include "app/store_open.h"
#include "app/usage_export.h"
#include "dispatch/dispatcher.h"
#include "dispatch/health_monitor.h"
#include "dispatch/scheduler.h"
#include "dispatch/warm_up.h"
#include "dispatch/worker_events.h"
#include "dispatch/worker_pools.h"
#include "http/api/api.h"
#include "http/api/book_source.h"
#include "http/api/job_service.h"
#include "http/api/plan_service.h"
#include "http/api/redis_rate_limiter.h"
#include "http/api/webhooks.h"
#include "http/client/http_client.h"
#include "http/server/server.h"
#include "image/probe.h"
#include "jobs/redis/redis_job_store.h"
#include "jobs/redis/redis_ownership.h"
#include "jobs/redis/redis_settlement.h"
#include "jobs/redis/redis_webhook_outbox.h"
#include "jobs/sqlite/sqlite_job_store.h"
#include "jobs/sqlite/sqlite_webhook_outbox.h"
#include "ledger/redis/redis_ledger.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/redis/redis_checks.h"
#include "store/redis/redis_client.h"
#include "store/sqlite.h"
#include "usage/export/outbox.h"
#include "usage/redis/redis_usage_outbox.h"
#include "usage/redis/redis_usage_sink.h"
#include "usage/sqlite/sqlite_usage_outbox.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::app {

// Runs `work` every `interval_ms` on its own thread until stop().
class Sweeper {
  public:
    ~Sweeper() { stop(); }
    void start(std::int64_t interval_ms, std::function<void()> work) {
        thread_ = std::thread([this, interval_ms, work = std::move(work)] {
            std::unique_lock<std::mutex> lock(mu_);
            while (!stopping_) {
                lock.unlock();
                work();
                lock.lock();
                cv_.wait_for(lock, std::chrono::milliseconds(interval_ms),
                             [this] { return stopping_; });
            }
        });
    }
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

namespace {

// One worker per distinct url across the workflows, each pool named after its workflow.
core::Result<std::unique_ptr<dispatch::WorkerPools>> make_pools(
    const Config& c, const std::map<std::string, http::WorkflowRoute>& routes,
    const core::Clock& clock) {
    std::vector<dispatch::WorkerSpec> workers;
    std::vector<dispatch::PoolSpec> pools;
    std::set<std::string> seen;
    for (const WorkflowConfig& w : c.workflows) {
        dispatch::PoolSpec pool{w.name, {}, dispatch::model_key(routes.at(w.name).workflow)};
        for (const std::string& url : w.workers) {
            if (std::find(pool.urls.begin(), pool.urls.end(), url) == pool.urls.end()) {
                pool.urls.push_back(url);
            }
            if (seen.insert(url).second) workers.push_back({url, c.worker_jobs_max});
        }
        pools.push_back(std::move(pool));
    }
    if (workers.size() > dispatch::kWorkersMax) {
        return core::make_error("invalid_config", c.source_path + ": more than " +
                                                      std::to_string(dispatch::kWorkersMax) +
                                                      " distinct workers");
    }
    return std::make_unique<dispatch::WorkerPools>(std::move(workers), std::move(pools), clock);
}

// Where the web pages' files are (by default the `web` directory beside the
// binary, where `make` builds them), and whether the customer page is served;
// a page whose files are missing is logged, not fatal.
void set_web_pages(const Config& c, http::ApiOptions& options) {
    options.assets_dir = c.assets_dir;
    if (options.assets_dir.empty()) {
        std::error_code ec;
        const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
        if (!ec) options.assets_dir = (exe.parent_path() / "web").string();
    }
    if (!std::filesystem::exists(options.assets_dir + "/index.html")) {
        spdlog::warn("no dashboard at {}: run make, or set [server] assets_dir",
                     options.assets_dir);
    }
    options.customer_page = c.customer_page;
    if (c.customer_page && !std::filesystem::exists(options.assets_dir + "/customer/index.html")) {
        spdlog::warn("no customer page at {}/customer: run make, or set [server] assets_dir",
                     options.assets_dir);
    }
}

}  // namespace

struct Gateway::Parts {
    Config config;
    std::unique_ptr<http::PriceBookSource> books;
    std::unique_ptr<http::PlanService> plans;
    Sweeper sweeper;
    // The embedded store (a SQLite file), or the shared one (Redis).
    std::unique_ptr<store::Database> db;
    std::unique_ptr<store::redis::Client> redis;
    std::unique_ptr<ledger::Ledger> ledger;
    std::unique_ptr<jobs::JobStore> jobs;
    std::unique_ptr<jobs::Settlement> settlement;   // shared store only
    std::unique_ptr<jobs::JobOwnership> ownership;  // shared store only
    std::unique_ptr<jobs::WebhookOutbox> webhooks;
    std::unique_ptr<usage::UsageSink> usage;
    std::unique_ptr<usage::UsageOutbox> outbox;
    std::unique_ptr<http::RedisRateLimiter> rate_limiter;  // shared store only: shared buckets
    std::unique_ptr<usage::Exporter> exporter;             // null without [usage] export_to
    ReportStore reports;  // what /admin/reports reads (no source: none answers them)
    http::Metrics metrics;
    std::map<std::string, http::WorkflowRoute> routes;
    std::unique_ptr<dispatch::WorkerPools> pools;
    std::unique_ptr<dispatch::HealthMonitor> health;
    std::unique_ptr<dispatch::WorkerEventHubs> events;
    std::shared_ptr<std::atomic<bool>> stopping = std::make_shared<std::atomic<bool>>(false);
    std::thread warm_up;
    std::unique_ptr<dispatch::Dispatcher> dispatcher;
    std::unique_ptr<http::JobService> service;
    std::unique_ptr<http::HttpClient> http_client;
    std::unique_ptr<http::WebhookDeliverer> deliverer;
    std::unique_ptr<http::WebhookWorker> webhook_worker;
    std::unique_ptr<http::Api> api;
    std::unique_ptr<http::Server> server;
};

http::LiveGauges Gateway::live_gauges(Parts& p) {
    http::LiveGauges g;
    g.jobs_in_flight = p.service->jobs_in_flight();
    if (p.pools) {
        for (const dispatch::WorkerStatus& w : p.pools->status()) {
            g.workers.push_back({w.url, w.healthy, w.draining, w.leases, w.jobs_max, w.queue_depth,
                                 w.vram_used_bytes, w.vram_total_bytes});
        }
    }
    if (p.exporter) {
        for (const usage::ExportStats& s : p.exporter->stats()) {
            auto pending = p.outbox->pending(s.sink);
            g.sinks.push_back({s.sink, pending.ok() ? *pending : -1, s.shipped, s.failing_for});
        }
    }
    if (auto open = p.ledger->open_holds(); open.ok() && open->has_value()) {
        g.holds_open = (*open)->holds;
        g.tokens_held = (*open)->tokens;
    }
    return g;
}

// The embedded store: ledger, jobs, usage and webhooks in one SQLite file.
core::Status Gateway::open_embedded_store(Parts& p, const core::Clock& clock) {
    const Config& c = p.config;
    auto db = store::Database::open(StoreLocation::embedded(c.data_dir).sqlite_path());
    if (!db.ok()) return db.error();
    p.db = std::move(db).value();
    auto ledger = ledger::SqliteLedger::open(*p.db, clock);
    if (!ledger.ok()) return ledger.error();
    p.ledger = std::move(ledger).value();
    auto jobs = jobs::SqliteJobStore::open(*p.db);
    if (!jobs.ok()) return jobs.error();
    p.jobs = std::move(jobs).value();
    auto usage = usage::SqliteUsageSink::open(*p.db);
    if (!usage.ok()) return usage.error();
    p.usage = std::move(usage).value();
    auto outbox = usage::SqliteUsageOutbox::open(*p.db);
    if (!outbox.ok()) return outbox.error();
    p.outbox = std::move(outbox).value();
    auto webhooks = jobs::SqliteWebhookOutbox::open(*p.db);
    if (!webhooks.ok()) return webhooks.error();
    p.webhooks = std::move(webhooks).value();
    return {};
}

// The shared store: every part in Redis (one server or a cluster), under the
// configured key prefix.
core::Status Gateway::open_shared_store(Parts& p, const core::Clock& clock) {
    const Config& c = p.config;
    auto options = store::redis::parse_redis_url(c.store);
    if (!options.ok()) return options.error();
    auto client = store::redis::Client::connect(*options);
    if (!client.ok()) return client.error();
    p.redis = std::move(client).value();
    if (core::Status safe = store::redis::check_durability(*p.redis); !safe.ok()) return safe;
    auto ledger = ledger::RedisLedger::open(*p.redis, clock, c.store_prefix);
    if (!ledger.ok()) return ledger.error();
    p.ledger = std::move(ledger).value();
    auto jobs = jobs::RedisJobStore::open(*p.redis, c.store_prefix);
    if (!jobs.ok()) return jobs.error();
    p.settlement = std::make_unique<jobs::RedisSettlement>(*p.redis, **jobs, c.store_prefix);
    p.webhooks = std::make_unique<jobs::RedisWebhookOutbox>(*p.redis, **jobs, c.store_prefix);
    p.jobs = std::move(jobs).value();
    auto usage = usage::RedisUsageSink::open(*p.redis, c.store_prefix);
    if (!usage.ok()) return usage.error();
    p.usage = std::move(usage).value();
    auto outbox = usage::RedisUsageOutbox::open(*p.redis, c.store_prefix);
    if (!outbox.ok()) return outbox.error();
    p.outbox = std::move(outbox).value();
    auto rate_limiter = http::RedisRateLimiter::open(*p.redis, clock, c.store_prefix);
    if (!rate_limiter.ok()) return rate_limiter.error();
    p.rate_limiter = std::move(rate_limiter).value();
    spdlog::info("store: Redis at {} ({}), key prefix {}", store::redis::redact_url(c.store),
                 p.redis->cluster() ? "cluster" : "one server", c.store_prefix);
    return {};
}

core::Result<std::unique_ptr<Gateway>> Gateway::start(Config config) {
    auto p = std::make_unique<Parts>();
    p->config = std::move(config);
    const Config& c = p->config;
    const core::Clock& clock = core::SystemClock::instance();
    image::init();

    std::error_code ec;
    std::filesystem::create_directories(c.data_dir, ec);
    if (ec) {
        return core::make_error("storage_error",
                                "cannot create data dir " + c.data_dir + ": " + ec.message());
    }
    core::Status opened =
        c.shared_store() ? open_shared_store(*p, clock) : open_embedded_store(*p, clock);
    if (!opened.ok()) return opened.error();
    auto exporter = start_usage_export(c, *p->outbox);
    if (!exporter.ok()) return exporter.error();
    p->exporter = std::move(exporter).value();
    auto reports =
        open_report_store(c.shared_store() ? StoreLocation::redis(c.store, c.store_prefix)
                                           : StoreLocation::embedded(c.data_dir),
                          c.usage_export_to);
    if (!reports.ok()) return reports.error();
    p->reports = std::move(reports).value();
    if (p->reports.source) {
        spdlog::info("reports read {}", p->reports.name);
    } else {
        spdlog::warn("no usage store answers reports: /admin/reports needs [usage] export_to");
    }
    // Secrets not in the config are made once and kept in the data dir, so
    // result links and webhook signing keys survive restarts.
    std::string url_secret = c.result_url_secret, webhook_secret = c.webhook_secret;
    for (auto [secret, file] : {std::pair{&url_secret, "result_url_secret"},
                                std::pair{&webhook_secret, "webhook_secret"}}) {
        if (!secret->empty()) continue;
        auto kept = load_or_create_secret((std::filesystem::path(c.data_dir) / file).string());
        if (!kept.ok()) return kept.error();
        *secret = std::move(kept).value();
    }

    // Prompts are posted under one client id per gateway instance, kept in
    // the data dir, so that after a restart the worker's socket of the new
    // process receives the events of prompts the old one queued.
    auto instance =
        load_or_create_secret((std::filesystem::path(c.data_dir) / "instance_id").string());
    if (!instance.ok()) return instance.error();
    p->events = std::make_unique<dispatch::WorkerEventHubs>("tollgate-" + instance->substr(0, 16));
    if (p->redis) {
        // Instances sharing the store each hold a lease on the jobs they follow.
        auto ownership = jobs::RedisOwnership::start(*p->redis, c.store_prefix,
                                                     instance->substr(0, 16), c.store_lease_ms);
        if (!ownership.ok()) return ownership.error();
        p->ownership = std::move(ownership).value();
    }

    for (const WorkflowConfig& w : c.workflows) {
        std::vector<dispatch::ParamBinding> bindings;
        for (const auto& [param, target] : w.params) {
            auto binding = dispatch::parse_param_binding(param, target);
            if (!binding.ok()) {
                return core::make_error("invalid_config", c.source_path + ": workflows." + w.name +
                                                              ".params." + param + ": " +
                                                              binding.error().message);
            }
            bindings.push_back(std::move(binding).value());
        }
        auto tmpl = dispatch::WorkflowTemplate::load(w.template_path, bindings);
        if (!tmpl.ok()) return tmpl.error();
        p->routes.emplace(w.name, http::WorkflowRoute{std::move(tmpl).value()});
    }
    auto pools = make_pools(c, p->routes, clock);
    if (!pools.ok()) return pools.error();
    p->pools = std::move(pools).value();
    p->health = std::make_unique<dispatch::HealthMonitor>(*p->pools, c.health_interval_ms);
    const dispatch::RetryPolicy retries{c.retries_max, c.retry_execution_errors};
    dispatch::WorkerPools* pools_ptr = p->pools.get();
    dispatch::WorkerEventHubs* hubs = p->events.get();
    p->dispatcher = std::make_unique<dispatch::Dispatcher>(
        c.concurrent_jobs_max, clock,
        static_cast<std::size_t>(c.concurrent_jobs_max) *
            dispatch::Dispatcher::kQueuedJobsPerThread,
        [pools_ptr, retries, hubs](const dispatch::JobSpec& spec, const core::Clock& clk) {
            return dispatch::run_with_retries(
                spec, *pools_ptr, retries,
                [hubs](const dispatch::JobSpec& s, const core::Clock& cl) {
                    return dispatch::run_job(s, cl, hubs);
                },
                clk);
        });

    const Config* config_ptr = &p->config;
    p->books = std::make_unique<http::PriceBookSource>(
        std::make_shared<const pricing::PriceBook>(c.price_book),
        [config_ptr]() { return pricing::load_price_book(config_ptr->price_book_path); },
        [config_ptr](const pricing::PriceBook& book) {
            return check_book_against_workflows(book, *config_ptr);
        });
    p->plans = std::make_unique<http::PlanService>(*p->ledger, *p->jobs, *p->usage, clock,
                                                   c.access_cache_ms);

    http::JobServiceDeps deps;
    deps.books = p->books.get();
    deps.plans = p->plans.get();
    deps.ledger = p->ledger.get();
    deps.jobs = p->jobs.get();
    deps.usage = p->usage.get();
    deps.dispatcher = p->dispatcher.get();
    deps.routes = &p->routes;
    if (store::Database* database = p->db.get()) {
        deps.atomically = [database](const std::function<core::Status()>& fn) {
            return store::transact(*database, fn);
        };
    } else {
        // Redis: each part's step is atomic on its own; the steps that move
        // money go through the settlement.
        deps.atomically = [](const std::function<core::Status()>& fn) { return fn(); };
        deps.settlement = p->settlement.get();
        deps.ownership = p->ownership.get();
    }
    deps.clock = &clock;
    deps.data_dir = c.data_dir;
    deps.job_timeout_ms = c.job_timeout_ms;
    deps.account_jobs_max = c.account_jobs_max;
    deps.tenant_jobs_max = c.tenant_jobs_max;
    deps.dedupe = c.dedupe;
    deps.results_dir = c.results_dir;
    deps.result_url_secret = url_secret;
    deps.result_url_ttl_s = c.result_url_ttl_s;
    deps.webhooks = p->webhooks.get();
    deps.webhook_secret = webhook_secret;
    const http::Reach webhook_reach =
        c.webhook_allow_private_addresses ? http::Reach::Anywhere : http::Reach::PublicOnly;
    deps.webhook_reach = webhook_reach;
    Parts* parts = p.get();
    // Set below, before any job can end (recovery and the server come after).
    deps.on_webhook_queued = [parts]() {
        if (parts->webhook_worker) parts->webhook_worker->wake();
    };
    deps.metrics = &p->metrics;
    p->service = std::make_unique<http::JobService>(std::move(deps));
    p->http_client = http::make_http_client(webhook_reach);
    http::WebhookPolicy policy{c.webhook_attempts_max, c.webhook_backoff_initial_ms,
                               c.webhook_backoff_max_ms, c.webhook_timeout_ms};
    if (p->webhooks) {
        p->deliverer = std::make_unique<http::WebhookDeliverer>(*p->webhooks, *p->http_client,
                                                                p->service->result_links(),
                                                                webhook_secret, policy, clock);
        p->webhook_worker = std::make_unique<http::WebhookWorker>(*p->deliverer, clock);
        p->webhook_worker->start();  // resumes deliveries a previous run left pending
    }
    auto recovered = p->service->recover_unfinished();
    if (!recovered.ok()) return recovered.error();
    if (*recovered > 0) {
        spdlog::warn(
            "recovered {} jobs left unfinished by the last run (each re-attached to its prompt or "
            "failed with its hold voided)",
            *recovered);
    }

    http::ApiOptions api_options;
    api_options.admin_token = c.admin_token;
    api_options.workers = p->pools.get();
    api_options.rate_limits = c.rate_limits;
    api_options.rate_limit_accounts_max = c.rate_limit_accounts_max;
    api_options.shared_limiter = p->rate_limiter.get();  // null: buckets in this process
    api_options.reports = p->reports.source.get();
    api_options.metrics = &p->metrics;
    set_web_pages(c, api_options);
    api_options.live_gauges = [parts]() { return live_gauges(*parts); };
    api_options.report_prices = c.report_prices;
    api_options.calibration_tokens_per_gpu_second = c.calibration_tokens_per_gpu_second;
    api_options.pool_workers = configured_pools(c);
    api_options.facade = c.facade;
    p->api = std::make_unique<http::Api>(*p->service, *p->ledger, *p->jobs, clock,
                                         std::move(api_options));
    http::PriceBookSource* books = p->books.get();
    http::PlanService* plans = p->plans.get();
    ledger::Ledger* ledger_ptr = p->ledger.get();
    http::JobService* service = p->service.get();
    const bool shared = c.shared_store();
    p->sweeper.start(c.sweep_interval_ms, [books, plans, ledger_ptr, service, shared]() {
        if (shared) {
            // The jobs of instances that stopped, taken over and recovered here.
            auto orphans = service->recover_unfinished();
            if (!orphans.ok()) {
                spdlog::error("recovery of stopped instances' jobs: {}", orphans.error().message);
            } else if (*orphans > 0) {
                spdlog::warn("took over {} jobs of stopped instances", *orphans);
            }
        }
        auto holds = service->sweep_expired_holds();
        if (!holds.ok()) spdlog::error("hold expiry sweep: {}", holds.error().message);
        auto renewed = plans->renew_all(*books->current());
        if (!renewed.ok()) spdlog::error("plan renewal sweep: {}", renewed.error().message);
        auto expired = ledger_ptr->expire_due();
        if (!expired.ok()) spdlog::error("grant expiry sweep: {}", expired.error().message);
    });
    http::ServerOptions options;
    options.host = c.listen_host;
    options.port = c.listen_port;
    options.threads = c.threads;
    options.body_bytes_max = c.body_bytes_max;
    http::Api* api = p->api.get();
    // An upload over its account's limits is refused before its body arrives.
    options.screen_head = [api](const http::Request& head) { return api->screen_head(head); };
    p->server = http::make_server(
        options, [api](const http::Request& r) { return api->handle(r); }, api->ws_handlers());
    core::Status started = p->server->start();
    if (!started.ok()) return started.error();
    start_warm_up(*p, clock);
    return std::unique_ptr<Gateway>(new Gateway(std::move(p)));
}

// Warms the pools that ask for it, on a thread of their own, so the gateway
// serves meanwhile.
void Gateway::start_warm_up(Parts& p, const core::Clock& clock) {
    std::vector<const WorkflowConfig*> wanted;
    for (const WorkflowConfig& w : p.config.workflows) {
        if (w.warmup) wanted.push_back(&w);
    }
    if (wanted.empty()) return;
    p.warm_up = std::thread([&p, &clock, wanted] {
        const std::string image = image::encode_blank(image::Format::Png, 64, 64);
        for (const WorkflowConfig* w : wanted) {
            const int warmed = dispatch::warm_up_pool(
                *p.pools, w->name, p.routes.at(w->name).workflow, image, "png",
                p.config.job_timeout_ms, p.stopping,
                [&p](const dispatch::JobSpec& s, const core::Clock& cl) {
                    return dispatch::run_job(s, cl, p.events.get());
                },
                clock);
            spdlog::info("pool {}: {} of {} workers warmed up", w->name, warmed, w->workers.size());
        }
    });
}

Gateway::Gateway(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Gateway::~Gateway() { stop(); }

std::uint16_t Gateway::port() const { return parts_->server->port(); }

core::Status Gateway::reload_pricing() {
    auto reloaded = parts_->books->reload();
    if (!reloaded.ok()) return reloaded.error();
    return {};
}

void Gateway::stop() {
    if (!parts_) return;
    parts_->sweeper.stop();
    parts_->stopping->store(true);
    if (parts_->warm_up.joinable()) parts_->warm_up.join();
    parts_->server->stop();
    parts_->dispatcher->stop();
    parts_->events.reset();  // every job has ended: no subscription is left
    parts_->health->stop();
    if (parts_->webhook_worker) parts_->webhook_worker->stop();
    parts_->exporter.reset();  // a batch being shipped finishes first
    parts_.reset();
}

}  // namespace tollgate::app
