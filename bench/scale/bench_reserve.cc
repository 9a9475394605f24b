// bench_reserve: durable reserve+capture operations per second through the
// gateway's own ledgers (ledger::Ledger), embedded and shared.
//
// One operation reserves one token of an account under a fresh key (as a job
// id would be), with the hold TTL the gateway gives a job's hold, and then
// captures that hold: the two calls the gateway makes around a job, each
// durable before it returns. Client threads run operations back to back on
// accounts drawn uniformly (fixed seeds) from --accounts funded ones. After
// a warm-up, the operations that end in the measured window count. Each
// one's latency (reserve plus capture) is recorded, and so are the reserve's
// and the capture's own.
//
// Backends:
// - sqlite: the real SqliteLedger on <data-dir>/ledger.db, opened as the
//   gateway opens its store (WAL, synchronous=FULL, group commit), shared by
//   every client thread of this process.
// - redis: the real RedisLedger over store::redis::Client, on a server the
//   caller started (the gateway's durability check must pass: appendonly
//   yes, appendfsync always, noeviction). With --instances K the clients are
//   split over K processes forked after the set-up, each with its own Client
//   and RedisLedger, as K gateway instances would share the server; their
//   operations are counted in the same window (the steady clock is the
//   machine's) and summed. --instances 1 forks one process, so one and two
//   instances are measured the same way.
//
// Besides throughput and latency, the RESULT line says what bounded the run,
// measured over the window only: the machine's busy and I/O-waiting cores
// (/proc/stat), the clients' CPU per operation, and for Redis the server's
// CPU, round trips and executed commands (Lua's included) per operation
// (INFO). Any failed or refused operation
// stops its client and makes the exit status 1: the accounts are funded.
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/scale/proc_cpu.h"
#include "core/clock.h"
#include "core/ids.h"
#include "ledger/ledger.h"
#include "ledger/redis/redis_ledger.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/redis/redis_checks.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_keys.h"
#include "store/sqlite.h"

namespace tollgate::bench_scale {
namespace {

struct Options {
    std::string backend = "sqlite";
    int clients = 16;
    int instances = 1;
    int seconds = 10;
    int warmup_seconds = 1;
    std::int64_t accounts = 1000;
    std::string data_dir;
    std::string redis_url = "redis://127.0.0.1:6379";
    std::string prefix = "bench:";
    std::int64_t hold_ttl_ms = 120'000;
};

// Far more than a run can spend at one token per operation.
constexpr std::int64_t kAccountTokens = 1'000'000'000;

const core::Clock& clock() { return core::SystemClock::instance(); }

void sleep_until_us(std::int64_t steady_us) {
    const std::int64_t left = steady_us - clock().steady_us();
    if (left > 0) std::this_thread::sleep_for(std::chrono::microseconds(left));
}

// The measured window on the steady clock, shared by every thread and process.
struct Window {
    std::int64_t go_us = 0;     // clients start here (warm-up)
    std::int64_t start_us = 0;  // counting starts
    std::int64_t end_us = 0;    // counting ends; clients stop after their operation
};

// What one client thread (or, merged, one process) saw in the window.
struct Tally {
    std::vector<std::int64_t> op_us, reserve_us, capture_us;
    std::int64_t failures = 0;
    std::string first_error;
    std::int64_t cpu_us = 0;  // this process's CPU in the window (merged tallies only)

