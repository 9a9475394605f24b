// bench_jobs: completed image jobs per second through one or more gateway
// instances, under a closed loop of fixed concurrency.
//
// --concurrency slots each run one job at a time, back to back: POST
// /v1/jobs, GET /v1/jobs/{id} every --poll-us until the job is final, GET
// /v1/jobs/{id}/result (bench/dispatch's gateway client, gateway_mode.cc,
// unchanged). Job i goes to target i mod T, so two instances share the load
// evenly; each target gets accounts of its own, created, funded and given
// keys through its admin API. A job counts when its result has been read
// and it ended inside the measured window (after --warmup-seconds); a job
// that failed or was refused counts as an error, and its slot waits 20 ms
// before its next job. After the window no slot starts a new job, and jobs
// still running after --drain-seconds count as errors too.
//
// Like bench_reserve, the RESULT line says what bounded the run, over the
// window only: the machine's busy and I/O-waiting cores (/proc/stat), and
// the CPU per completed job of the client and of each process named by
// --watch (e.g. gateway=PID,worker=PID,redis=PID; repeated names add up),
// the cores busy with anything else (other_busy_cores: interrupts, kernel
// threads, other work on the machine), the interrupts' share of them, and
// the busiest other processes by name. It also gives the p50 and p99 of
// each phase of a job (submit: POST /v1/jobs to its 202; wait: to the poll
// that sees it final; result: GET of the image).
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench/dispatch/http_pool.h"
#include "bench/dispatch/modes.h"
#include "bench/scale/proc_cpu.h"
#include "core/clock.h"

namespace tollgate::bench {

// The clock gateway_mode.cc reads (bench_dispatch.cc defines it there).
std::int64_t now_us() { return core::SystemClock::instance().steady_us(); }

namespace {

namespace asio = boost::asio;
using bench_scale::MachineCpu;

struct Options {
    std::vector<std::string> targets;
    std::string image_path;
    std::string admin_token;
    std::string workflow = "person";
    int accounts = 8;
    int concurrency = 32;
    int seconds = 10;
    int warmup_seconds = 2;
    int drain_seconds = 30;
    int poll_interval_us = 5'000;
    std::string watch;  // name=pid,name=pid
};

std::int64_t percentile(std::vector<std::int64_t> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    rank = std::clamp<std::size_t>(rank, 1, v.size());
    return v[rank - 1];
}

std::string fixed(double v, int digits) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", digits, v);
    return text;
}

struct Watched {
    std::string name;
    long pid = 0;
    std::int64_t start_ticks = 0;
    std::int64_t end_ticks = 0;
};

// CPU of the watched processes, the client and the machine at the window's edges.
struct Sample {
    MachineCpu machine;
    std::int64_t client_cpu_us = 0;
    std::map<long, bench_scale::ProcessTicks> processes;
};

class Driver {
  public:
    Driver(asio::io_context& io, std::vector<std::unique_ptr<Mode>>& modes, const Options& o,
           std::vector<Watched>& watched)
        : io_(io), modes_(modes), o_(o), watched_(watched), edge_(io), drain_(io) {
        per_target_.assign(modes.size(), 0);
    }

    void start() {
        start_us_ = now_us();
        window_start_us_ = start_us_ + std::int64_t{o_.warmup_seconds} * 1'000'000;
        window_end_us_ = window_start_us_ + std::int64_t{o_.seconds} * 1'000'000;
        edge_.expires_at(at(window_start_us_));
        edge_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            sample(before_, true);
            edge_.expires_at(at(window_end_us_));
            edge_.async_wait([this](boost::system::error_code ec) {
                if (ec) return;
                sample(after_, false);
                drain_.expires_at(at(window_end_us_ + std::int64_t{o_.drain_seconds} * 1'000'000));
                drain_.async_wait([this](boost::system::error_code ec) {
                    if (!ec) io_.stop();
                });
                maybe_stop();
            });
        });
        for (int slot = 0; slot < o_.concurrency; ++slot) launch();
    }

    int report() const;

  private:
    static asio::steady_timer::time_point at(std::int64_t us) {
        return asio::steady_timer::time_point(std::chrono::microseconds(us));
    }

    void sample(Sample& s, bool start) {
        s.machine = bench_scale::machine_cpu();
        s.client_cpu_us = bench_scale::self_cpu_us();
        s.processes = bench_scale::all_processes();
        for (Watched& w : watched_) {
            (start ? w.start_ticks : w.end_ticks) = bench_scale::process_cpu_ticks(w.pid);
        }
    }

    void launch() {
        if (now_us() >= window_end_us_) {
            maybe_stop();
            return;
        }
        const std::int64_t index = next_++;
        const std::size_t target = static_cast<std::size_t>(index) % modes_.size();
        ++in_flight_;
        const std::int64_t began = now_us();
        modes_[target]->run_job(index, [this, began, target](JobReport r) {
            --in_flight_;
            const std::int64_t ended = now_us();
            const bool measured = ended >= window_start_us_ && ended < window_end_us_;
            if (r.error.empty()) {
                ++ok_total_;
                if (measured) {
                    latencies_.push_back(ended - began);
                    ++per_target_[target];
                    phases_.resize(r.phases.size());
                    for (std::size_t i = 0; i < r.phases.size(); ++i)
                        phases_[i].push_back(r.phases[i]);
                }
                return launch();
            }
            ++errors_total_;
            if (measured) ++errors_;
            const std::string kind = r.error.substr(0, r.error.find(':'));
            if (error_kinds_[kind]++ == 0) std::cerr << "first " << kind << " error: " << r.error << "\n";
            auto pause = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
            pause->async_wait([this, pause](boost::system::error_code) { launch(); });
        });
    }

    void maybe_stop() {
        if (in_flight_ == 0 && now_us() >= window_end_us_) io_.stop();
    }

    asio::io_context& io_;
    std::vector<std::unique_ptr<Mode>>& modes_;
    const Options& o_;
    std::vector<Watched>& watched_;
    asio::steady_timer edge_;
    asio::steady_timer drain_;
    std::int64_t start_us_ = 0, window_start_us_ = 0, window_end_us_ = 0;
    std::int64_t next_ = 0;
    std::int64_t in_flight_ = 0;
    std::int64_t ok_total_ = 0, errors_total_ = 0, errors_ = 0;
    std::vector<std::int64_t> per_target_;
    std::vector<std::int64_t> latencies_;
    std::vector<std::vector<std::int64_t>> phases_;  // per phase of gateway_mode, measured jobs
    std::map<std::string, std::int64_t> error_kinds_;
    Sample before_, after_;
};

