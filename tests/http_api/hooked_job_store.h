// A JobStore that forwards every call to a real one and calls the hooks a
// test sets: after a get() returns (between two reads of the service, which
// is where a test puts a commit made by another thread to pin down an
// interleaving), and before a transition (to look at the world as the
// transaction that records it sees it).
#pragma once

#include <functional>
#include <string>

#include "jobs/job_store.h"

namespace tollgate::http::testing_support {

class HookedJobStore final : public jobs::JobStore {
  public:
    explicit HookedJobStore(jobs::JobStore& inner) : inner_(inner) {}

    // Called with the id after each get(), on the caller's thread.
    std::function<void(const std::string& job_id)> after_get;
    // Called before each transition is forwarded, on the caller's thread.
    std::function<void(const std::string& job_id, jobs::JobState to, const jobs::Job& update)>
        before_transition;

    core::Status insert(const jobs::Job& job) override { return inner_.insert(job); }
    core::Status transition(const std::string& job_id, jobs::JobState to,
                            const jobs::Job& update) override {
        if (before_transition) before_transition(job_id, to, update);
        return inner_.transition(job_id, to, update);
    }
    core::Result<std::optional<jobs::Job>> get(const std::string& job_id) override {
        auto found = inner_.get(job_id);
        if (after_get) after_get(job_id);
        return found;
    }
    core::Result<std::vector<jobs::Job>> unfinished() override { return inner_.unfinished(); }
    core::Result<RecentJobs> recent(const std::string& account_id, std::int64_t since_ms) override {
        return inner_.recent(account_id, since_ms);
    }
    core::Result<std::int64_t> count_unfinished(const std::string& account_id) override {
        return inner_.count_unfinished(account_id);
    }
    core::Status set_prompt(const std::string& job_id, const std::string& worker,
                            const std::string& prompt_id) override {
        return inner_.set_prompt(job_id, worker, prompt_id);
    }
    core::Result<std::vector<jobs::DedupeCandidate>> dedupe_key_matches(
        const jobs::DedupeScopeKey& scope, const std::string& dedupe_key, std::int64_t since_ms,
        std::size_t limit) override {
        return inner_.dedupe_key_matches(scope, dedupe_key, since_ms, limit);
    }
    core::Result<std::vector<jobs::DedupeCandidate>> recent_in_scope(
        const jobs::DedupeScopeKey& scope, std::int64_t since_ms, std::size_t limit) override {
        return inner_.recent_in_scope(scope, since_ms, limit);
    }
    core::Result<std::vector<jobs::Job>> attached(const std::string& job_id,
                                                  std::size_t limit) override {
        return inner_.attached(job_id, limit);
    }
    core::Result<std::int64_t> count_attached(const std::string& job_id) override {
        return inner_.count_attached(job_id);
    }
    core::Result<std::optional<jobs::IdempotencyRecord>> find_idempotency(
        const std::string& account_id, const std::string& key) override {
        return inner_.find_idempotency(account_id, key);
    }
    core::Status insert_idempotency(const jobs::IdempotencyRecord& record) override {
        return inner_.insert_idempotency(record);
    }
    core::Status delete_idempotency(const std::string& account_id,
                                    const std::string& key) override {
        return inner_.delete_idempotency(account_id, key);
    }

  private:
    jobs::JobStore& inner_;
};

}  // namespace tollgate::http::testing_support
