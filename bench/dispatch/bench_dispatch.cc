// bench_dispatch: the end-to-end latency of image jobs at a fixed arrival
// rate, either straight against a ComfyUI worker (--mode direct) or through
// the gateway in front of one (--mode gateway); bench/dispatch/run.sh runs
// both against comfysim workers with a zero-cost model and prints the
// difference (the gateway's added latency).
//
// Open loop: job i is due at start + i / rate whatever happened to the jobs
// before it, and its latency runs from that due time (not from when the
// generator got round to it) to the last byte of its result, so a slow
// server cannot hide its queueing by slowing the generator down. Jobs due in
// the warm-up are run but not counted. After the last due time the run waits
// for the jobs in flight (at most --drain-seconds); any that are still
// unfinished then count as errors. One io_context thread drives everything
// (modes.h), so the generator takes as little of the machine's CPU as it can.
//
// Prints the distribution of each mode's latency and of its phases, then
// one machine-readable RESULT line. Exits 1 if any measured job failed.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/dispatch/http_pool.h"
#include "bench/dispatch/modes.h"
#include "core/clock.h"

namespace tollgate::bench {

std::int64_t now_us() { return core::SystemClock::instance().steady_us(); }

namespace {

namespace asio = boost::asio;

struct Options {
    std::string mode;
    std::string target;
    double rate = 1000;
    int seconds = 10;
    int warmup_seconds = 1;
    int drain_seconds = 30;
    std::int64_t in_flight_max = 10'000;
    std::string image_path;
    std::string workflow_path;
    std::string workflow = "person";
    std::string admin_token;
    int accounts = 8;
    std::int64_t tokens_per_account = 1'000'000;
    int poll_interval_us = 1'000;
    std::string follow = "poll";  // gateway: poll or events
    std::size_t connections_max = 256;
};

// This process's CPU time (user and system) so far.
std::int64_t cpu_us() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto us = [](const timeval& t) { return std::int64_t{t.tv_sec} * 1'000'000 + t.tv_usec; };
    return us(usage.ru_utime) + us(usage.ru_stime);
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

class Driver {
  public:
    Driver(asio::io_context& io, Mode& mode, const Options& o)
        : io_(io), mode_(mode), o_(o), timer_(io), drain_timer_(io) {
        phases_.resize(mode.phase_names().size());
    }

    void start() {
        start_us_ = now_us() + 10'000;
        warm_end_us_ = start_us_ + std::int64_t{o_.warmup_seconds} * 1'000'000;
        end_us_ = warm_end_us_ + std::int64_t{o_.seconds} * 1'000'000;
        schedule();
    }

    int report() const;

  private:
    std::int64_t due_us(std::int64_t index) const {
        return start_us_ + static_cast<std::int64_t>(static_cast<double>(index) * 1e6 / o_.rate);
    }

    void schedule() {
        if (due_us(next_) >= end_us_) {
            scheduling_done_ = true;
            drain_timer_.expires_at(at(end_us_ + std::int64_t{o_.drain_seconds} * 1'000'000));
            drain_timer_.async_wait([this](boost::system::error_code ec) {
                if (!ec) io_.stop();
            });
            maybe_stop();
            return;
        }
        timer_.expires_at(at(due_us(next_)));
        timer_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            // Start every job already due: a late wake-up never drops or delays arrivals.
            const std::int64_t now = now_us();
            while (due_us(next_) <= now && due_us(next_) < end_us_) {
                launch(next_, due_us(next_), now);
                ++next_;
            }
            schedule();
        });
    }

    static asio::steady_timer::time_point at(std::int64_t us) {
        return asio::steady_timer::time_point(std::chrono::microseconds(us));
    }

    void launch(std::int64_t index, std::int64_t due, std::int64_t now) {
        ++launched_;
        const bool measured = due >= warm_end_us_;
        if (measured) {
            ++started_;
            lateness_.push_back(now - due);
        }
        if (in_flight_ >= o_.in_flight_max) {
            if (measured) note_error("overload: " + std::to_string(in_flight_) + " jobs in flight");
            return;
        }
        ++in_flight_;
        in_flight_peak_ = std::max(in_flight_peak_, in_flight_);
        mode_.run_job(index, [this, due, measured](JobReport r) {
            --in_flight_;
            const std::int64_t ended = now_us();
            if (r.error.empty()) ++succeeded_;
            if (measured) {
                if (r.error.empty()) {
                    totals_.push_back(ended - due);
                    for (std::size_t i = 0; i < phases_.size(); ++i) {
                        phases_[i].push_back(r.phases[i]);
                    }
                } else {
                    note_error(r.error);
                }
            }
            maybe_stop();
        });
    }

