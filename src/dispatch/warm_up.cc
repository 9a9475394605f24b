#include "dispatch/warm_up.h"

#include <spdlog/spdlog.h>

#include "core/assert.h"

namespace tollgate::dispatch {

int warm_up_pool(WorkerPools& pools, const std::string& pool, const WorkflowTemplate& workflow,
                 const std::string& image_bytes, const std::string& image_extension, int timeout_ms,
                 const std::shared_ptr<const std::atomic<bool>>& stop,
                 const std::function<JobOutcome(const JobSpec&, const core::Clock&)>& runner,
                 const core::Clock& clock) {
    TOLLGATE_ASSERT(stop != nullptr && runner != nullptr);
    int warmed = 0;
    int index = 0;
    for (const std::string& url : pools.pool_urls(pool)) {
        if (stop->load()) break;
        auto lease = pools.lease_on(url);
        TOLLGATE_ASSERT(lease.has_value());  // the url comes from the pool
        JobSpec spec;
        spec.job_id = "warmup-" + pool + "-" + std::to_string(index++);
        spec.worker_url = url;
        spec.workflow = &workflow;
        spec.image_bytes = image_bytes;
        spec.image_extension = image_extension;
        spec.timeout_ms = timeout_ms;
        spec.cancelled = stop;
        const JobOutcome outcome = runner(spec, clock);
        if (outcome.kind == JobOutcomeKind::Succeeded) {
            pools.mark_warm(url, pool);
            ++warmed;
            spdlog::info("pool {}: warmed up {} in {} ms", pool, url, outcome.execution_ms);
        } else {
            if (outcome.kind == JobOutcomeKind::WorkerUnreachable) pools.record_failure(url);
            spdlog::warn("pool {}: warm-up on {} failed: {}: {}", pool, url,
                         to_string(outcome.kind), outcome.reason);
        }
    }
    return warmed;
}

}  // namespace tollgate::dispatch
