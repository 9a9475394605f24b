// Jobs in the shared SQLite file (table `jobs`). Joins an open transaction,
// so a job's final state commits with its capture or void.
#pragma once

#include <memory>

#include "jobs/job_store.h"
#include "store/sqlite.h"

namespace tollgate::jobs {

class SqliteJobStore final : public JobStore {
  public:
    static core::Result<std::unique_ptr<SqliteJobStore>> open(store::Database& db);
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

  private:
    explicit SqliteJobStore(store::Database& db) : db_(db) {}
    store::Database& db_;
};

}  // namespace tollgate::jobs
