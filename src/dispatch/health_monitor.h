// Probes every worker now and then and reports to WorkerPools: reachable or
// not, VRAM in use (GET /system_stats), and how many prompts of other
// clients are queued there (GET /queue). One thread of its own; each round
// probes the workers one after another, each call bounded by the interval
// (at least 1 s, at most 2 s).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "dispatch/worker_pools.h"

namespace tollgate::dispatch {

// [dispatch] health_interval_ms lies in [kHealthIntervalMsMin, kHealthIntervalMsMax].
inline constexpr int kHealthIntervalMsMin = 50;
inline constexpr int kHealthIntervalMsMax = 600'000;

class HealthMonitor {
  public:
    using Probe = std::function<WorkerSample(const std::string& url, int timeout_ms)>;

    // The real probe: /system_stats, then /queue, on a ComfyClient. A worker
    // that fails either is unreachable. Prompts whose client_id starts with
    // "tollgate-" are ours and not counted in queue_depth.
    static WorkerSample probe_comfy(const std::string& url, int timeout_ms);

    // Starts the thread, which probes every `interval_ms` (the first round
    // at once). `pools` must outlive the monitor.
    HealthMonitor(WorkerPools& pools, int interval_ms, Probe probe = probe_comfy);
    ~HealthMonitor();  // stop()
    HealthMonitor(const HealthMonitor&) = delete;
    HealthMonitor& operator=(const HealthMonitor&) = delete;

    // Probes every worker once on the calling thread.
    void probe_all();
    // Idempotent.
    void stop();

  private:
    void thread_main();

    WorkerPools& pools_;
    const int interval_ms_;
    const Probe probe_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace tollgate::dispatch
