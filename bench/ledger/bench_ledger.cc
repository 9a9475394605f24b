// bench_ledger: durable reserve+capture operations per second, for the
// embedded ledger and for the peers it is measured against.
//
// One operation reserves one token of an account under a fresh random key
// (as a job id would be) and then captures that hold: two atomic, durable
// steps, as the gateway takes them around a job. N client threads each run
// operations back to back on accounts drawn uniformly (fixed seeds) from the
// backend's funded accounts. After a warm-up, the operations that complete in
// the measured window count; each one's latency (reserve plus capture) is
// recorded, and the run prints throughput and the p50/p99 latency, then one
// machine-readable RESULT line. Any failed operation stops its client and
// makes the exit status 1: the accounts are funded, so a refusal is a fault.
//
// Backends (workload.h): sqlite (the real SqliteLedger), redis (two Lua
// scripts) and postgres (two transactions of prepared statements). A plain
// main with std::thread rather than Google Benchmark: the quantity is the
// aggregate throughput of concurrent clients against a server, which
// Benchmark's per-thread iteration model does not report.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/ledger/workload.h"
#include "core/clock.h"
#include "core/ids.h"

namespace tollgate::bench {
namespace {

// What one client thread saw in the measured window.
struct ClientTally {
    std::vector<std::int64_t> latencies_us;
    std::int64_t failures = 0;
    std::string first_error;
};

struct Window {
    std::int64_t start_us = 0;
    std::int64_t end_us = 0;
};

void run_client(Backend& backend, int index, std::latch& connected, const Window& window,
                const std::atomic<bool>& go, const std::atomic<bool>& stop, ClientTally& tally) {
    auto client = backend.connect();
    connected.count_down();
    if (!client.ok()) {
        tally.failures = 1;
        tally.first_error = client.error().code + ": " + client.error().message;
        return;
    }
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    const core::Clock& clock = core::SystemClock::instance();
    const std::vector<std::string>& accounts = backend.accounts();
    std::mt19937_64 rng(static_cast<std::uint64_t>(index) + 1);
    std::uniform_int_distribution<std::size_t> pick(0, accounts.size() - 1);
    tally.latencies_us.reserve(1 << 16);
    while (!stop.load(std::memory_order_relaxed)) {
        const std::string& account = accounts[pick(rng)];
        const std::string key = core::new_id("hold");
        std::int64_t began_us = clock.steady_us();
        core::Status s = (*client)->reserve_capture(account, key);
        std::int64_t ended_us = clock.steady_us();
        if (!s.ok()) {
            ++tally.failures;
            tally.first_error = s.error().code + ": " + s.error().message;
            return;
        }
        if (ended_us >= window.start_us && ended_us < window.end_us)
            tally.latencies_us.push_back(ended_us - began_us);
    }
}

std::int64_t percentile(std::vector<std::int64_t>& sorted, int p) {
    if (sorted.empty()) return 0;
    std::size_t i = sorted.size() * static_cast<std::size_t>(p) / 100;
    return sorted[std::min(i, sorted.size() - 1)];
}

// Runs the clients and prints the report; returns the exit status.
int measure(Backend& backend, const Options& o) {
    const core::Clock& clock = core::SystemClock::instance();
    std::vector<ClientTally> tallies(static_cast<std::size_t>(o.clients));
    std::latch connected(o.clients);
    std::atomic<bool> go{false}, stop{false};
    Window window;
    std::vector<std::thread> threads;
    for (int i = 0; i < o.clients; ++i) {
        threads.emplace_back(run_client, std::ref(backend), i, std::ref(connected),
                             std::cref(window), std::cref(go), std::cref(stop),
                             std::ref(tallies[static_cast<std::size_t>(i)]));
    }
    connected.wait();
    window.start_us = clock.steady_us() + std::int64_t{o.warmup_seconds} * 1'000'000;
    window.end_us = window.start_us + std::int64_t{o.seconds} * 1'000'000;
    go.store(true, std::memory_order_release);
    std::this_thread::sleep_for(std::chrono::microseconds(window.end_us - clock.steady_us()));
    stop.store(true);
    for (std::thread& t : threads) t.join();

    std::vector<std::int64_t> all;
    std::int64_t failures = 0;
    for (ClientTally& t : tallies) {
        all.insert(all.end(), t.latencies_us.begin(), t.latencies_us.end());
        failures += t.failures;
        if (!t.first_error.empty()) std::cerr << "client failed: " << t.first_error << "\n";
    }
    std::sort(all.begin(), all.end());
    const auto ops = static_cast<std::int64_t>(all.size());
    const std::int64_t window_us = window.end_us - window.start_us;
    const std::int64_t ops_per_s = ops * 1'000'000 / window_us;
    const std::int64_t p50_us = percentile(all, 50);
    const std::int64_t p99_us = percentile(all, 99);
    std::cout << o.backend << ": " << o.clients << " clients, " << o.seconds << " s, "
              << backend.accounts().size() << " accounts: " << ops_per_s
              << " reserve+capture/s, p50 " << p50_us << " us, p99 " << p99_us << " us\n";
    std::cout << "RESULT backend=" << o.backend << " clients=" << o.clients
              << " seconds=" << o.seconds << " accounts=" << backend.accounts().size()
              << " preload_accounts=" << o.preload_accounts
              << " preload_entries=" << o.preload_entries << " ops=" << ops
              << " ops_per_s=" << ops_per_s << " p50_us=" << p50_us << " p99_us=" << p99_us
              << " failures=" << failures << backend.stats() << std::endl;
    return failures == 0 ? 0 : 1;
}

core::Result<std::unique_ptr<Backend>> open_backend(const Options& o) {
    if (o.backend == "sqlite") return open_sqlite(o);
    if (o.backend == "redis") return open_redis(o);
    if (o.backend == "floor") return open_floor(o);
    return open_postgres(o);
}

}  // namespace
}  // namespace tollgate::bench