    void note_error(const std::string& e) {
        ++failed_;
        const std::string kind = e.substr(0, e.find(':'));
        if (errors_[kind]++ == 0) std::cerr << "first " << kind << " error: " << e << "\n";
    }

    void maybe_stop() {
        if (scheduling_done_ && in_flight_ == 0) io_.stop();
    }

    asio::io_context& io_;
    Mode& mode_;
    const Options& o_;
    asio::steady_timer timer_;
    asio::steady_timer drain_timer_;
    std::int64_t start_us_ = 0;
    std::int64_t warm_end_us_ = 0;
    std::int64_t end_us_ = 0;
    std::int64_t next_ = 0;
    bool scheduling_done_ = false;
    std::int64_t in_flight_ = 0;
    std::int64_t in_flight_peak_ = 0;
    std::int64_t launched_ = 0;   // warm-up included
    std::int64_t succeeded_ = 0;  // warm-up included
    std::int64_t started_ = 0;    // measured jobs
    std::int64_t failed_ = 0;
    std::map<std::string, std::int64_t> errors_;
    std::vector<std::int64_t> totals_;
    std::vector<std::int64_t> lateness_;
    std::vector<std::vector<std::int64_t>> phases_;
};

int Driver::report() const {
    auto sorted = [](std::vector<std::int64_t> v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    const auto ok = static_cast<std::int64_t>(totals_.size());
    // Jobs still in flight when the drain ended never reported: errors too.
    const std::int64_t unfinished = started_ - ok - failed_;
    const std::int64_t errors = failed_ + unfinished;
    const double achieved = static_cast<double>(ok) / o_.seconds;
    const auto total = sorted(totals_);
    const auto late = sorted(lateness_);

    std::printf("%s: %.0f jobs/s offered for %d s (+%d s warm-up) against %s\n", o_.mode.c_str(),
                o_.rate, o_.seconds, o_.warmup_seconds, o_.target.c_str());
    std::printf(
        "  jobs %lld, ok %lld, errors %lld (unfinished %lld), achieved %.1f jobs/s, "
        "peak in flight %lld, start lateness p50 %lld us p99 %lld us\n",
        static_cast<long long>(started_), static_cast<long long>(ok),
        static_cast<long long>(errors), static_cast<long long>(unfinished), achieved,
        static_cast<long long>(in_flight_peak_), static_cast<long long>(percentile(late, 50)),
        static_cast<long long>(percentile(late, 99)));
    for (const auto& [kind, count] : errors_) {
        std::printf("  error %s: %lld\n", kind.c_str(), static_cast<long long>(count));
    }
    std::printf("  %-22s%10s%10s%10s%10s\n", "latency (us)", "p50", "p90", "p99", "max");
    auto row = [](const std::string& name, const std::vector<std::int64_t>& v) {
        std::printf("  %-22s%10lld%10lld%10lld%10lld\n", name.c_str(),
                    static_cast<long long>(percentile(v, 50)),
                    static_cast<long long>(percentile(v, 90)),
                    static_cast<long long>(percentile(v, 99)),
                    static_cast<long long>(v.empty() ? 0 : v.back()));
    };
    row("end to end", total);
    const auto names = mode_.phase_names();
    std::ostringstream phase_fields;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto v = sorted(phases_[i]);
        row(names[i], v);
        phase_fields << " " << names[i] << "_p50_us=" << percentile(v, 50) << " " << names[i]
                     << "_p99_us=" << percentile(v, 99);
    }
    char achieved_text[32];
    std::snprintf(achieved_text, sizeof achieved_text, "%.1f", achieved);
    std::cout << "RESULT mode=" << o_.mode << " rate=" << o_.rate << " seconds=" << o_.seconds
              << " jobs=" << started_ << " ok=" << ok << " errors=" << errors
              << " achieved_per_s=" << achieved_text << " p50_us=" << percentile(total, 50)
              << " p90_us=" << percentile(total, 90) << " p99_us=" << percentile(total, 99)
              << " max_us=" << (total.empty() ? 0 : total.back())
              << " late_p99_us=" << percentile(late, 99) << " in_flight_peak=" << in_flight_peak_
              << " jobs_total=" << launched_ << " ok_total=" << succeeded_
              << " client_cpu_us_per_job=" << cpu_us() / std::max<std::int64_t>(1, launched_)
              << phase_fields.str() << mode_.stats() << std::endl;
    return errors == 0 && ok > 0 ? 0 : 1;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream text;
    text << in.rdbuf();
    out = text.str();
    return true;
}

