// Jobs in Redis, for the scaled-out deployment (several gateway instances).
//
// A job lives in its account's shard (store/redis/redis_keys.h), next to the
// account's ledger records, so the scripts that admit and settle a job
// (jobs/redis/redis_settlement.h) move its money and write the job, its
// usage record and its webhook delivery in one atomic step. With the prefix
// P, the account a and its shard's tag {sN}:
//   P{sN}:a:job:<id>      hash: the job, one field per Job member
//   P{sN}:a:jobs          sorted set: the account's job ids by created_ms
//   P{sN}:a:unfinished    set: the account's job ids not in a final state
//   P{sN}:a:dk:<key>      sorted set: the account's job ids with that dedupe
//                         key, by created_ms
//   P{sN}:a:idem:<key>    hash: the Idempotency-Key record
//   P{sN}:unfinished      sorted set: "<account>\t<job id>" of the shard's
//                         unfinished jobs, by created_ms (recovery)
// Indexes across shards, each written before the record it leads to and
// checked against that record when read (a stale entry is skipped):
//   Powner:<id>           string: the job's account (SET NX; immutable;
//                         store::redis::owner_key, shared with its hold,
//                         usage record and webhook delivery)
//   Ptenant:<t>:jobs      sorted set: "<account>\t<job id>" by created_ms
//   Ptenant:<t>:dk:<key>  sorted set: the same, for one dedupe key
//   Pattached:<id>        sorted set: "<account>\t<job id>" of the jobs
//                         attached to job <id>, by created_ms
//
// Threads: safe from any thread (the client is).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "jobs/job_store.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_keys.h"

namespace tollgate::jobs {

// unfinished() returns at most this many jobs (recovery pages through them
// shard by shard, oldest first).
inline constexpr std::size_t kRedisUnfinishedMax = 100'000;

// A job as the flat list of hash fields its record holds ({name, value, ...}),
// for job_insert; the fields a transition writes; an idempotency record's.
std::vector<std::string> job_fields(const Job& job);
std::vector<std::string> transition_fields(const Job& update);
std::vector<std::string> idempotency_fields(const IdempotencyRecord& record);

class RedisJobStore final : public JobStore {
  public:
    // Error "invalid_prefix" (store::redis::check_prefix).
    static core::Result<std::unique_ptr<RedisJobStore>> open(
        store::redis::Client& client, std::string prefix = store::redis::kRedisPrefixDefault);

    core::Status insert(const Job& job) override;
    core::Status transition(const std::string& job_id, JobState to, const Job& update) override;
    core::Result<std::optional<Job>> get(const std::string& job_id) override;
    core::Result<std::vector<Job>> unfinished() override;
    core::Result<RecentJobs> recent(const std::string& account_id, std::int64_t since_ms) override;
    core::Result<std::int64_t> count_unfinished(const std::string& account_id) override;
    core::Status set_prompt(const std::string& job_id, const std::string& worker,
                            const std::string& prompt_id) override;
    core::Result<std::vector<DedupeCandidate>> dedupe_key_matches(const DedupeScopeKey& scope,
                                                                  const std::string& dedupe_key,
                                                                  std::int64_t since_ms,
                                                                  std::size_t limit) override;
    core::Result<std::vector<DedupeCandidate>> recent_in_scope(const DedupeScopeKey& scope,
                                                               std::int64_t since_ms,
                                                               std::size_t limit) override;
    core::Result<std::vector<Job>> attached(const std::string& job_id, std::size_t limit) override;
    core::Result<std::int64_t> count_attached(const std::string& job_id) override;
    core::Result<std::optional<IdempotencyRecord>> find_idempotency(
        const std::string& account_id, const std::string& key) override;
    core::Status insert_idempotency(const IdempotencyRecord& record) override;
    core::Status delete_idempotency(const std::string& account_id, const std::string& key) override;

    const std::string& prefix() const { return prefix_; }
    store::redis::Client& client() { return client_; }

    // The account of a job, from its index; nullopt for an unknown job.
    core::Result<std::optional<std::string>> job_account(const std::string& job_id);
    // Writes the cross-shard index entries of a new job (before its record).
    // Error "job_exists" when the id belongs to another account.
    core::Status index_new_job(const Job& job);
    // "P{sN}:" of the account's shard.
    std::string shard_base(const std::string& account_id) const;

  private:
    RedisJobStore(store::redis::Client& client, std::string prefix)
        : client_(client), prefix_(std::move(prefix)) {}
    core::Result<std::optional<Job>> read_job(const std::string& account_id,
                                              const std::string& job_id);
    // The jobs an index of "<account>\t<job id>" members names in `range`
    // (ZRANGE arguments), at most scan_max entries read; missing jobs skipped.
    core::Result<std::vector<Job>> read_members(const std::string& index,
                                                const std::vector<std::string>& range,
                                                std::size_t scan_max);
    // Unfinished reused jobs attached to job_id, oldest first, at most limit.
    core::Result<std::vector<Job>> attached_jobs(const std::string& job_id, std::size_t limit);

    store::redis::Client& client_;
    std::string prefix_;
};

}  // namespace tollgate::jobs
