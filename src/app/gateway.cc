#include "app/gateway.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "dispatch/dispatcher.h"
#include "http/api/api.h"
#include "http/api/job_service.h"
#include "http/server/server.h"
#include "image/probe.h"
#include "jobs/sqlite/sqlite_job_store.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/sqlite.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::app {

struct Gateway::Parts {
    Config config;
    std::unique_ptr<store::Database> db;
    std::unique_ptr<ledger::SqliteLedger> ledger;
    std::unique_ptr<jobs::SqliteJobStore> jobs;
    std::unique_ptr<usage::SqliteUsageSink> usage;
    std::map<std::string, http::WorkflowRoute> routes;
    std::unique_ptr<dispatch::Dispatcher> dispatcher;
    std::unique_ptr<http::JobService> service;
    std::unique_ptr<http::Api> api;
    std::unique_ptr<http::Server> server;
};

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
    auto db = store::Database::open((std::filesystem::path(c.data_dir) / "tollgate.db").string());
    if (!db.ok()) return db.error();
    p->db = std::move(db).value();
    auto ledger = ledger::SqliteLedger::open(*p->db, clock);
    if (!ledger.ok()) return ledger.error();
    p->ledger = std::move(ledger).value();
    auto jobs = jobs::SqliteJobStore::open(*p->db);
    if (!jobs.ok()) return jobs.error();
    p->jobs = std::move(jobs).value();
    auto usage = usage::SqliteUsageSink::open(*p->db);
    if (!usage.ok()) return usage.error();
    p->usage = std::move(usage).value();

    for (const WorkflowConfig& w : c.workflows) {
        auto tmpl = dispatch::WorkflowTemplate::load(w.template_path);
        if (!tmpl.ok()) return tmpl.error();
        p->routes.emplace(w.name,
                          http::WorkflowRoute{std::move(tmpl).value(),
                                              std::make_unique<dispatch::WorkerPool>(w.workers)});
    }
    p->dispatcher = std::make_unique<dispatch::Dispatcher>(c.concurrent_jobs_max, clock);

    store::Database* database = p->db.get();
    http::JobServiceDeps deps;
    deps.price_book = &c.price_book;
    deps.ledger = p->ledger.get();
    deps.jobs = p->jobs.get();
    deps.usage = p->usage.get();
    deps.dispatcher = p->dispatcher.get();
    deps.routes = &p->routes;
    deps.atomically = [database](const std::function<core::Status()>& fn) {
        return store::transact(*database, fn);
    };
    deps.clock = &clock;
    deps.data_dir = c.data_dir;
    deps.job_timeout_ms = c.job_timeout_ms;
    p->service = std::make_unique<http::JobService>(std::move(deps));
    auto recovered = p->service->recover_unfinished();
    if (!recovered.ok()) return recovered.error();
    if (*recovered > 0) {
        spdlog::warn("voided the holds of {} jobs left unfinished by the last run", *recovered);
    }

    p->api = std::make_unique<http::Api>(*p->service, *p->ledger, *p->jobs,
                                         http::ApiOptions{c.admin_token});
    http::ServerOptions options;
    options.host = c.listen_host;
    options.port = c.listen_port;
    options.threads = c.threads;
    options.body_bytes_max = c.body_bytes_max;
    http::Api* api = p->api.get();
    p->server =
        http::make_server(options, [api](const http::Request& r) { return api->handle(r); });
    core::Status started = p->server->start();
    if (!started.ok()) return started.error();
    return std::unique_ptr<Gateway>(new Gateway(std::move(p)));
}

Gateway::Gateway(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Gateway::~Gateway() { stop(); }

std::uint16_t Gateway::port() const { return parts_->server->port(); }

void Gateway::stop() {
    if (!parts_) return;
    parts_->server->stop();
    parts_->dispatcher->stop();
    parts_.reset();
}

}  // namespace tollgate::app
