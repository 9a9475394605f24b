#include "dispatch/worker_pools.h"

#include <algorithm>
#include <chrono>
#include <tuple>
#include <utility>

#include "core/assert.h"

namespace tollgate::dispatch {

WorkerPools::Lease::Lease(Lease&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      worker_(other.worker_),
      id_(other.id_),
      url_(std::move(other.url_)) {}

WorkerPools::Lease& WorkerPools::Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
        worker_ = other.worker_;
        id_ = other.id_;
        url_ = std::move(other.url_);
    }
    return *this;
}

WorkerPools::Lease::~Lease() { release(); }

void WorkerPools::Lease::release() {
    if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(worker_, id_);
}

std::int64_t WorkerPools::Lease::peak_vram_bytes() const {
    return owner_ != nullptr ? owner_->peak_of(worker_, id_) : 0;
}

WorkerPools::WorkerPools(std::vector<WorkerSpec> workers, std::vector<PoolSpec> pools,
                         const core::Clock& clock, Options options)
    : clock_(clock), options_(options) {
    TOLLGATE_ASSERT(workers.size() <= kWorkersMax);
    TOLLGATE_ASSERT(options_.unhealthy_after_failures >= 1);
    for (WorkerSpec& spec : workers) {
        TOLLGATE_ASSERT(spec.jobs_max >= 1 && spec.jobs_max <= kWorkerJobsMax);
        const bool fresh = by_url_.emplace(spec.url, workers_.size()).second;
        TOLLGATE_ASSERT(fresh);
        Worker w;
        w.spec = std::move(spec);
        workers_.push_back(std::move(w));
    }
    for (PoolSpec& spec : pools) {
        Pool pool;
        pool.model_key = spec.model_key.empty() ? spec.name : spec.model_key;
        for (const std::string& url : spec.urls) {
            auto it = by_url_.find(url);
            TOLLGATE_ASSERT(it != by_url_.end());
            pool.workers.push_back(it->second);
        }
        pools_.emplace(spec.name, std::move(pool));
    }
}

bool WorkerPools::warm_locked(const Worker& w, const std::string& model_key) const {
    auto it = w.warm_ms.find(model_key);
    return it != w.warm_ms.end() && clock_.now_ms() - it->second <= options_.warm_ttl_ms;
}

WorkerPools::Lease WorkerPools::make_lease_locked(std::size_t worker) {
    Lease lease;
    lease.owner_ = this;
    lease.worker_ = worker;
    lease.id_ = next_lease_id_++;
    lease.url_ = workers_[worker].spec.url;
    workers_[worker].lease_peaks.emplace(lease.id_, 0);
    return lease;
}

std::optional<WorkerPools::Lease> WorkerPools::pick_locked(const Pool& pool,
                                                           const std::vector<std::string>& avoid) {
    const std::size_t n = pool.workers.size();
    if (n == 0) return std::nullopt;
    const std::size_t start = round_robin_++ % n;
    // Lower is better: (avoided, cold, queue).
    std::optional<std::tuple<bool, bool, int>> best_score;
    std::size_t best = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t index = pool.workers[(start + k) % n];
        const Worker& w = workers_[index];
        const int leases = static_cast<int>(w.lease_peaks.size());
        if (!w.healthy || w.draining || leases >= w.spec.jobs_max) continue;
        const bool avoided = std::find(avoid.begin(), avoid.end(), w.spec.url) != avoid.end();
        auto score =
            std::make_tuple(avoided, !warm_locked(w, pool.model_key), leases + w.queue_depth);
        if (!best_score || score < *best_score) {
            best_score = score;
            best = index;
        }
    }
    if (!best_score) return std::nullopt;
    return make_lease_locked(best);
}

std::optional<WorkerPools::Lease> WorkerPools::try_acquire(std::string_view pool,
                                                           const std::vector<std::string>& avoid) {
    std::lock_guard lock(mu_);
    auto it = pools_.find(pool);
    if (it == pools_.end()) return std::nullopt;
    return pick_locked(it->second, avoid);
}

std::optional<WorkerPools::Lease> WorkerPools::acquire(std::string_view pool,
                                                       const std::vector<std::string>& avoid,
                                                       int wait_ms,
                                                       const std::atomic<bool>* cancelled) {
    using RealClock = std::chrono::steady_clock;
    const auto deadline = RealClock::now() + std::chrono::milliseconds(std::max(wait_ms, 0));
    std::unique_lock lock(mu_);
    auto it = pools_.find(pool);
    if (it == pools_.end() || it->second.workers.empty()) return std::nullopt;
    for (;;) {
        if (cancelled != nullptr && cancelled->load()) return std::nullopt;
        if (auto lease = pick_locked(it->second, avoid)) return lease;
        const auto now = RealClock::now();
        if (now >= deadline) return std::nullopt;
        // A cancel sets a flag nobody notifies us of: look at it now and then.
        const auto until =
            cancelled == nullptr
                ? deadline
                : std::min(deadline, now + std::chrono::milliseconds(kCancelCheckMsPools));
        cv_.wait_until(lock, until);
    }
}

