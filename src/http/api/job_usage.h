// The usage record of a job that just ended, built the same way on every
// path that ends one: success, failure, and the duplicates that reuse an
// earlier job's result.
#pragma once

#include <cstdint>

#include "dispatch/run_job.h"
#include "jobs/job.h"
#include "usage/usage_record.h"

namespace tollgate::http {

// `ended` is the job as its final transition records it (worker, failure
// reason, finished_ms); `state` is Succeeded or Failed; `tokens` what was
// charged; `run` what the worker measured, or null when nothing ran.
usage::UsageRecord job_usage(const jobs::Job& ended, jobs::JobState state, std::int64_t tokens,
                             const dispatch::JobOutcome* run);

}  // namespace tollgate::http
