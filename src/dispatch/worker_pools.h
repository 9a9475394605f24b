// The ComfyUI workers and the pool of each workflow: who is healthy, who is
// busy, whose models are warm, and which worker a job should go to next.
//
// A worker is one base URL; it may serve several pools (workflows). Each has
// a concurrency limit (`jobs_max`): a job holds a Lease on its worker from
// the moment it is sent until it ends, and a worker with jobs_max leases gets
// no more. A worker is eligible when it is healthy, not draining and below
// its limit. Among eligible workers of a pool, acquire() prefers
//   1. one on which this pool's models are warm (a job or warm-up of a pool
//      with the same model key succeeded there within warm_ttl_ms),
//   2. then the shortest queue: our leases plus the prompts the worker last
//      reported queued or running for other clients,
//   3. then round-robin, so that equal workers share the load.
// Workers the caller asks to avoid (those a retry already failed on) are used
// only when no other worker is eligible.
//
// Health comes from samples (the health monitor polls /system_stats and
// /queue) and from jobs: `unhealthy_after_failures` consecutive failed probes
// or connection failures make a worker unhealthy; one good sample makes it
// healthy again. A worker starts healthy, so a gateway serves before its
// first probe. Each sample's VRAM in use raises the peak of every lease open
// on that worker, which is how a job's peak VRAM is measured.
//
// Plain C++ with an injected clock: no network. Thread-safe; acquire() may
// block (on real time) until a lease is released or a worker recovers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace tollgate::dispatch {

// A worker may run at most this many jobs at once ([dispatch] worker_jobs_max).
inline constexpr int kWorkerJobsMax = 1024;
// At most this many workers in all, and models remembered as warm per worker.
inline constexpr std::size_t kWorkersMax = 1024;
inline constexpr std::size_t kWarmModelsMax = 8;
// How often a waiting acquire() looks at its cancel flag.
inline constexpr int kCancelCheckMsPools = 100;

struct WorkerSpec {
    std::string url;
    int jobs_max = 1;  // [1, kWorkerJobsMax]
};

struct PoolSpec {
    std::string name;               // the workflow
    std::vector<std::string> urls;  // each one of the WorkerSpecs
    std::string model_key;          // pools with equal keys warm each other
};

// One probe of a worker.
struct WorkerSample {
    bool reachable = false;
    std::int64_t vram_total_bytes = 0;
    std::int64_t vram_used_bytes = 0;
    int queue_depth = 0;  // prompts running or pending on the worker, anyone's
};

struct WorkerStatus {
    std::string url;
    bool healthy = true;
    bool draining = false;
    int jobs_max = 0;
    int leases = 0;
    int queue_depth = 0;
    int consecutive_failures = 0;
    std::int64_t vram_total_bytes = 0;
    std::int64_t vram_used_bytes = 0;
    std::int64_t last_sample_ms = 0;  // 0: never probed
    std::vector<std::string> warm_models;
};

class WorkerPools {
  public:
    struct Options {
        int unhealthy_after_failures = 2;
        std::int64_t warm_ttl_ms = 30 * 60 * 1000;
    };

    // A slot on one worker, released on destruction. Movable.
    class Lease {
      public:
        Lease() = default;
        Lease(Lease&& other) noexcept;
        Lease& operator=(Lease&& other) noexcept;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease();

        const std::string& url() const { return url_; }
        // The highest VRAM in use sampled on the worker while this lease was
        // open (0: no sample came in).
        std::int64_t peak_vram_bytes() const;
        void release();

      private:
        friend class WorkerPools;
        WorkerPools* owner_ = nullptr;
        std::size_t worker_ = 0;
        std::uint64_t id_ = 0;
        std::string url_;
    };

    // Every pool url must name a worker; urls are unique. Asserts otherwise
    // (configuration validates first).
    WorkerPools(std::vector<WorkerSpec> workers, std::vector<PoolSpec> pools,
                const core::Clock& clock, Options options);
    WorkerPools(std::vector<WorkerSpec> workers, std::vector<PoolSpec> pools,
                const core::Clock& clock)
        : WorkerPools(std::move(workers), std::move(pools), clock, Options{}) {}

    WorkerPools(const WorkerPools&) = delete;
    WorkerPools& operator=(const WorkerPools&) = delete;

    // A lease on the best eligible worker of `pool` (see the file comment);
    // nullopt when none is eligible now, or the pool is unknown or empty.
    std::optional<Lease> try_acquire(std::string_view pool, const std::vector<std::string>& avoid);
    // As try_acquire(), waiting up to `wait_ms` of real time for a worker to
    // become eligible; gives up within kCancelCheckMsPools once `*cancelled`
    // (may be null) is set.
    std::optional<Lease> acquire(std::string_view pool, const std::vector<std::string>& avoid,
                                 int wait_ms, const std::atomic<bool>* cancelled);
    // A lease on `url` whatever its state and limit: a job re-attached after a
    // restart is already on that worker. nullopt for an unknown url.
    std::optional<Lease> lease_on(const std::string& url);

    enum class HealthChange { None, BecameHealthy, BecameUnhealthy };
    HealthChange record_sample(const std::string& url, const WorkerSample& sample);
    // A job could not reach the worker (counts like a failed probe).
    HealthChange record_failure(const std::string& url);
    // A prompt of `pool` succeeded on `url`: its models are loaded there now.
    void mark_warm(const std::string& url, std::string_view pool);
    // False for an unknown url. A draining worker finishes what it has and gets nothing new.
    bool set_draining(const std::string& url, bool draining);

    std::vector<WorkerStatus> status() const;
    std::vector<std::string> urls() const;
    // The urls of `pool` (empty for an unknown pool).
    std::vector<std::string> pool_urls(std::string_view pool) const;

  private:
    struct Worker {
        WorkerSpec spec;
        bool healthy = true;
        bool draining = false;
        int consecutive_failures = 0;
        int queue_depth = 0;
        std::int64_t vram_total_bytes = 0;
        std::int64_t vram_used_bytes = 0;
        std::int64_t last_sample_ms = 0;
        std::map<std::string, std::int64_t> warm_ms;        // model key -> last success
        std::map<std::uint64_t, std::int64_t> lease_peaks;  // open lease id -> peak VRAM
    };
    struct Pool {
        std::vector<std::size_t> workers;
        std::string model_key;
    };

    std::optional<Lease> pick_locked(const Pool& pool, const std::vector<std::string>& avoid);
    Lease make_lease_locked(std::size_t worker);
    void release(std::size_t worker, std::uint64_t id);
    std::int64_t peak_of(std::size_t worker, std::uint64_t id) const;
    HealthChange note_failure_locked(Worker& w);
    bool warm_locked(const Worker& w, const std::string& model_key) const;

    const core::Clock& clock_;
    const Options options_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Worker> workers_;
    std::map<std::string, std::size_t, std::less<>> by_url_;
    std::map<std::string, Pool, std::less<>> pools_;
    std::uint64_t next_lease_id_ = 1;
    std::size_t round_robin_ = 0;
};

}  // namespace tollgate::dispatch
