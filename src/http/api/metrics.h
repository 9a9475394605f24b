// What GET /metrics shows Prometheus, in its text exposition format (0.0.4):
// requests by route and status, latency histograms of quotes, admissions
// (the hold) and dispatches, jobs admitted and finished, tokens held,
// captured and released, and at each scrape the jobs in flight, each
// worker's state and each usage sink's backlog.
//
// Counters and histograms are this process's since it started (Prometheus
// sums instances and handles restarts); every update is a few relaxed
// atomic adds, or one short lock for the requests table. Label values are
// bounded: routes are templates ("/v1/jobs/{id}"), never raw paths, so
// neither ids nor a scanner's junk paths grow the table.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace tollgate::http {

// Upper bounds of the latency buckets, in seconds.
inline constexpr std::array<double, 14> kLatencyBucketsSeconds = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
// Distinct (route, method, status) series kept; more count under status 0.
inline constexpr std::size_t kRequestSeriesMax = 1'000;

class LatencyHistogram {
  public:
    void observe_us(std::int64_t us);
    struct Snapshot {
        std::array<std::uint64_t, kLatencyBucketsSeconds.size()> le{};  // cumulative
        std::uint64_t count = 0;
        std::int64_t sum_us = 0;
    };
    Snapshot snapshot() const;

  private:
    std::array<std::atomic<std::uint64_t>, kLatencyBucketsSeconds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::int64_t> sum_us_{0};
};

struct WorkerGauge {
    std::string url;
    bool healthy = false;
    bool draining = false;
    int jobs = 0;
    int jobs_max = 0;
    int queue_depth = 0;  // prompts of others in its queue
    std::int64_t vram_used_bytes = 0;
    std::int64_t vram_total_bytes = 0;
};

struct SinkGauge {
    std::string sink;
    std::int64_t pending = -1;  // records not yet shipped; -1 when the outbox could not say
    std::int64_t shipped = 0;
    std::int64_t failing_for = 0;
};

// Read at each scrape.
struct LiveGauges {
    std::int64_t jobs_in_flight = 0;
    std::vector<WorkerGauge> workers;
    std::vector<SinkGauge> sinks;
    // The ledger's open holds (the embedded store; nullopt where counting
    // them would read every account).
    std::optional<std::int64_t> holds_open;
    std::optional<std::int64_t> tokens_held;
};

class Metrics {
  public:
    void count_request(std::string_view route, std::string_view method, int status);

    LatencyHistogram quote;     // POST /v1/quote, priced and answered
    LatencyHistogram reserve;   // a job's admission: the hold with the job's record
    LatencyHistogram dispatch;  // handed to the dispatcher until the worker's outcome
    std::atomic<std::uint64_t> jobs_admitted{0};
    std::atomic<std::uint64_t> jobs_succeeded{0};
    std::atomic<std::uint64_t> jobs_failed{0};
    std::atomic<std::uint64_t> tokens_held{0};      // put on hold at admission
    std::atomic<std::uint64_t> tokens_captured{0};  // charged at success
    std::atomic<std::uint64_t> tokens_released{0};  // voided at failure

    std::string render(const LiveGauges& live) const;

  private:
    mutable std::mutex mu_;
    std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
};

// The route a path is served by, with its ids as placeholders: "/v1/jobs/{id}",
// "/admin/accounts/{id}/keys"; "other" for a path no route serves.
std::string route_template(std::string_view path);

}  // namespace tollgate::http