    void merge(Tally&& t) {
        op_us.insert(op_us.end(), t.op_us.begin(), t.op_us.end());
        reserve_us.insert(reserve_us.end(), t.reserve_us.begin(), t.reserve_us.end());
        capture_us.insert(capture_us.end(), t.capture_us.begin(), t.capture_us.end());
        failures += t.failures;
        if (first_error.empty()) first_error = std::move(t.first_error);
        cpu_us += t.cpu_us;
    }
};

void run_client(ledger::Ledger& ledger, const std::vector<std::string>& accounts,
                std::uint64_t seed, const Window& w, std::int64_t hold_ttl_ms, Tally& t) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::size_t> pick(0, accounts.size() - 1);
    ledger::ReserveTerms terms;
    terms.ttl_ms = hold_ttl_ms;
    terms.memo = "bench-1";
    t.op_us.reserve(1 << 15);
    t.reserve_us.reserve(1 << 15);
    t.capture_us.reserve(1 << 15);
    sleep_until_us(w.go_us);
    auto fail = [&t](std::string what) {
        ++t.failures;
        t.first_error = std::move(what);
    };
    for (;;) {
        const std::string& account = accounts[pick(rng)];
        const std::string key = core::new_id("job");
        const std::int64_t began = clock().steady_us();
        auto held = ledger.reserve(account, core::Tokens(1), key, terms);
        const std::int64_t reserved = clock().steady_us();
        if (!held.ok()) return fail("reserve: " + held.error().code + ": " + held.error().message);
        if (held->outcome != ledger::ReserveOutcome::Held)
            return fail("reserve did not place a hold on " + account);
        auto captured = ledger.capture(key);
        const std::int64_t ended = clock().steady_us();
        if (!captured.ok())
            return fail("capture: " + captured.error().code + ": " + captured.error().message);
        if (*captured != ledger::SettleOutcome::Settled)
            return fail("capture did not settle " + key);
        if (ended >= w.start_us && ended < w.end_us) {
            t.op_us.push_back(ended - began);
            t.reserve_us.push_back(reserved - began);
            t.capture_us.push_back(ended - reserved);
        }
        if (ended >= w.end_us) return;
    }
}

// Runs `clients` threads on `ledger` through the window; the merged tally,
// with this process's CPU between the window's start and end.
Tally run_clients(ledger::Ledger& ledger, const std::vector<std::string>& accounts, int clients,
                  std::uint64_t seed_base, const Window& w, std::int64_t hold_ttl_ms) {
    std::vector<Tally> tallies(static_cast<std::size_t>(clients));
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i) {
        threads.emplace_back(run_client, std::ref(ledger), std::cref(accounts),
                             seed_base + static_cast<std::uint64_t>(i), std::cref(w), hold_ttl_ms,
                             std::ref(tallies[static_cast<std::size_t>(i)]));
    }
    sleep_until_us(w.start_us);
    const std::int64_t cpu_start = self_cpu_us();
    sleep_until_us(w.end_us);
    const std::int64_t cpu_end = self_cpu_us();
    for (std::thread& t : threads) t.join();
    Tally all;
    for (Tally& t : tallies) all.merge(std::move(t));
    all.cpu_us = cpu_end - cpu_start;
    return all;
}

std::int64_t percentile(std::vector<std::int64_t>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    rank = std::clamp<std::size_t>(rank, 1, v.size());
    return v[rank - 1];
}

Window make_window(const Options& o, std::int64_t lead_us) {
    Window w;
    w.go_us = clock().steady_us() + lead_us;
    w.start_us = w.go_us + std::int64_t{o.warmup_seconds} * 1'000'000;
    w.end_us = w.start_us + std::int64_t{o.seconds} * 1'000'000;
    return w;
}

// ---- Reporting ------------------------------------------------------------

std::string fixed(double v, int digits) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", digits, v);
    return text;
}

