// Runs a job on the workers of its pool, retrying on another worker when the
// attempt failed in a way that is safe to repeat.
//
// Each attempt takes a lease on the best eligible worker of spec.pool
// (WorkerPools::acquire, avoiding workers this job already failed on), runs
// it there, and releases the lease. An attempt whose outcome is retry_safe
// (nothing was queued, or the worker lost the prompt before its execution
// started) is retried up to retries_max times while the job's deadline has
// time left; an execution failure is retried only when retry_execution_errors
// is set; nothing else is. A worker that could not be reached is reported to
// the pools. A success marks the pool's models warm on its worker. The last
// attempt's outcome is returned, with attempts and the peak VRAM sampled on
// its worker. A spec without a pool, or one resuming a prompt, runs once on
// spec.worker_url (a resumed job still holds a lease on its worker).
//
// Plain C++: the runner is injected, so tests need no network.
#pragma once

#include <functional>

#include "core/clock.h"
#include "dispatch/run_job.h"
#include "dispatch/worker_pools.h"

namespace tollgate::dispatch {

// [dispatch] retries_max is at most this.
inline constexpr int kRetriesMax = 10;

struct RetryPolicy {
    int retries_max = 2;  // [0, kRetriesMax]
    bool retry_execution_errors = false;
};

inline constexpr const char* kReasonNoWorker =
    "no_worker_available: every worker of the pool is unhealthy, draining or full";

using JobRunner = std::function<JobOutcome(const JobSpec&, const core::Clock&)>;

JobOutcome run_with_retries(const JobSpec& spec, WorkerPools& pools, const RetryPolicy& policy,
                            const JobRunner& runner, const core::Clock& clock);

}  // namespace tollgate::dispatch
