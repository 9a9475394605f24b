// tollgate: the command line. Subcommands: serve, quote.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "app/config.h"
#include "app/gateway.h"
#include "app/ledger_command.h"
#include "app/quote_command.h"
#include "pricing/quote.h"

namespace {

using tollgate::app::Config;

int fail(const std::string& message) {
    std::fprintf(stderr, "tollgate: %s\n", message.c_str());
    return 1;
}

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
    if (c.admin_token.empty()) spdlog::warn("no server.admin_token: the admin API is disabled");

    // Block the stop signals in every thread; the main thread waits for them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    std::string host = c.listen_host;
    auto gateway = tollgate::app::Gateway::start(std::move(c));
    if (!gateway.ok()) return fail(gateway.error().message);
    std::printf("tollgate listening on %s:%u\n", host.c_str(), (*gateway)->port());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("stopping on signal {}", sig);
    (*gateway)->stop();
    return 0;
}

int quote(const std::string& config_path, const std::string& workflow, std::int64_t width,
          std::int64_t height, const std::string& upscale, const std::string& rounding, bool json) {
    auto book = tollgate::pricing::load_price_book(config_path);
    if (!book.ok()) return fail(book.error().message);
    tollgate::pricing::QuoteRequest request;
    request.workflow = workflow;
    request.width = width;
    request.height = height;
    if (!upscale.empty()) {
        auto factor = tollgate::pricing::parse_upscale_factor_milli(upscale);
        if (!factor.ok()) return fail(factor.error().message);
        request.upscale_factor_milli = *factor;
    }
    if (!rounding.empty()) {
        request.rounding = tollgate::pricing::parse_rounding(rounding);
        if (!request.rounding) return fail("--rounding must be floor, ceil or nearest");
    }
    auto q = tollgate::pricing::quote(*book, request);
    if (!q.ok()) return fail(q.error().message);
    std::cout << (json ? tollgate::app::format_quote_json(*q) + "\n"
                       : tollgate::app::format_quote_table(*q));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tollgate: a token-metering gateway for ComfyUI image jobs"};
    app.require_subcommand(1);

    std::string config_path = "config/tollgate.toml", listen, data_dir;
    CLI::App* serve_cmd = app.add_subcommand("serve", "run the gateway");
    serve_cmd->add_option("--config", config_path, "configuration file")->required();
    serve_cmd->add_option("--listen", listen, "HOST:PORT to listen on (overrides the config)");
    serve_cmd->add_option("--data-dir", data_dir, "data directory (overrides the config)");

    std::string workflow, upscale, rounding;
    std::int64_t width = 0, height = 0;
    bool json = false;
    CLI::App* quote_cmd = app.add_subcommand("quote", "print the itemised price of a job");
    quote_cmd->add_option("--workflow", workflow, "workflow name, e.g. person")->required();
    quote_cmd->add_option("--width", width, "image width in pixels")->required();
    quote_cmd->add_option("--height", height, "image height in pixels")->required();
    quote_cmd->add_option("--upscale-factor", upscale, "upscale factor, e.g. 2");
    quote_cmd->add_option("--rounding", rounding, "floor | ceil | nearest (overrides the book)");
    quote_cmd->add_option("--config", config_path, "configuration file with the price book");
    quote_cmd->add_flag("--json", json, "print JSON");

    CLI::App* ledger_cmd = app.add_subcommand("ledger", "inspect the ledger");
    ledger_cmd->require_subcommand(1);
    CLI::App* verify_cmd =
        ledger_cmd->add_subcommand("verify", "recompute every account from its entries");
    verify_cmd->add_option("--config", config_path, "configuration file (for its data_dir)");
    verify_cmd->add_option("--data-dir", data_dir, "data directory (overrides the config)");

    CLI11_PARSE(app, argc, argv);
    if (serve_cmd->parsed()) return serve(config_path, listen, data_dir);
    if (verify_cmd->parsed()) {
        if (data_dir.empty()) {
            auto config = tollgate::app::load_config(config_path);
            if (!config.ok()) return fail(config.error().message);
            data_dir = config->data_dir;
        }
        return tollgate::app::run_ledger_verify(data_dir);
    }
    return quote(config_path, workflow, width, height, upscale, rounding, json);
}