// `server_cpu_s`: CPU the server (Redis) spent in the window, if any; with the
// clients' own it is subtracted from the machine's busy time to give the
// cores busy with anything else.
int report(const Options& o, Tally& all, const Window& w, MachineCpu before, MachineCpu after,
           double server_cpu_s, const std::string& extra) {
    const double window_s = static_cast<double>(w.end_us - w.start_us) / 1e6;
    const auto ops = static_cast<std::int64_t>(all.op_us.size());
    const auto ops_per_s = static_cast<std::int64_t>(static_cast<double>(ops) / window_s);
    const std::int64_t p50 = percentile(all.op_us, 50), p99 = percentile(all.op_us, 99);
    const std::int64_t r50 = percentile(all.reserve_us, 50), r99 = percentile(all.reserve_us, 99);
    const std::int64_t c50 = percentile(all.capture_us, 50), c99 = percentile(all.capture_us, 99);
    const double tick_s = 1.0 / ticks_per_second();
    const double busy = static_cast<double>(after.busy - before.busy) * tick_s / window_s;
    const double iowait = static_cast<double>(after.iowait - before.iowait) * tick_s / window_s;
    const double per_op = ops > 0 ? 1.0 / static_cast<double>(ops) : 0;
    const double other =
        std::max(0.0, busy - (static_cast<double>(all.cpu_us) / 1e6 + server_cpu_s) / window_s);
    const double irq = static_cast<double>(after.irq - before.irq) * tick_s / window_s;
    std::string label = o.backend;
    if (o.backend == "redis") label += " x" + std::to_string(o.instances);
    std::cout << label << ": " << o.clients << " clients, " << o.seconds << " s, " << o.accounts
              << " accounts: " << ops_per_s << " reserve+capture/s, p50 " << p50 << " us, p99 "
              << p99 << " us (reserve " << r50 << " / " << r99 << ", capture " << c50 << " / "
              << c99 << "); machine " << fixed(busy, 2) << " cores busy, " << fixed(iowait, 2)
              << " in iowait\n";
    if (!all.first_error.empty()) std::cerr << "client failed: " << all.first_error << "\n";
    std::cout << "RESULT backend=" << o.backend << " instances=" << o.instances
              << " clients=" << o.clients << " seconds=" << o.seconds << " accounts=" << o.accounts
              << " hold_ttl_ms=" << o.hold_ttl_ms << " ops=" << ops << " ops_per_s=" << ops_per_s
              << " p50_us=" << p50 << " p99_us=" << p99 << " reserve_p50_us=" << r50
              << " reserve_p99_us=" << r99 << " capture_p50_us=" << c50 << " capture_p99_us=" << c99
              << " failures=" << all.failures
              << " client_cpu_us_per_op=" << fixed(static_cast<double>(all.cpu_us) * per_op, 1)
              << " machine_busy_cores=" << fixed(busy, 2)
              << " machine_iowait_cores=" << fixed(iowait, 2)
              << " other_busy_cores=" << fixed(other, 2) << " irq_cores=" << fixed(irq, 2) << extra
              << std::endl;
    return all.failures == 0 && ops > 0 ? 0 : 1;
}

// ---- SQLite -----------------------------------------------------------------

int run_sqlite(const Options& o) {
    if (o.data_dir.empty()) {
        std::cerr << "--backend sqlite needs --data-dir\n";
        return 2;
    }
    const std::string path = (std::filesystem::path(o.data_dir) / "ledger.db").string();
    if (std::filesystem::exists(path)) {
        std::cerr << path << " exists: give an empty --data-dir\n";
        return 2;
    }
    auto db = store::Database::open(path);
    if (!db.ok()) {
        std::cerr << "sqlite: " << db.error().message << "\n";
        return 1;
    }
    auto ledger = ledger::SqliteLedger::open(**db, clock());
    if (!ledger.ok()) {
        std::cerr << "sqlite: " << ledger.error().message << "\n";
        return 1;
    }
    std::vector<std::string> accounts;
    core::Status made = store::transact(
        **db,
        [&]() -> core::Status {
            for (std::int64_t i = 0; i < o.accounts; ++i) {
                auto id = (*ledger)->create_account("bench " + std::to_string(i));
                if (!id.ok()) return id.error();
                auto g = (*ledger)->grant(*id, core::Tokens(kAccountTokens), "bench");
                if (!g.ok()) return g.error();
                accounts.push_back(*id);
            }
            return {};
        },
        store::Commit::Alone);
    if (!made.ok()) {
        std::cerr << "sqlite: accounts: " << made.error().message << "\n";
        return 1;
    }
    const Window w = make_window(o, 100'000);
    // Commits and CPU of the window only: sampled at its edges on this thread
    // while the clients run.
    store::Database::Stats s0, s1;
    MachineCpu m0, m1;
    std::map<long, ProcessTicks> p0, p1;
    std::thread sampler([&] {
        sleep_until_us(w.start_us);
        s0 = (*db)->stats();
        m0 = machine_cpu();
        p0 = all_processes();
        sleep_until_us(w.end_us);
        s1 = (*db)->stats();
        m1 = machine_cpu();
        p1 = all_processes();
    });
    Tally all = run_clients(**ledger, accounts, o.clients, 1, w, o.hold_ttl_ms);
    sampler.join();
    const std::uint64_t commits = s1.batches - s0.batches;
    const std::uint64_t txns = s1.operations - s0.operations;
    std::string extra =
        " commits=" + std::to_string(commits) + " transactions_per_commit=" +
        fixed(commits ? static_cast<double>(txns) / static_cast<double>(commits) : 0.0, 1) +
        " others=" +
        busiest_others(p0, p1, {static_cast<long>(::getpid())}, static_cast<double>(o.seconds),
                       ticks_per_second());
    return report(o, all, w, m0, m1, 0, extra);
}

// ---- Redis ------------------------------------------------------------------

core::Result<std::unique_ptr<store::redis::Client>> connect_redis(const Options& o, int pool) {
    auto options = store::redis::parse_redis_url(o.redis_url);
    if (!options.ok()) return options.error();
    options->pool_connections_max = std::max(pool, 1);
    return store::redis::Client::connect(*options);
}

// One field of an INFO section ("name:value" lines), as a number.
double info_number(store::redis::Client& client, const std::string& section,
                   const std::string& name) {
    auto r = client.command("", {"INFO", section});
    if (!r.ok()) return 0;
    std::istringstream lines(r->text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(name + ":", 0) == 0) return std::stod(line.substr(name.size() + 1));
    }
    return 0;
}

