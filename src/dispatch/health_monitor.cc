#include "dispatch/health_monitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/assert.h"
#include "dispatch/comfy_client.h"

namespace tollgate::dispatch {
namespace {

// A probe may take this long, whatever the interval: a busy worker (or a
// busy gateway host) answering in 200 ms is slow, not down.
constexpr int kProbeTimeoutMsMin = 1'000;
constexpr int kProbeTimeoutMsMax = 2'000;
constexpr const char* kOwnClientPrefix = "tollgate-";

}  // namespace

WorkerSample HealthMonitor::probe_comfy(const std::string& url, int timeout_ms) {
    WorkerSample sample;
    auto client = ComfyClient::create(url);
    if (!client) return sample;
    client->set_request_timeout_ms(timeout_ms);
    auto stats_body = client->system_stats();
    if (!stats_body) return sample;
    auto stats = parse_system_stats(*stats_body);
    if (!stats) {
        spdlog::warn("worker {}: {}", url, stats.error().message);
        return sample;
    }
    auto queue_body = client->get_queue();
    if (!queue_body) return sample;
    auto depth = queue_depth_of_others(*queue_body, kOwnClientPrefix);
    if (!depth) {
        spdlog::warn("worker {}: {}", url, depth.error().message);
        return sample;
    }
    sample.reachable = true;
    sample.vram_total_bytes = stats->vram_total_bytes;
    sample.vram_used_bytes = stats->vram_total_bytes - stats->vram_free_bytes;
    sample.queue_depth = *depth;
    return sample;
}

HealthMonitor::HealthMonitor(WorkerPools& pools, int interval_ms, Probe probe)
    : pools_(pools), interval_ms_(interval_ms), probe_(std::move(probe)) {
    TOLLGATE_ASSERT(interval_ms_ >= kHealthIntervalMsMin && interval_ms_ <= kHealthIntervalMsMax);
    TOLLGATE_ASSERT(probe_ != nullptr);
    thread_ = std::thread([this] { thread_main(); });
}

HealthMonitor::~HealthMonitor() { stop(); }

void HealthMonitor::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void HealthMonitor::probe_all() {
    const int timeout_ms = std::clamp(interval_ms_, kProbeTimeoutMsMin, kProbeTimeoutMsMax);
    for (const std::string& url : pools_.urls()) {
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
        }
        const WorkerSample sample = probe_(url, timeout_ms);
        switch (pools_.record_sample(url, sample)) {
            case WorkerPools::HealthChange::BecameHealthy:
                spdlog::info("worker {} is healthy again", url);
                break;
            case WorkerPools::HealthChange::BecameUnhealthy:
                spdlog::warn("worker {} is unhealthy: its probes keep failing", url);
                break;
            case WorkerPools::HealthChange::None:
                break;
        }
    }
}

void HealthMonitor::thread_main() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        lock.unlock();
        probe_all();
        lock.lock();
        cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_; });
    }
}

}  // namespace tollgate::dispatch