int Driver::report() const {
    const double window_s = o_.seconds;
    const auto ok = static_cast<std::int64_t>(latencies_.size());
    const double jobs_per_s = static_cast<double>(ok) / window_s;
    const double tick_s = 1.0 / bench_scale::ticks_per_second();
    const double busy =
        static_cast<double>(after_.machine.busy - before_.machine.busy) * tick_s / window_s;
    const double iowait =
        static_cast<double>(after_.machine.iowait - before_.machine.iowait) * tick_s / window_s;
    const double per_job_us = ok > 0 ? 1e6 / static_cast<double>(ok) : 0;
    std::ostringstream cpu;
    cpu << " client_cpu_us_per_job="
        << fixed(static_cast<double>(after_.client_cpu_us - before_.client_cpu_us) /
                     static_cast<double>(std::max<std::int64_t>(ok, 1)),
                 0);
    std::map<std::string, double> by_name;  // seconds of CPU in the window
    for (const Watched& w : watched_) {
        if (w.start_ticks < 0 || w.end_ticks < 0) continue;
        by_name[w.name] += static_cast<double>(w.end_ticks - w.start_ticks) * tick_s;
    }
    std::string cpu_text;
    // What the machine spent beyond the client and the watched processes:
    // other work on the machine (or unwatched helpers), which these figures
    // then share the cores with.
    double watched_s = static_cast<double>(after_.client_cpu_us - before_.client_cpu_us) / 1e6;
    for (const auto& [name, seconds] : by_name) watched_s += seconds;
    cpu << " other_busy_cores=" << fixed(std::max(0.0, busy - watched_s / window_s), 2)
        << " irq_cores="
        << fixed(static_cast<double>(after_.machine.irq - before_.machine.irq) * tick_s / window_s,
                 2);
    std::set<long> excluded{static_cast<long>(::getpid())};
    for (const Watched& w : watched_) excluded.insert(w.pid);
    cpu << " others=" << bench_scale::busiest_others(before_.processes, after_.processes, excluded,
                                                    window_s, bench_scale::ticks_per_second());
    for (const auto& [name, seconds] : by_name) {
        cpu << " " << name << "_cpu_us_per_job=" << fixed(seconds * per_job_us, 0) << " "
            << name << "_busy_cores=" << fixed(seconds / window_s, 2);
        cpu_text += ", " + name + " " + fixed(seconds * per_job_us / 1000, 2) + " ms";
    }
    std::string targets;
    for (std::size_t i = 0; i < per_target_.size(); ++i) {
        targets += (i ? "/" : "") + fixed(static_cast<double>(per_target_[i]) / window_s, 1);
    }
    const std::int64_t unfinished = in_flight_;
    std::cout << modes_.size() << " gateway(s), " << o_.concurrency << " jobs in flight, "
              << o_.seconds << " s: " << fixed(jobs_per_s, 1) << " jobs/s (" << targets
              << "), p50 " << percentile(latencies_, 50) << " us, p99 "
              << percentile(latencies_, 99) << " us, errors " << errors_ << " (" << errors_total_
              << " in all), unfinished " << unfinished << "; machine " << fixed(busy, 2)
              << " cores busy, " << fixed(iowait, 2) << " in iowait; CPU per job: client "
              << fixed(static_cast<double>(after_.client_cpu_us - before_.client_cpu_us) /
                           static_cast<double>(std::max<std::int64_t>(ok, 1)) / 1000,
                       2)
              << " ms" << cpu_text << "\n";
    std::cout << "RESULT gateways=" << modes_.size() << " concurrency=" << o_.concurrency
              << " seconds=" << o_.seconds << " ok=" << ok << " jobs_per_s=" << fixed(jobs_per_s, 1)
              << " target_jobs_per_s=" << targets << " p50_us=" << percentile(latencies_, 50)
              << " p99_us=" << percentile(latencies_, 99) << " errors=" << errors_
              << " errors_total=" << errors_total_ << " unfinished=" << unfinished
              << " ok_total=" << ok_total_ << " machine_busy_cores=" << fixed(busy, 2)
              << " machine_iowait_cores=" << fixed(iowait, 2) << cpu.str();
    const std::vector<std::string> names = modes_.front()->phase_names();
    for (std::size_t i = 0; i < names.size() && i < phases_.size(); ++i) {
        std::cout << " " << names[i] << "_p50_us=" << percentile(phases_[i], 50) << " "
                  << names[i] << "_p99_us=" << percentile(phases_[i], 99);
    }
    for (std::size_t i = 0; i < modes_.size(); ++i) {
        std::string stats = modes_[i]->stats();
        // gateway_mode's pairs, numbered per target: " poll_interval_us=... polls_per_job=..."
        std::istringstream pairs(stats);
        std::string pair;
        while (pairs >> pair) std::cout << " t" << i << "_" << pair;
    }
    std::cout << std::endl;
    return errors_total_ == 0 && unfinished == 0 && ok > 0 ? 0 : 1;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream text;
    text << in.rdbuf();
    out = text.str();
    return true;
}