int main(int argc, char** argv) {
    using tollgate::bench::Options;
    Options o;
    CLI::App app{"bench_ledger: durable reserve+capture per second for one ledger backend"};
    app.add_option("--backend", o.backend, "sqlite, redis, postgres or floor (only the fsyncs)")
        ->check(CLI::IsMember({"sqlite", "redis", "postgres", "floor"}));
    app.add_option("--clients", o.clients, "client threads, each with its own connection")
        ->check(CLI::Range(1, 1024));
    app.add_option("--seconds", o.seconds, "measured seconds (0: set up, then stop)")
        ->check(CLI::Range(0, 3600));
    app.add_option("--warmup-seconds", o.warmup_seconds, "unmeasured seconds first")
        ->check(CLI::Range(0, 600));
    app.add_option("--accounts", o.accounts,
                   "accounts the clients spread over (with a preload: that many of the "
                   "preloaded ones, spread evenly; default all of them)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{100'000'000}));
    app.add_option("--redis", o.redis, "redis server HOST:PORT");
    app.add_option("--pg", o.pg, "libpq conninfo string");
    app.add_option("--data-dir", o.data_dir, "directory of the SQLite ledger file (ledger.db)");
    app.add_option("--preload-accounts", o.preload_accounts,
                   "sqlite: fill the ledger with this many funded accounts first")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{100'000'000}));
    app.add_option("--preload-entries", o.preload_entries,
                   "sqlite: ... and about this many entries (one grant each, then captured "
                   "holds of one token, two entries each)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000}));
    app.add_flag("--verify", o.verify, "sqlite: run the ledger's verify() before measuring");
    CLI11_PARSE(app, argc, argv);
    o.accounts_given = app.count("--accounts") > 0;
    if (o.preload_accounts > 0 && o.backend != "sqlite") {
        std::cerr << "--preload-accounts applies to --backend sqlite only\n";
        return 2;
    }

    auto backend = tollgate::bench::open_backend(o);
    if (!backend.ok()) {
        std::cerr << o.backend << ": " << backend.error().code << ": " << backend.error().message
                  << "\n";
        return 1;
    }
    if (o.seconds == 0) return 0;
    return tollgate::bench::measure(**backend, o);
}