// Calls of the commands the ledger sends itself on the reserve and capture
// path (redis_holds.cc: SET NX GET, EVALSHA; GET, EVALSHA). Its Lua scripts
// call none of them (they write the hold's TTL entry with ZADD and ZREM,
// which are not counted), so these count round trips; every other call Redis
// counts (total_commands_processed) ran inside a script.
double round_trip_calls(store::redis::Client& client) {
    auto r = client.command("", {"INFO", "commandstats"});
    if (!r.ok()) return 0;
    std::istringstream lines(r->text);
    std::string line;
    double calls = 0;
    for (const char* name : {"set", "get", "evalsha", "eval"}) {
        const std::string head = std::string("cmdstat_") + name + ":calls=";
        lines.clear();
        lines.seekg(0);
        while (std::getline(lines, line)) {
            if (line.rfind(head, 0) == 0) calls += std::stod(line.substr(head.size()));
        }
    }
    return calls;
}

struct RedisSample {
    double commands = 0;
    double round_trips = 0;
    double cpu_s = 0;
    MachineCpu machine;
    std::map<long, ProcessTicks> processes;
};

RedisSample sample_redis(store::redis::Client& client) {
    RedisSample s;
    s.machine = machine_cpu();
    s.processes = all_processes();
    s.commands = info_number(client, "stats", "total_commands_processed");
    s.round_trips = round_trip_calls(client);
    s.cpu_s =
        info_number(client, "cpu", "used_cpu_user") + info_number(client, "cpu", "used_cpu_sys");
    return s;
}

