// Settlement on Redis: a job's admission and its end, each one script in the
// account's shard that joins the ledger's Lua (ledger/redis), the job
// store's (jobs/redis/redis_job_lua.h) and the usage outbox's
// (usage/redis). See jobs/settlement.h for what each step covers.
//
// Before the admission script runs, the cross-shard index entries its
// records need are written (the job id's owner, which is also its hold's,
// usage record's and delivery's, and the hold's TTL), as every Redis backend
// does: a crash in between leaves an entry pointing at nothing, which readers
// skip.
#pragma once

#include <memory>
#include <string>

#include "core/clock.h"
#include "jobs/redis/redis_job_store.h"
#include "jobs/settlement.h"
#include "store/redis/redis_client.h"

namespace tollgate::jobs {

class RedisSettlement final : public Settlement {
  public:
    // `jobs` must use the same client and prefix as the ledger and usage
    // backends of this deployment.
    RedisSettlement(store::redis::Client& client, RedisJobStore& jobs, std::string prefix)
        : client_(client), jobs_(jobs), prefix_(std::move(prefix)) {}

    core::Result<AdmitDone> admit(const AdmitStep& step) override;
    core::Result<EndOutcome> end(const EndStep& step) override;

  private:
    store::redis::Client& client_;
    RedisJobStore& jobs_;
    std::string prefix_;
};

}  // namespace tollgate::jobs
