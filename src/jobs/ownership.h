// Which gateway instance follows which unfinished job, when several
// instances share one store (Redis). The embedded deployment has one process
// and needs none: every unfinished job is its own after a restart.
//
// Each instance holds a lease it renews while it runs. A job is owned by the
// instance that admitted it (or took it over) until it settles. When an
// instance stops renewing its lease (it crashed, or lost the store), another
// instance takes its jobs over and recovers them: it re-attaches to each
// prompt a worker accepted, and fails every other job with its hold voided.
// The hold's TTL stays the backstop for anything no instance recovers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace tollgate::jobs {

class JobOwnership {
  public:
    virtual ~JobOwnership() = default;
    // This instance follows the job from now on (before the job is stored).
    virtual core::Status own(const std::string& job_id) = 0;
    // The job has settled, or was never stored (best effort).
    virtual void release(const std::string& job_id) = 0;
    // Jobs whose owner's lease ran out, moved to this instance, at most
    // `limit`. The first call of a process also returns the jobs this
    // instance owned in its previous run.
    virtual core::Result<std::vector<std::string>> take_orphans(std::size_t limit) = 0;

    // A short lock across instances, for a step that one store script cannot
    // hold (duplicate detection, then admission). A token when this instance
    // holds `name` now, until unlock() or ttl_ms at most; "" when another
    // holder has it.
    virtual core::Result<std::string> try_lock(const std::string& name, std::int64_t ttl_ms) = 0;
    // Frees the lock if `token` still holds it (best effort: the TTL frees it otherwise).
    virtual void unlock(const std::string& name, const std::string& token) = 0;

    // The unfinished jobs of a tenant across instances (tenant_jobs_max).
    // Takes a slot for `job_id` unless `limit` slots are taken already: true
    // when it holds one now (taking it twice is one slot). A slot lasts until
    // release_tenant_slot() or ttl_ms at most (the job's timeout and its
    // hold's grace: no job stays unfinished longer), so an instance that dies
    // leaks none for long.
    virtual core::Result<bool> take_tenant_slot(const std::string& tenant,
                                                const std::string& job_id, int limit,
                                                std::int64_t ttl_ms) = 0;
    // Frees the job's slot, if it has one (best effort: the TTL frees it otherwise).
    virtual void release_tenant_slot(const std::string& tenant, const std::string& job_id) = 0;
};

}  // namespace tollgate::jobs