// A child's tally crosses the pipe as: failures, cpu_us, error length, the
// error, then each latency vector as its length and its values.
bool write_all(int fd, const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

bool read_all(int fd, void* data, std::size_t n) {
    char* p = static_cast<char*>(data);
    while (n > 0) {
        ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

bool send_tally(int fd, const Tally& t) {
    const std::int64_t head[3] = {t.failures, t.cpu_us,
                                  static_cast<std::int64_t>(t.first_error.size())};
    if (!write_all(fd, head, sizeof head)) return false;
    if (!write_all(fd, t.first_error.data(), t.first_error.size())) return false;
    for (const auto* v : {&t.op_us, &t.reserve_us, &t.capture_us}) {
        const auto n = static_cast<std::int64_t>(v->size());
        if (!write_all(fd, &n, sizeof n)) return false;
        if (!write_all(fd, v->data(), v->size() * sizeof(std::int64_t))) return false;
    }
    return true;
}

bool receive_tally(int fd, Tally& t) {
    std::int64_t head[3];
    if (!read_all(fd, head, sizeof head)) return false;
    t.failures = head[0];
    t.cpu_us = head[1];
    t.first_error.resize(static_cast<std::size_t>(head[2]));
    if (!read_all(fd, t.first_error.data(), t.first_error.size())) return false;
    for (auto* v : {&t.op_us, &t.reserve_us, &t.capture_us}) {
        std::int64_t n = 0;
        if (!read_all(fd, &n, sizeof n)) return false;
        v->resize(static_cast<std::size_t>(n));
        if (!read_all(fd, v->data(), v->size() * sizeof(std::int64_t))) return false;
    }
    return true;
}

// One instance: its own Client and RedisLedger, `clients` threads.
[[noreturn]] void redis_instance(const Options& o, int index, int clients,
                                 const std::vector<std::string>& accounts, const Window& w,
                                 int fd) {
    Tally t;
    auto client = connect_redis(o, clients);
    if (!client.ok()) {
        t.failures = 1;
        t.first_error = "instance " + std::to_string(index) + ": " + client.error().message;
    } else {
        auto ledger = ledger::RedisLedger::open(**client, clock(), o.prefix);
        if (!ledger.ok()) {
            t.failures = 1;
            t.first_error = ledger.error().message;
        } else {
            t = run_clients(**ledger, accounts, clients,
                            static_cast<std::uint64_t>(index) * 1000 + 1, w, o.hold_ttl_ms);
        }
    }
    const bool sent = send_tally(fd, t);
    ::close(fd);
    std::_Exit(sent ? 0 : 3);
}

int run_redis(const Options& o) {
    if (core::Status p = store::redis::check_prefix(o.prefix); !p.ok()) {
        std::cerr << p.error().message << "\n";
        return 2;
    }
    std::vector<std::string> accounts;
    {
        auto client = connect_redis(o, 1);
        if (!client.ok()) {
            std::cerr << "redis: " << client.error().message << "\n";
            return 1;
        }
        // The gateway refuses a server that could lose acknowledged writes; so does this.
        if (core::Status safe = store::redis::check_durability(**client); !safe.ok()) {
            std::cerr << safe.error().message << "\n";
            return 1;
        }
        auto ledger = ledger::RedisLedger::open(**client, clock(), o.prefix);
        if (!ledger.ok()) {
            std::cerr << "redis: " << ledger.error().message << "\n";
            return 1;
        }
        for (std::int64_t i = 0; i < o.accounts; ++i) {
            auto id = (*ledger)->create_account("bench " + std::to_string(i));
            if (!id.ok()) {
                std::cerr << "redis: create_account: " << id.error().message << "\n";
                return 1;
            }
            auto g = (*ledger)->grant(*id, core::Tokens(kAccountTokens), "bench");
            if (!g.ok()) {
                std::cerr << "redis: grant: " << g.error().message << "\n";
                return 1;
            }
            accounts.push_back(*id);
        }
    }  // no connection or thread crosses the fork

    // Time for every process to connect before the clients start.
    const Window w = make_window(o, 500'000);
    std::vector<pid_t> pids;
    std::vector<int> fds;
    for (int i = 0; i < o.instances; ++i) {
        const int clients = o.clients / o.instances + (i < o.clients % o.instances ? 1 : 0);
        int pipe_fds[2];
        if (::pipe(pipe_fds) != 0) {
            std::perror("pipe");
            return 1;
        }
        std::cout.flush();
        std::cerr.flush();
        const pid_t pid = ::fork();
        if (pid < 0) {
            std::perror("fork");
            return 1;
        }
        if (pid == 0) {
            ::close(pipe_fds[0]);
            for (int fd : fds) ::close(fd);
            redis_instance(o, i, clients, accounts, w, pipe_fds[1]);
        }
        ::close(pipe_fds[1]);
        pids.push_back(pid);
        fds.push_back(pipe_fds[0]);
    }

    // Server-side figures of the window, from a connection of the parent's own.
    RedisSample s0, s1;
    auto sampler = connect_redis(o, 1);
    sleep_until_us(w.start_us);
    if (sampler.ok()) s0 = sample_redis(**sampler);
    sleep_until_us(w.end_us);
    if (sampler.ok()) s1 = sample_redis(**sampler);
    if (!sampler.ok()) {
        s0.machine = machine_cpu();
        s1.machine = s0.machine;
    }
    // The others: every process but this one, its instances and the server.
    std::set<long> excluded{static_cast<long>(::getpid())};
    for (pid_t pid : pids) excluded.insert(static_cast<long>(pid));
    if (sampler.ok()) {
        const double server_pid = info_number(**sampler, "server", "process_id");
        if (server_pid > 0) excluded.insert(static_cast<long>(server_pid));
    }
    const std::string others = busiest_others(s0.processes, s1.processes, excluded,
                                              static_cast<double>(o.seconds), ticks_per_second());

    Tally all;
    std::string per_instance;
    const double window_s = static_cast<double>(w.end_us - w.start_us) / 1e6;
    bool lost = false;
    for (std::size_t i = 0; i < pids.size(); ++i) {
        Tally t;
        if (!receive_tally(fds[i], t)) {
            lost = true;
            t.failures = 1;
            t.first_error = "instance " + std::to_string(i) + " sent no tally";
        }
        ::close(fds[i]);
        int status = 0;
        ::waitpid(pids[i], &status, 0);
        per_instance += (i ? "/" : "") + std::to_string(static_cast<std::int64_t>(
                                             static_cast<double>(t.op_us.size()) / window_s));
        all.merge(std::move(t));
    }
    const double ops = static_cast<double>(all.op_us.size());
    std::string extra = " instance_ops_per_s=" + per_instance + " others=" + others;
    if (ops > 0 && sampler.ok()) {
        extra += " round_trips_per_op=" + fixed((s1.round_trips - s0.round_trips) / ops, 2) +
                 " commands_per_op=" + fixed((s1.commands - s0.commands) / ops, 2) +
                 " redis_cpu_us_per_op=" + fixed((s1.cpu_s - s0.cpu_s) * 1e6 / ops, 1) +
                 " redis_busy_cores=" + fixed((s1.cpu_s - s0.cpu_s) / window_s, 2);
    }
    const int status =
        report(o, all, w, s0.machine, s1.machine, sampler.ok() ? s1.cpu_s - s0.cpu_s : 0, extra);
    return lost ? 1 : status;
}

}  // namespace
}  // namespace tollgate::bench_scale

int main(int argc, char** argv) {
    tollgate::bench_scale::Options o;
    CLI::App app{"bench_reserve: durable reserve+capture per second through the real ledgers"};
    app.add_option("--backend", o.backend, "sqlite (SqliteLedger) or redis (RedisLedger)")
        ->check(CLI::IsMember({"sqlite", "redis"}));
    app.add_option("--clients", o.clients, "client threads in all")->check(CLI::Range(1, 1024));
    app.add_option("--instances", o.instances,
                   "redis: processes sharing the server, the clients split among them")
        ->check(CLI::Range(1, 64));
    app.add_option("--seconds", o.seconds, "measured seconds")->check(CLI::Range(1, 3600));
    app.add_option("--warmup-seconds", o.warmup_seconds, "unmeasured seconds first")
        ->check(CLI::Range(0, 600));
    app.add_option("--accounts", o.accounts, "funded accounts the clients spread over")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{10'000'000}));
    app.add_option("--data-dir", o.data_dir, "sqlite: an empty directory for ledger.db");
    app.add_option("--redis", o.redis_url, "redis: a [server] store URL");
    app.add_option("--prefix", o.prefix, "redis: key prefix (a fresh one per run)");
    app.add_option("--hold-ttl-ms", o.hold_ttl_ms,
                   "the holds' TTL (the gateway's: job timeout + 60 s; 0 = none)")
        ->check(CLI::Range(std::int64_t{0}, tollgate::ledger::kHoldTtlMsMax));
    CLI11_PARSE(app, argc, argv);
    if (o.instances > o.clients) {
        std::cerr << "--instances may not exceed --clients\n";
        return 2;
    }
    if (o.backend == "sqlite") {
        if (o.instances != 1) {
            std::cerr << "--instances applies to --backend redis only (SQLite is embedded)\n";
            return 2;
        }
        return tollgate::bench_scale::run_sqlite(o);
    }
    return tollgate::bench_scale::run_redis(o);
}
