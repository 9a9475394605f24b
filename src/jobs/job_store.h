// Persistence of jobs and of the idempotency keys that admitted them.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "jobs/dedupe.h"
#include "jobs/job.h"

namespace tollgate::jobs {

// An Idempotency-Key that admitted a job: the same key from the same account
// with the same request gets this response again, forever.
struct IdempotencyRecord {
    std::string account_id;
    std::string key;
    std::string request_sha256;  // fingerprint of what was asked
    std::string job_id;
    int status = 0;             // HTTP status of the stored response
    std::string response_json;  // the response body, byte for byte
    std::int64_t created_ms = 0;
};

class JobStore {
  public:
    virtual ~JobStore() = default;
    virtual core::Status insert(const Job& job) = 0;
    // Moves the job to `to`, checking the state machine; the fields of `update`
    // that belong to the new state (worker, prompt_id, result_path,
    // failure_reason, finished_ms) are written too. An illegal transition is
    // error "illegal_transition" and changes nothing; an unknown job is
    // error "unknown_job".
    virtual core::Status transition(const std::string& job_id, JobState to, const Job& update) = 0;
    virtual core::Result<std::optional<Job>> get(const std::string& job_id) = 0;
    // Jobs not in a final state (for recovery after a restart), oldest first
    // across all accounts.
    virtual core::Result<std::vector<Job>> unfinished() = 0;

    // The account's jobs created at or after `since_ms` (any state), and the
    // earliest creation time among them (0 when there are none). Fair-use
    // limits count requests per minute with it.
    struct RecentJobs {
        std::int64_t count = 0;
        std::int64_t oldest_ms = 0;
    };
    virtual core::Result<RecentJobs> recent(const std::string& account_id,
                                            std::int64_t since_ms) = 0;
    // How many of the account's jobs are not in a final state.
    virtual core::Result<std::int64_t> count_unfinished(const std::string& account_id) = 0;

    // Records the worker and prompt id of a job that a worker accepted, so a
    // restart can re-attach to it. Only an unfinished job is updated.
    virtual core::Status set_prompt(const std::string& job_id, const std::string& worker,
                                    const std::string& prompt_id) = 0;

    // Duplicate detection (jobs/dedupe.h). The jobs in `scope` with this
    // dedupe key, created at or after `since_ms`, that did the work (not
    // failed, not reused), oldest first, at most `limit`.
    virtual core::Result<std::vector<DedupeCandidate>> dedupe_key_matches(
        const DedupeScopeKey& scope, const std::string& dedupe_key, std::int64_t since_ms,
        std::size_t limit) = 0;
    // The `limit` most recent jobs of the scope created at or after
    // `since_ms`, newest first, whatever their workflow or state (the caller
    // filters: the bound is on rows read).
    virtual core::Result<std::vector<DedupeCandidate>> recent_in_scope(const DedupeScopeKey& scope,
                                                                       std::int64_t since_ms,
                                                                       std::size_t limit) = 0;
    // Unfinished jobs attached to `job_id` (they reuse its result once it
    // settles), oldest first, at most `limit`; and how many there are.
    virtual core::Result<std::vector<Job>> attached(const std::string& job_id,
                                                    std::size_t limit) = 0;
    virtual core::Result<std::int64_t> count_attached(const std::string& job_id) = 0;

    virtual core::Result<std::optional<IdempotencyRecord>> find_idempotency(
        const std::string& account_id, const std::string& key) = 0;
    // Error "idempotency_key_exists" when (account, key) is already recorded.
    virtual core::Status insert_idempotency(const IdempotencyRecord& record) = 0;
    // Forgets a key whose job was refused after admission (nothing was sent).
    virtual core::Status delete_idempotency(const std::string& account_id,
                                            const std::string& key) = 0;
};

}  // namespace tollgate::jobs