bool parse_watch(const std::string& text, std::vector<Watched>& out) {
    std::istringstream items(text);
    std::string item;
    while (std::getline(items, item, ',')) {
        if (item.empty()) continue;
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0) return false;
        Watched w;
        w.name = item.substr(0, eq);
        try {
            w.pid = std::stol(item.substr(eq + 1));
        } catch (...) {
            return false;
        }
        out.push_back(w);
    }
    return true;
}

int run(const Options& o) {
    std::string image;
    if (!read_file(o.image_path, image) || image.empty()) {
        std::cerr << "cannot read --image " << o.image_path << "\n";
        return 2;
    }
    std::vector<Watched> watched;
    if (!parse_watch(o.watch, watched)) {
        std::cerr << "--watch wants name=pid[,name=pid...], got '" << o.watch << "'\n";
        return 2;
    }
    asio::io_context io;
    std::vector<std::unique_ptr<Mode>> modes;
    for (const std::string& t : o.targets) {
        GatewayOptions g;
        if (!parse_endpoint(t, g.gateway)) {
            std::cerr << "--target wants HOST:PORT with an IPv4 host, got '" << t << "'\n";
            return 2;
        }
        g.admin_token = o.admin_token;
        g.workflow = o.workflow;
        g.image = image;
        g.accounts = o.accounts;
        g.poll_interval_us = o.poll_interval_us;
        g.connections_max = static_cast<std::size_t>(o.concurrency) + 8;
        modes.push_back(make_gateway_mode(io, std::move(g)));
    }
    for (std::size_t i = 0; i < modes.size(); ++i) {
        std::string error;
        bool set_up = false;
        modes[i]->setup([&](std::string e) {
            error = std::move(e);
            set_up = true;
        });
        while (!set_up && io.run_one() > 0) {
        }
        if (!set_up || !error.empty()) {
            std::cerr << o.targets[i] << ": setup failed: " << (set_up ? error : "no answer")
                      << "\n";
            return 1;
        }
    }
    Driver driver(io, modes, o, watched);
    driver.start();
    io.run();
    return driver.report();
}

}  // namespace
}  // namespace tollgate::bench

int main(int argc, char** argv) {
    tollgate::bench::Options o;
    CLI::App app{"bench_jobs: completed jobs per second through gateway instances, closed loop"};
    app.add_option("--target", o.targets, "HOST:PORT of a gateway (repeat for each instance)")
        ->required();
    app.add_option("--image", o.image_path, "PNG file every job sends")->required();
    app.add_option("--admin-token", o.admin_token, "the gateways' admin token")->required();
    app.add_option("--workflow", o.workflow, "the workflow name (default person)");
    app.add_option("--accounts", o.accounts, "accounts per target, used in turn")
        ->check(CLI::Range(1, 10'000));
    app.add_option("--concurrency", o.concurrency, "jobs in flight at once, all targets together")
        ->check(CLI::Range(1, 10'000));
    app.add_option("--seconds", o.seconds, "measured seconds")->check(CLI::Range(1, 3600));
    app.add_option("--warmup-seconds", o.warmup_seconds, "seconds run first, not measured")
        ->check(CLI::Range(0, 600));
    app.add_option("--drain-seconds", o.drain_seconds,
                   "how long jobs still running after the window may take")
        ->check(CLI::Range(1, 600));
    app.add_option("--poll-us", o.poll_interval_us,
                   "microseconds between two GET /v1/jobs/{id} of one job")
        ->check(CLI::Range(10, 10'000'000));
    app.add_option("--watch", o.watch, "name=pid,... whose CPU in the window to report");
    CLI11_PARSE(app, argc, argv);
    return tollgate::bench::run(o);
}
