// Warm-up: runs a pool's workflow once on each of its workers, so that the
// first paying job does not pay the cold start (loading the checkpoint). A
// warm-up is not a job: nothing is priced, held or recorded; it holds a
// lease on its worker like a job, and a success marks the pool's models warm
// there.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "core/clock.h"
#include "dispatch/run_job.h"
#include "dispatch/worker_pools.h"

namespace tollgate::dispatch {

// Runs `workflow` with `image_bytes` (a small image of `image_extension`) on
// every worker of `pool`, one after another, each within `timeout_ms`, and
// returns how many succeeded. Stops early once `*stop` is set (a running
// warm-up is cancelled). `runner` is run_job in production.
int warm_up_pool(WorkerPools& pools, const std::string& pool, const WorkflowTemplate& workflow,
                 const std::string& image_bytes, const std::string& image_extension, int timeout_ms,
                 const std::shared_ptr<const std::atomic<bool>>& stop,
                 const std::function<JobOutcome(const JobSpec&, const core::Clock&)>& runner,
                 const core::Clock& clock);

}  // namespace tollgate::dispatch
