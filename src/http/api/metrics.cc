// Prometheus metrics (see metrics.h).
#include "http/api/metrics.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace tollgate::http {
namespace {

// The path segments that name a route rather than an id.
const std::set<std::string_view>& route_words() {
    static const std::set<std::string_view> words = {
        "v1", "admin", "quote", "plans", "jobs", "events", "result", "results", "account", "ledger",
        "pricing", "reload", "accounts", "keys", "grants", "adjustments", "refunds", "tenant",
        "reports", "workers", "drain", "healthz", "metrics", "hourly", "heatmap", "economics",
        "top-accounts", "queue-wait", "dashboard", "calibration", "forecast", "workflows", "app",
        // The ComfyUI facade's (facade/facade_api.h).
        "api", "prompt", "upload", "image", "history", "view", "queue", "interrupt", "object_info",
        "system_stats", "ws"};
    return words;
}

// Every route the API serves (api.cc, admin_*.cc), as route_template() writes it.
const std::set<std::string, std::less<>>& routes() {
    static const std::set<std::string, std::less<>> all = {
        "/healthz",
        "/metrics",
        "/v1/quote",
        "/v1/plans",
        "/v1/workflows",
        "/v1/jobs",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/events",
        "/v1/jobs/{id}/result",
        "/v1/results/{id}",
        "/v1/account",
        "/v1/account/ledger",
        "/admin/pricing",
        "/admin/pricing/reload",
        "/admin/workers",
        "/admin/workers/drain",
        "/admin/accounts",
        "/admin/accounts/{id}",
        "/admin/accounts/{id}/ledger",
        "/admin/accounts/{id}/keys",
        "/admin/accounts/{id}/keys/{id}",
        "/admin/accounts/{id}/grants",
        "/admin/accounts/{id}/adjustments",
        "/admin/accounts/{id}/plans",
        "/admin/accounts/{id}/plans/{id}",
        "/admin/accounts/{id}/tenant",
        "/admin/jobs/{id}/refunds",
        "/admin/reports/hourly",
        "/admin/reports/heatmap",
        "/admin/reports/economics",
        "/admin/reports/top-accounts",
        "/admin/reports/queue-wait",
        "/admin/reports/calibration",
        "/admin/reports/forecast",
        "/dashboard",
        "/dashboard/{id}",
        "/",
        "/app/{id}",
        "/prompt",
        "/upload/image",
        "/history",
        "/history/{id}",
        "/view",
        "/queue",
        "/interrupt",
        "/object_info",
        "/object_info/{id}",
        "/system_stats",
        "/ws",
        "/api/prompt",
        "/api/upload/image",
        "/api/history",
        "/api/history/{id}",
        "/api/view",
        "/api/queue",
        "/api/interrupt",
        "/api/object_info",
        "/api/object_info/{id}",
        "/api/system_stats",
        "/api/ws",
    };
    return all;
}

std::string escape_label(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void line(std::string& out, const char* name, const std::string& labels, double value) {
    char number[64];
    std::snprintf(number, sizeof number, "%.17g", value);
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += " ";
    out += number;
    out += "\n";
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void histogram(std::string& out, const char* name, const char* help, const LatencyHistogram& h) {
    header(out, name, "histogram", help);
    const LatencyHistogram::Snapshot s = h.snapshot();
    const std::string bucket = std::string(name) + "_bucket";
    for (std::size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
        char le[32];
        std::snprintf(le, sizeof le, "%g", kLatencyBucketsSeconds[i]);
        line(out, bucket.c_str(), std::string("le=\"") + le + "\"", static_cast<double>(s.le[i]));
    }
    line(out, bucket.c_str(), "le=\"+Inf\"", static_cast<double>(s.count));
    line(out, (std::string(name) + "_sum").c_str(), "", static_cast<double>(s.sum_us) / 1e6);
    line(out, (std::string(name) + "_count").c_str(), "", static_cast<double>(s.count));
}

}  // namespace

void LatencyHistogram::observe_us(std::int64_t us) {
    us = std::max<std::int64_t>(us, 0);
    const double seconds = static_cast<double>(us) / 1e6;
    const auto* at =
        std::lower_bound(kLatencyBucketsSeconds.begin(), kLatencyBucketsSeconds.end(), seconds);
    buckets_[static_cast<std::size_t>(at - kLatencyBucketsSeconds.begin())].fetch_add(
        1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
    Snapshot s;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        s.le[i] = running;
    }
    // The total from the buckets, so +Inf is never below the last bucket
    // even while an observation is half recorded.
    s.count = running + buckets_.back().load(std::memory_order_relaxed);
    s.sum_us = sum_us_.load(std::memory_order_relaxed);
    return s;
}

void Metrics::count_request(std::string_view route, std::string_view method, int status) {
    std::string m(method);
    if (m != "GET" && m != "POST" && m != "DELETE" && m != "HEAD") m = "other";
    std::lock_guard lock(mu_);
    auto key = std::make_tuple(std::string(route), m, status);
    auto it = requests_.find(key);
    if (it == requests_.end()) {
        if (requests_.size() >= kRequestSeriesMax) key = std::make_tuple("other", "other", 0);
        it = requests_.try_emplace(key, 0).first;
    }
    ++it->second;
}

std::string Metrics::render(const LiveGauges& live) const {
    std::string out;
    header(out, "tollgate_http_requests_total", "counter", "Requests by route, method and status.");
    {
        std::lock_guard lock(mu_);
        for (const auto& [key, n] : requests_) {
            const auto& [route, method, status] = key;
            line(out, "tollgate_http_requests_total",
                 "route=\"" + escape_label(route) + "\",method=\"" + method + "\",status=\"" +
                     std::to_string(status) + "\"",
                 static_cast<double>(n));
        }
    }
    histogram(out, "tollgate_quote_seconds", "Time to price and answer a quote.", quote);
    histogram(out, "tollgate_reserve_seconds",
              "Time to admit a job: the hold and the job's record, committed.", reserve);
    histogram(out, "tollgate_dispatch_seconds",
              "Time from handing a job to the dispatcher to its worker's outcome.", dispatch);
    header(out, "tollgate_jobs_admitted_total", "counter", "Jobs admitted (held and dispatched).");
    line(out, "tollgate_jobs_admitted_total", "", static_cast<double>(jobs_admitted.load()));
    header(out, "tollgate_jobs_finished_total", "counter", "Jobs that ended, by final state.");
    line(out, "tollgate_jobs_finished_total", "state=\"succeeded\"",
         static_cast<double>(jobs_succeeded.load()));
    line(out, "tollgate_jobs_finished_total", "state=\"failed\"",
         static_cast<double>(jobs_failed.load()));
    header(out, "tollgate_jobs", "gauge", "Jobs by state now: in flight on this instance.");
    line(out, "tollgate_jobs", "state=\"in_flight\"", static_cast<double>(live.jobs_in_flight));
    header(out, "tollgate_tokens_total", "counter",
           "Tokens put on hold, captured and released by this instance.");
    line(out, "tollgate_tokens_total", "movement=\"held\"",
         static_cast<double>(tokens_held.load()));
    line(out, "tollgate_tokens_total", "movement=\"captured\"",
         static_cast<double>(tokens_captured.load()));
    line(out, "tollgate_tokens_total", "movement=\"released\"",
         static_cast<double>(tokens_released.load()));
    if (live.holds_open && live.tokens_held) {
        header(out, "tollgate_holds_open", "gauge", "Holds open in the ledger.");
        line(out, "tollgate_holds_open", "", static_cast<double>(*live.holds_open));
        header(out, "tollgate_tokens_held", "gauge", "Tokens on hold in the ledger.");
        line(out, "tollgate_tokens_held", "", static_cast<double>(*live.tokens_held));
    }
    header(out, "tollgate_worker_healthy", "gauge", "1 when the worker answers its probes.");
    for (const WorkerGauge& w : live.workers)
        line(out, "tollgate_worker_healthy", "worker=\"" + escape_label(w.url) + "\"",
             w.healthy ? 1 : 0);
    header(out, "tollgate_worker_draining", "gauge", "1 while the worker is drained.");
    for (const WorkerGauge& w : live.workers)
        line(out, "tollgate_worker_draining", "worker=\"" + escape_label(w.url) + "\"",
             w.draining ? 1 : 0);
    header(out, "tollgate_worker_jobs", "gauge", "This gateway's jobs on the worker.");
    for (const WorkerGauge& w : live.workers)
        line(out, "tollgate_worker_jobs", "worker=\"" + escape_label(w.url) + "\"", w.jobs);
    header(out, "tollgate_worker_queue_depth", "gauge", "Others' prompts queued on the worker.");
    for (const WorkerGauge& w : live.workers)
        line(out, "tollgate_worker_queue_depth", "worker=\"" + escape_label(w.url) + "\"",
             w.queue_depth);
    header(out, "tollgate_worker_vram_used_bytes", "gauge", "VRAM in use on the worker.");
    for (const WorkerGauge& w : live.workers)
        line(out, "tollgate_worker_vram_used_bytes", "worker=\"" + escape_label(w.url) + "\"",
             static_cast<double>(w.vram_used_bytes));
    header(out, "tollgate_usage_sink_pending_records", "gauge",
           "Usage records waiting to ship to the sink (its lag).");
    for (const SinkGauge& s : live.sinks) {
        if (s.pending >= 0)
            line(out, "tollgate_usage_sink_pending_records",
                 "sink=\"" + escape_label(s.sink) + "\"", static_cast<double>(s.pending));
    }
    header(out, "tollgate_usage_sink_failing_attempts", "gauge",
           "Failed attempts in a row to ship to the sink; 0 when healthy.");
    for (const SinkGauge& s : live.sinks)
        line(out, "tollgate_usage_sink_failing_attempts", "sink=\"" + escape_label(s.sink) + "\"",
             static_cast<double>(s.failing_for));
    return out;
}

std::string route_template(std::string_view path) {
    std::string out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        std::size_t end = path.find('/', i);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view word = path.substr(i, end - i);
        out += "/";
        out += route_words().count(word) ? std::string(word) : std::string("{id}");
        i = end;
    }
    // Only the root itself is "/"; an empty path names nothing.
    if (out.empty()) return path.empty() ? "other" : "/";
    return routes().count(out) ? out : "other";
}

}  // namespace tollgate::http