std::optional<WorkerPools::Lease> WorkerPools::lease_on(const std::string& url) {
    std::lock_guard lock(mu_);
    auto it = by_url_.find(url);
    if (it == by_url_.end()) return std::nullopt;
    return make_lease_locked(it->second);
}

void WorkerPools::release(std::size_t worker, std::uint64_t id) {
    {
        std::lock_guard lock(mu_);
        TOLLGATE_ASSERT(worker < workers_.size());
        const std::size_t erased = workers_[worker].lease_peaks.erase(id);
        TOLLGATE_ASSERT(erased == 1);
    }
    cv_.notify_all();
}

std::int64_t WorkerPools::peak_of(std::size_t worker, std::uint64_t id) const {
    std::lock_guard lock(mu_);
    const auto& peaks = workers_[worker].lease_peaks;
    auto it = peaks.find(id);
    return it == peaks.end() ? 0 : it->second;
}

WorkerPools::HealthChange WorkerPools::note_failure_locked(Worker& w) {
    ++w.consecutive_failures;
    if (!w.healthy || w.consecutive_failures < options_.unhealthy_after_failures) {
        return HealthChange::None;
    }
    w.healthy = false;
    return HealthChange::BecameUnhealthy;
}

WorkerPools::HealthChange WorkerPools::record_sample(const std::string& url,
                                                     const WorkerSample& sample) {
    HealthChange change = HealthChange::None;
    {
        std::lock_guard lock(mu_);
        auto it = by_url_.find(url);
        if (it == by_url_.end()) return change;
        Worker& w = workers_[it->second];
        w.last_sample_ms = clock_.now_ms();
        if (!sample.reachable) return note_failure_locked(w);
        if (!w.healthy) change = HealthChange::BecameHealthy;
        w.healthy = true;
        w.consecutive_failures = 0;
        w.queue_depth = std::max(0, sample.queue_depth);
        w.vram_total_bytes = std::max<std::int64_t>(0, sample.vram_total_bytes);
        w.vram_used_bytes = std::max<std::int64_t>(0, sample.vram_used_bytes);
        for (auto& [id, peak] : w.lease_peaks) peak = std::max(peak, w.vram_used_bytes);
    }
    cv_.notify_all();
    return change;
}

WorkerPools::HealthChange WorkerPools::record_failure(const std::string& url) {
    std::lock_guard lock(mu_);
    auto it = by_url_.find(url);
    if (it == by_url_.end()) return HealthChange::None;
    return note_failure_locked(workers_[it->second]);
}

void WorkerPools::mark_warm(const std::string& url, std::string_view pool) {
    std::lock_guard lock(mu_);
    auto w = by_url_.find(url);
    auto p = pools_.find(pool);
    if (w == by_url_.end() || p == pools_.end()) return;
    auto& warm = workers_[w->second].warm_ms;
    warm[p->second.model_key] = clock_.now_ms();
    while (warm.size() > kWarmModelsMax) {  // forget the least recently used
        auto oldest = std::min_element(warm.begin(), warm.end(), [](const auto& a, const auto& b) {
            return a.second < b.second;
        });
        warm.erase(oldest);
    }
}

bool WorkerPools::set_draining(const std::string& url, bool draining) {
    {
        std::lock_guard lock(mu_);
        auto it = by_url_.find(url);
        if (it == by_url_.end()) return false;
        workers_[it->second].draining = draining;
    }
    cv_.notify_all();
    return true;
}

std::vector<WorkerStatus> WorkerPools::status() const {
    std::lock_guard lock(mu_);
    std::vector<WorkerStatus> out;
    out.reserve(workers_.size());
    for (const Worker& w : workers_) {
        WorkerStatus s;
        s.url = w.spec.url;
        s.healthy = w.healthy;
        s.draining = w.draining;
        s.jobs_max = w.spec.jobs_max;
        s.leases = static_cast<int>(w.lease_peaks.size());
        s.queue_depth = w.queue_depth;
        s.consecutive_failures = w.consecutive_failures;
        s.vram_total_bytes = w.vram_total_bytes;
        s.vram_used_bytes = w.vram_used_bytes;
        s.last_sample_ms = w.last_sample_ms;
        for (const auto& [key, at_ms] : w.warm_ms) {
            if (warm_locked(w, key)) s.warm_models.push_back(key);
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<std::string> WorkerPools::urls() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const Worker& w : workers_) out.push_back(w.spec.url);
    return out;
}

std::vector<std::string> WorkerPools::pool_urls(std::string_view pool) const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    auto it = pools_.find(pool);
    if (it == pools_.end()) return out;
    for (std::size_t index : it->second.workers) out.push_back(workers_[index].spec.url);
    return out;
}

}  // namespace tollgate::dispatch
