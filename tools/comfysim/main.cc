// comfysim: a ComfyUI-compatible emulator for tests and demos.
//
//   comfysim --listen HOST:PORT [--cost-base-s S] [--cost-per-mp-s S]
//            [--cold-start-s MIN[,MAX]] [--vram-gb G] [--seed N]
//            [--fail-rate P] [--crash-rate P] [--hang-rate P]
//            [--ws-drop-rate P] [--upload-bytes-per-s N]
//            [--data-dir DIR] [--no-cache] [--nodes FILE]...
//
// --nodes adds node classes to the built-in table, or replaces one of the
// same class_type (see node_file.h for the format, including each node's
// time, VRAM, model and tiling); files apply in order. The fault flags are
// probabilities drawn from --seed: --fail-rate fails a GPU node's run with an
// out-of-memory error, --crash-rate kills the process (SIGKILL) halfway
// through one, --hang-rate makes one never end (not even on /interrupt), and
// --ws-drop-rate closes every WebSocket when a prompt's first node starts.
// --upload-bytes-per-s reads /upload/image bodies that slowly.
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

// The simulated GPU's and the faults' flags. Two need work after parsing,
// which finish_gpu_options() does.
struct GpuFlags {
    std::vector<double> cold_start;
    double vram_gib = 0;
};

void add_gpu_options(CLI::App& cli, AppOptions& options, GpuFlags& flags) {
    flags.cold_start = {options.sim.cold_start_min_seconds, options.sim.cold_start_max_seconds};
    cli.add_option("--cold-start-s", flags.cold_start,
                   "Seconds a model's first use takes to load: one value, or MIN,MAX to draw "
                   "uniformly between them (default 2,5)")
        ->expected(1, 2)
        ->delimiter(',')
        ->check(CLI::NonNegativeNumber);
    cli.add_option("--vram-gb", flags.vram_gib,
                   "GPU memory in GiB (default: an H100 80GB's 79.2); runs that need more fail "
                   "with an out-of-memory error")
        ->check(CLI::Range(2.0, 4096.0));
    cli.add_option("--crash-rate", options.sim.crash_rate,
                   "Probability that the process dies (SIGKILL) halfway through a GPU node's run")
        ->check(CLI::Range(0.0, 1.0));
    cli.add_option("--hang-rate", options.sim.hang_rate,
                   "Probability that a GPU node's run never ends (only stopping comfysim does)")
        ->check(CLI::Range(0.0, 1.0));
    cli.add_option("--ws-drop-rate", options.sim.ws_drop_rate,
                   "Probability that a prompt's first node closes every WebSocket")
        ->check(CLI::Range(0.0, 1.0));
    cli.add_option("--upload-bytes-per-s", options.upload_bytes_per_second,
                   "Read /upload/image bodies at most this fast (0: full speed)")
        ->check(CLI::NonNegativeNumber);
}

bool finish_gpu_options(const GpuFlags& flags, AppOptions& options) {
    if (flags.cold_start.back() < flags.cold_start.front()) {
        std::cerr << "comfysim: --cold-start-s wants MIN,MAX with MIN <= MAX\n";
        return false;
    }
    options.sim.cold_start_min_seconds = flags.cold_start.front();
    options.sim.cold_start_max_seconds = flags.cold_start.back();
    if (flags.vram_gib > 0) {
        options.sim.vram_total_bytes =
            static_cast<std::int64_t>(flags.vram_gib * 1024 * 1024 * 1024);
    }
    return true;
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
    GpuFlags gpu_flags;
    add_gpu_options(cli, options, gpu_flags);
    cli.add_option("--seed", options.sim.seed, "Seed for simulated faults and cold starts");
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
    if (!finish_gpu_options(gpu_flags, options)) return 2;
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
        tollgate::http::ServerOptions base;
        base.host = host;
        base.port = port;
        base.threads = 2;
        const auto server_options = tollgate::comfysim::server_options(options, base);
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
