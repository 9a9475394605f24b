// Persistence of jobs. Implementations are thread-safe.
#pragma once

#include <vector>

#include "core/result.h"
#include "jobs/job.h"

namespace tollgate::jobs {

class JobStore {
  public:
    virtual ~JobStore() = default;
    virtual core::Status insert(const Job& job) = 0;
    // Moves the job to `to`, checking the state machine; the fields of `update`
    // that belong to the new state (worker, prompt_id, result_path,
    // failure_reason, finished_ms) are written too. An illegal transition is
    // error "illegal_transition" and changes nothing.
    virtual core::Status transition(const std::string& job_id, JobState to, const Job& update) = 0;
    virtual core::Result<std::optional<Job>> get(const std::string& job_id) = 0;
    // Jobs not in a final state (for recovery after a restart).
    virtual core::Result<std::vector<Job>> unfinished() = 0;
};

}  // namespace tollgate::jobs
