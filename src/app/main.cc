// tollgate: the command line. Subcommands: serve (SIGHUP reloads the price
// book), quote, ledger verify, account statement, reconcile, calibrate, forecast,
// sim-traffic.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <iostream>

#include "app/config.h"
#include "app/gateway.h"
#include "app/insight_command.h"
#include "app/json_log.h"
#include "app/ledger_command.h"
#include "app/quote_command.h"
#include "app/reconcile_command.h"
#include "app/sim_traffic_command.h"
#include "app/statement_command.h"
#include "app/store_open.h"
#include "pricing/quote.h"

namespace {

using tollgate::app::Config;

int fail(const std::string& message) {
    std::fprintf(stderr, "tollgate: %s\n", message.c_str());
    return 1;
}

// ledger verify, account statement and reconcile exit 1 for a mismatch or a
// difference; a config or a store they cannot use is 2, as a store they
// cannot read.
int fail_unread(const std::string& message) {
    std::fprintf(stderr, "tollgate: %s\n", message.c_str());
    return 2;
}

// --data-dir of the commands that read the books (app/store_open.h).
constexpr const char* kDataDirHelp =
    "read the embedded store DIR/tollgate.db (overrides the config's data_dir; refused when the "
    "config's store is Redis)";

int serve(const std::string& config_path, const std::string& listen, const std::string& data_dir) {
    auto config = tollgate::app::load_config(config_path);
    if (!config.ok()) return fail(config.error().message);
    Config c = std::move(config).value();
    if (!listen.empty()) {
        auto hp = tollgate::app::parse_listen(listen);
        if (!hp.ok()) return fail(hp.error().message);
        c.listen_host = hp->host;
        c.listen_port = hp->port;
    }
    if (!data_dir.empty()) c.data_dir = data_dir;
    if (c.log_format == "json") {
        spdlog::default_logger()->set_formatter(
            std::make_unique<tollgate::app::JsonLogFormatter>());
    }
    if (c.admin_token.empty()) spdlog::warn("no server.admin_token: the admin API is disabled");

    // Block the stop signals in every thread; the main thread waits for them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);  // reload the price book
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    std::string host = c.listen_host;
    auto gateway = tollgate::app::Gateway::start(std::move(c));
    if (!gateway.ok()) return fail(gateway.error().message);
    std::printf("tollgate listening on %s:%u\n", host.c_str(), (*gateway)->port());
    std::fflush(stdout);
    int sig = 0;
    for (;;) {
        sigwait(&stop_signals, &sig);
        if (sig != SIGHUP) break;
        // An invalid book is refused and logged; the old one stays in force.
        (void)(*gateway)->reload_pricing();
    }
    spdlog::info("stopping on signal {}", sig);
    (*gateway)->stop();
    return 0;
}

std::atomic<bool> g_stop_traffic{false};

void stop_traffic(int) { g_stop_traffic.store(true); }

int sim_traffic(tollgate::app::SimTrafficOptions& options,
                const std::vector<std::string>& mix_entries) {
    if (!mix_entries.empty()) {
        options.shape.mix.clear();
        for (const std::string& text : mix_entries) {
            auto entry = tollgate::app::parse_mix_entry(text);
            if (!entry.ok()) return fail_unread(entry.error().message);
            options.shape.mix.push_back(std::move(entry).value());
        }
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, stop_traffic);
    signal(SIGTERM, stop_traffic);
    return tollgate::app::run_sim_traffic(options, g_stop_traffic);
}

}  // namespace

