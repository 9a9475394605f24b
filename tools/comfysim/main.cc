// comfysim: a ComfyUI-compatible emulator for tests and demos.
//
//   comfysim --listen HOST:PORT [--cost-base-s S] [--cost-per-mp-s S]
//            [--fail-rate P] [--seed N] [--data-dir DIR] [--no-cache]
//            [--nodes FILE]...
//
// --nodes adds node classes to the built-in table, or replaces one of the
// same class_type (see node_file.h for the format); files apply in order.
//
// Prints "comfysim listening on HOST:PORT" (the real port when PORT is 0) once
// it accepts connections, and exits cleanly on SIGINT or SIGTERM. Without
// --data-dir it works in a fresh temporary folder that it removes on exit.
#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "comfysim/routes.h"
#include "core/clock.h"
#include "http/server/server.h"

namespace {

namespace fs = std::filesystem;
using tollgate::comfysim::App;
using tollgate::comfysim::AppOptions;

bool split_listen(const std::string& listen, std::string& host, std::uint16_t& port) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) return false;
    host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    const std::string port_text = listen.substr(colon + 1);
    if (host.empty() || port_text.empty() || port_text.size() > 5) return false;
    for (char c : port_text) {
        if (c < '0' || c > '9') return false;
    }
    const long value = std::stol(port_text);
    if (value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

// sigwait() never sees a signal whose disposition is SIG_IGN, which is what
// a non-interactive shell gives background jobs for SIGINT. A handler that
// never runs (the signals stay blocked) resets that disposition.
void ignore_nothing(int) {}

std::string fresh_temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "comfysim-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return {};
    return pattern;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"comfysim: a ComfyUI-compatible emulator"};
    std::string listen = "127.0.0.1:8188";
    AppOptions options;
    std::string data_dir;
    bool no_cache = false;
    cli.add_option("--listen", listen, "HOST:PORT to listen on (port 0 picks one)");
    cli.add_option("--cost-base-s", options.sim.cost_base_seconds,
                   "GPU node seconds per image (times the node's table cost)")
        ->check(CLI::NonNegativeNumber);
    cli.add_option("--cost-per-mp-s", options.sim.cost_per_megapixel_seconds,
                   "GPU node seconds per megapixel (times the node's table cost)")
        ->check(CLI::NonNegativeNumber);
    cli.add_option("--fail-rate", options.sim.fail_rate,
                   "Probability that a GPU node's run fails with an out-of-memory error")
        ->check(CLI::Range(0.0, 1.0));
    cli.add_option("--seed", options.sim.seed, "Seed for simulated failures");
    cli.add_option("--data-dir", data_dir, "Folder for input/, temp/ and output/");
    cli.add_flag("--no-cache", no_cache, "Run every prompt fresh (ComfyUI --cache-none)");
    std::vector<std::string> node_files;
    cli.add_option("--nodes", node_files,
                   "JSON file of node classes to add or replace by class_type (repeatable)")
        ->type_name("FILE")
        ->take_all()
        ->allow_extra_args(false);
    CLI11_PARSE(cli, argc, argv);
    // stdout carries only the "listening" line that launchers wait for.
    spdlog::set_default_logger(spdlog::stderr_color_mt("comfysim"));
    options.sim.cache = !no_cache;
    auto nodes = tollgate::comfysim::NodeTable::load({node_files.begin(), node_files.end()});
    if (!nodes.ok()) {
        std::cerr << "comfysim: " << nodes.error().message << "\n";
        return 2;
    }
    options.nodes = std::move(nodes).value();

    std::string host;
    std::uint16_t port = 0;
    if (!split_listen(listen, host, port)) {
        std::cerr << "comfysim: --listen wants HOST:PORT, got '" << listen << "'\n";
        return 2;
    }
    const bool temporary = data_dir.empty();
    if (temporary) data_dir = fresh_temp_dir();
    if (data_dir.empty()) {
        std::cerr << "comfysim: cannot create a temporary data dir\n";
        return 1;
    }
    options.data_dir = data_dir;
    options.listen_host = host;

    // Block the stop signals in every thread; main waits for them below.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGINT, ignore_nothing);
    std::signal(SIGTERM, ignore_nothing);

    int exit_code = 0;
    {
        App app(options, tollgate::core::SystemClock::instance());
        tollgate::http::ServerOptions server_options;
        server_options.host = host;
        server_options.port = port;
        server_options.threads = 2;
        server_options.body_bytes_max = options.upload_bytes_max;
        auto server = tollgate::http::make_server(
            server_options, [&app](const tollgate::http::Request& r) { return app.handle(r); },
            app.ws_handlers());
        auto started = server->start();
        if (!started) {
            std::cerr << "comfysim: cannot listen on " << listen << ": " << started.error().message
                      << "\n";
            exit_code = 1;
        } else {
            app.sim().start();
            const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
            std::printf("comfysim listening on %s:%u\n", shown.c_str(),
                        static_cast<unsigned>(server->port()));
            std::fflush(stdout);
            spdlog::info("comfysim: data dir {}", data_dir);
            int signal_number = 0;
            sigwait(&stop_signals, &signal_number);
            spdlog::info("comfysim: signal {}, stopping", signal_number);
            app.sim().stop();
            server->stop();
        }
    }
    if (temporary) {
        std::error_code ec;
        fs::remove_all(data_dir, ec);
    }
    return exit_code;
}
