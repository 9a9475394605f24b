// A job's admission and its end as single atomic steps, for a backend whose
// parts cannot share a transaction (Redis: each script is atomic on its own).
//
// The embedded backend needs none of this: ledger, jobs and usage join one
// SQLite transaction (JobService's `atomically`). On Redis, JobService hands
// the two steps that move money to a Settlement instead, which runs each as
// one script in the account's shard:
// - admit: the Idempotency-Key check, the unfinished-jobs limit, the hold,
//   the job (inserted dispatched) and the key's record, all or nothing;
// - end: the capture or void of the hold, the job's final state, its usage
//   record (into the shard's outbox) and its webhook delivery, all or
//   nothing.
// Everything else JobService does around them (duplicate detection, under a
// lock on the dedupe key; the end of each duplicate, an end step without a
// hold; the busy refusal) runs as separate atomic steps, each idempotent,
// with recovery as the backstop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"
#include "jobs/job.h"
#include "jobs/job_store.h"
#include "jobs/webhook_outbox.h"
#include "usage/usage_record.h"

namespace tollgate::jobs {

// Where the hold's available balance goes in an admission's stored response:
// admit() writes the real figure in place of this one. No balance can be it
// (credit stops at -10^15).
inline constexpr std::int64_t kAvailablePlaceholder = -4'503'599'627'370'495;

struct AdmitStep {
    Job job;  // state Admitted; stored Dispatched
    std::int64_t credit_limit_tokens = 0;
    std::int64_t hold_ttl_ms = 0;
    std::string hold_memo;
    std::int64_t now_ms = 0;
    // Empty: no Idempotency-Key. Otherwise its record, whose response_json
    // holds kAvailablePlaceholder as the available balance.
    std::optional<IdempotencyRecord> idempotency;
    std::int64_t account_jobs_max = 0;  // 0: no limit
};

enum class AdmitOutcome {
    Admitted,             // held, job stored, key recorded
    Replayed,             // the key was recorded before: `earlier`
    InsufficientBalance,  // nothing written
    TooManyJobs,          // nothing written
    UnknownAccount,       // nothing written
};

struct AdmitDone {
    AdmitOutcome outcome = AdmitOutcome::Admitted;
    std::int64_t available = 0;  // after the hold, or what fell short
    std::optional<IdempotencyRecord> earlier;
    std::string response_json;  // Admitted with a key: the stored response
};

struct EndStep {
    Job job;  // in its final state, with the fields of that state
    // False for a duplicate that reused another job's result: no money moves.
    bool has_hold = true;
    usage::UsageRecord usage;
    // The job's webhook delivery, queued in the same step; none without a webhook_url.
    std::optional<WebhookDelivery> webhook;
};

enum class EndOutcome {
    Ended,
    HoldNotOpen,  // the hold ended before (the other way, or by another instance)
    JobNotOpen,   // the job is final already or unknown
};

class Settlement {
  public:
    virtual ~Settlement() = default;
    virtual core::Result<AdmitDone> admit(const AdmitStep& step) = 0;
    // Succeeded captures the hold in full; Failed voids it with the job's
    // failure reason.
    virtual core::Result<EndOutcome> end(const EndStep& step) = 0;
};

}  // namespace tollgate::jobs