int main(int argc, char** argv) {
    // Logs go to stderr; stdout carries only what a command prints (the
    // listening banner, a quote, a verify report).
    spdlog::set_default_logger(spdlog::stderr_color_mt("tollgate"));
    CLI::App app{"tollgate: a token-metering gateway for ComfyUI image jobs"};
    app.require_subcommand(1);

    std::string config_path = "config/tollgate.toml", listen, data_dir;
    CLI::App* serve_cmd = app.add_subcommand("serve", "run the gateway");
    serve_cmd->add_option("--config", config_path, "configuration file")->required();
    serve_cmd->add_option("--listen", listen, "HOST:PORT to listen on (overrides the config)");
    serve_cmd->add_option("--data-dir", data_dir, "data directory (overrides the config)");

    tollgate::app::QuoteOptions q;
    q.config_path = config_path;
    CLI::App* quote_cmd = app.add_subcommand("quote", "print the itemised price of a job");
    quote_cmd->add_option("--workflow", q.workflow, "workflow name, e.g. person")->required();
    quote_cmd->add_option("--width", q.width, "image width in pixels")->required();
    quote_cmd->add_option("--height", q.height, "image height in pixels")->required();
    quote_cmd->add_option("--upscale-factor", q.upscale, "upscale factor, e.g. 2");
    quote_cmd->add_option("--quality", q.quality, "quality level (default: the workflow's)");
    quote_cmd->add_option("--tenant", q.tenant, "price with this tenant's terms");
    quote_cmd->add_option("--at", q.at, "billing instant \"YYYY-MM-DD HH:MM\" in the book's zone");
    quote_cmd->add_option("--rounding", q.rounding, "floor | ceil | nearest (overrides the book)");
    quote_cmd->add_option("--config", q.config_path, "configuration file naming the price book");
    quote_cmd->add_option("--book", q.book_path, "price book file (instead of --config)");
    quote_cmd->add_flag("--json", q.json, "print JSON");

    CLI::App* ledger_cmd = app.add_subcommand("ledger", "inspect the ledger");
    ledger_cmd->require_subcommand(1);
    CLI::App* verify_cmd =
        ledger_cmd->add_subcommand("verify", "recompute every account from its entries");
    CLI::Option* verify_config = verify_cmd->add_option(
        "--config", config_path, "configuration file naming the store ([server] store, data_dir)");
    verify_cmd->add_option("--data-dir", data_dir, kDataDirHelp)->type_name("DIR");

    tollgate::app::StatementOptions statement;
    CLI::App* account_cmd = app.add_subcommand("account", "inspect an account");
    account_cmd->require_subcommand(1);
    CLI::App* statement_cmd = account_cmd->add_subcommand(
        "statement", "the account's ledger entries as CSV, oldest first");
    statement_cmd->add_option("--account", statement.account_id, "account id")->required();
    statement_cmd->add_option("--from", statement.from,
                              "first instant, \"YYYY-MM-DD[ HH:MM]\" in the book's zone");
    statement_cmd->add_option("--to", statement.to, "end (exclusive), same format");
    statement_cmd->add_option("--config", config_path,
                              "configuration file (its store or data_dir, and the book's zone)");
    statement_cmd->add_option("--data-dir", data_dir, kDataDirHelp)->type_name("DIR");

    tollgate::app::ReconcileOptions reconcile;
    CLI::App* reconcile_cmd = app.add_subcommand(
        "reconcile",
        "compare the ledger, the usage records and each export sink per account and day");
    reconcile_cmd->add_option("--from", reconcile.from, "first UTC day, YYYY-MM-DD")->required();
    reconcile_cmd->add_option("--to", reconcile.to, "end UTC day (exclusive), YYYY-MM-DD")
        ->required();
    reconcile_cmd->add_option("--config", config_path,
                              "configuration file (its store or data_dir, and the export sinks)");
    reconcile_cmd->add_option("--data-dir", data_dir, kDataDirHelp)->type_name("DIR");

    tollgate::app::CalibrateRequest calibrate;
    std::string calibrate_write;
    CLI::App* calibrate_cmd = app.add_subcommand(
        "calibrate", "fit GPU time per workflow and suggest prices that reach a target");
    calibrate_cmd->add_option("--workflow", calibrate.workflows, "workflow (default: all)");
    calibrate_cmd->add_option("--days", calibrate.days, "history to fit, in days (30)");
    calibrate_cmd->add_option("--target", calibrate.target_tokens_per_gpu_second,
                              "tokens per GPU-second (default: [reports] in the config)");
    calibrate_cmd->add_option("--write", calibrate_write, "write the suggested book here (TOML)");
    calibrate_cmd->add_option("--config", config_path, "configuration file");
    calibrate_cmd->add_option("--data-dir", data_dir, kDataDirHelp)->type_name("DIR");

    tollgate::app::ForecastRequest forecast;
    CLI::App* forecast_cmd =
        app.add_subcommand("forecast", "hourly demand and workers per pool for the next 7 days");
    forecast_cmd->add_option("--weeks", forecast.weeks, "history, in weeks (8)");
    forecast_cmd->add_option("--utilization", forecast.target_utilization,
                             "target share of time each worker is busy (0.7)");
    forecast_cmd->add_option("--config", config_path, "configuration file");
    forecast_cmd->add_option("--data-dir", data_dir, kDataDirHelp)->type_name("DIR");

    tollgate::app::SimTrafficOptions traffic;
    std::vector<std::string> traffic_mix;
    CLI::App* traffic_cmd = app.add_subcommand(
        "sim-traffic",
        "send realistic demo traffic (a daily curve, sizes, duplicates) to a gateway");
    traffic_cmd->add_option("--gateway", traffic.gateway, "the gateway's base URL")
        ->capture_default_str();
    traffic_cmd->add_option("--admin-token", traffic.admin_token, "admin token, to make accounts")
        ->required();
    traffic_cmd->add_option("--jobs", traffic.jobs, "stop after this many jobs (0: never)");
    traffic_cmd->add_option("--duration-s", traffic.duration_s, "stop after this long (0: never)");
    traffic_cmd->add_flag("--wait", traffic.wait, "then wait until every accepted job has ended");
    traffic_cmd->add_option("--wait-timeout-s", traffic.wait_timeout_s, "longest wait (600)");
    traffic_cmd->add_option("--peak-jobs-per-minute", traffic.shape.peak_jobs_per_minute,
                            "the rate at the daily peak (20)");
    traffic_cmd->add_option("--day-s", traffic.shape.day_seconds,
                            "real seconds per simulated day (1440)");
    traffic_cmd->add_option("--start-hour", traffic.shape.start_hour,
                            "simulated hour at the start (9)");
    traffic_cmd->add_option("--night-share", traffic.shape.night_share,
                            "the night's rate as a share of the peak (0.1)");
    traffic_cmd->add_option("--duplicate-share", traffic.shape.duplicate_share,
                            "exact resends of an earlier image (0.06)");
    traffic_cmd->add_option("--near-duplicate-share", traffic.shape.near_duplicate_share,
                            "earlier images re-encoded (0.04)");
    traffic_cmd->add_option("--bad-upload-share", traffic.shape.bad_upload_share,
                            "bodies that are not images (0.02)");
    traffic_cmd->add_option("--megapixels-min", traffic.shape.megapixels_min, "smallest images");
    traffic_cmd->add_option("--megapixels-max", traffic.shape.megapixels_max, "largest images (8)");
    traffic_cmd->add_option("--accounts", traffic.shape.accounts, "accounts to make (6)");
    traffic_cmd->add_option("--mix", traffic_mix,
                            "NAME[?QUERY][:WEIGHT], repeated (default: mostly person and "
                            "building, some super_resolution?upscale_factor=2, denoise, "
                            "scratch_removal, ocr)");
    traffic_cmd->add_option("--seed", traffic.shape.seed, "seed of the plan (1)");
    traffic_cmd->add_option("--progress-s", traffic.progress_interval_s,
                            "seconds between progress lines (60)");
    traffic_cmd->add_option("--grant-tokens", traffic.grant_tokens,
                            "tokens granted to each account (10000000)");

    CLI11_PARSE(app, argc, argv);
    if (traffic_cmd->parsed()) return sim_traffic(traffic, traffic_mix);
    if (calibrate_cmd->parsed() || forecast_cmd->parsed()) {
        auto config = tollgate::app::load_config(config_path);
        if (!config.ok()) return fail_unread(config.error().message);
        auto store = tollgate::app::store_location(*config, data_dir);
        if (!store.ok()) return fail_unread(store.error().message);
        if (forecast_cmd->parsed()) return tollgate::app::run_forecast(*config, *store, forecast);
        return tollgate::app::run_calibrate(*config, *store, calibrate, calibrate_write);
    }
    if (reconcile_cmd->parsed()) {
        auto config = tollgate::app::load_config(config_path);
        if (!config.ok()) return fail_unread(config.error().message);
        auto store = tollgate::app::store_location(*config, data_dir);
        if (!store.ok()) return fail_unread(store.error().message);
        reconcile.store = std::move(store).value();
        reconcile.sinks = config->usage_export_to;
        return tollgate::app::run_reconcile(reconcile);
    }
    if (statement_cmd->parsed()) {
        auto config = tollgate::app::load_config(config_path);
        if (!config.ok()) return fail_unread(config.error().message);
        auto store = tollgate::app::store_location(*config, data_dir);
        if (!store.ok()) return fail_unread(store.error().message);
        statement.store = std::move(store).value();
        statement.zone = config->price_book.time_zone;
        return tollgate::app::run_statement(statement);
    }
    if (serve_cmd->parsed()) return serve(config_path, listen, data_dir);
    if (verify_cmd->parsed()) {
        // --data-dir alone reads that directory's file without any config,
        // as it always has; with --config (or neither), the config says.
        if (!data_dir.empty() && verify_config->count() == 0) {
            return tollgate::app::run_ledger_verify(
                tollgate::app::StoreLocation::embedded(data_dir));
        }
        auto config = tollgate::app::load_config(config_path);
        if (!config.ok()) return fail_unread(config.error().message);
        auto store = tollgate::app::store_location(*config, data_dir);
        if (!store.ok()) return fail_unread(store.error().message);
        return tollgate::app::run_ledger_verify(*store);
    }
    return tollgate::app::run_quote(q);
}