int run(const Options& o) {
    asio::ip::tcp::endpoint target;
    if (!parse_endpoint(o.target, target)) {
        std::cerr << "--target wants HOST:PORT with an IPv4 host, got '" << o.target << "'\n";
        return 2;
    }
    std::string image;
    if (!read_file(o.image_path, image) || image.empty()) {
        std::cerr << "cannot read --image " << o.image_path << "\n";
        return 2;
    }
    asio::io_context io;
    std::unique_ptr<Mode> mode;
    if (o.mode == "direct") {
        std::string workflow;
        if (!read_file(o.workflow_path, workflow)) {
            std::cerr << "cannot read --workflow-template " << o.workflow_path << "\n";
            return 2;
        }
        mode = make_direct_mode(io, {target, workflow, image, o.connections_max});
    } else {
        GatewayOptions g;
        g.gateway = target;
        g.admin_token = o.admin_token;
        g.workflow = o.workflow;
        g.image = image;
        g.accounts = o.accounts;
        g.tokens_per_account = o.tokens_per_account;
        g.poll_interval_us = o.poll_interval_us;
        g.follow_events = o.follow == "events";
        g.connections_max = o.connections_max;
        mode = make_gateway_mode(io, std::move(g));
    }

    std::string setup_error;
    bool set_up = false;
    mode->setup([&](std::string e) {
        setup_error = std::move(e);
        set_up = true;
    });
    while (!set_up && io.run_one() > 0) {
    }
    if (!set_up || !setup_error.empty()) {
        std::cerr << o.mode << " setup failed: " << (set_up ? setup_error : "no answer") << "\n";
        return 1;
    }
    Driver driver(io, *mode, o);
    driver.start();
    io.run();
    return driver.report();
}

}  // namespace
}  // namespace tollgate::bench

int main(int argc, char** argv) {
    tollgate::bench::Options o;
    CLI::App app{
        "bench_dispatch: open-loop job latency, direct to a ComfyUI worker or through "
        "the gateway"};
    app.add_option("--mode", o.mode, "direct (ComfyUI API) or gateway (Tollgate API)")
        ->required()
        ->check(CLI::IsMember({"direct", "gateway"}));
    app.add_option("--target", o.target, "HOST:PORT of the worker (direct) or gateway")->required();
    app.add_option("--image", o.image_path, "PNG or JPEG file every job sends")->required();
    app.add_option("--rate", o.rate, "jobs started per second")->check(CLI::Range(1.0, 100000.0));
    app.add_option("--seconds", o.seconds, "measured seconds")->check(CLI::Range(1, 3600));
    app.add_option("--warmup-seconds", o.warmup_seconds, "seconds run first, not measured")
        ->check(CLI::Range(0, 600));
    app.add_option("--drain-seconds", o.drain_seconds,
                   "how long to wait for jobs in flight after the last one started")
        ->check(CLI::Range(1, 600));
    app.add_option("--in-flight-max", o.in_flight_max,
                   "jobs in flight at most; a job due beyond it counts as an error")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000}));
    app.add_option("--connections-max", o.connections_max,
                   "keep-alive HTTP connections to the target at most")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000}));
    app.add_option("--workflow-template", o.workflow_path,
                   "direct: the API-format workflow JSON (one LoadImage, SaveImage nodes)");
    app.add_option("--workflow", o.workflow, "gateway: the workflow name (default person)");
    app.add_option("--admin-token", o.admin_token, "gateway: the admin token");
    app.add_option("--accounts", o.accounts, "gateway: accounts created and used in turn")
        ->check(CLI::Range(1, 10'000));
    app.add_option("--tokens-per-account", o.tokens_per_account,
                   "gateway: the grant each account gets")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000'000'000}));
    app.add_option("--follow", o.follow,
                   "gateway: how the client learns a job ended: poll (GET /v1/jobs/{id} every "
                   "--poll-us) or events (its event stream)")
        ->check(CLI::IsMember({"poll", "events"}));
    app.add_option("--poll-us", o.poll_interval_us,
                   "gateway: microseconds between two GET /v1/jobs/{id} of one job")
        ->check(CLI::Range(10, 10'000'000));
    CLI11_PARSE(app, argc, argv);
    if (o.mode == "direct" && o.workflow_path.empty()) {
        std::cerr << "--mode direct needs --workflow-template\n";
        return 2;
    }
    if (o.mode == "gateway" && o.admin_token.empty()) {
        std::cerr << "--mode gateway needs --admin-token\n";
        return 2;
    }
    return tollgate::bench::run(o);
}
