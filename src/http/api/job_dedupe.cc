// JobService: duplicate detection at admission, and the duplicates that
// settle with the job they duplicate.
//
// Admission looks for an earlier job inside the admission transaction, so
// two identical requests at once are serialised by the store: the second
// sees the first's job row (dispatched, in flight) and attaches to it instead
// of holding and dispatching again. The shared store has no transaction
// around both steps, so there a lock on the dedupe key across instances
// serialises them (lock_duplicates). The decision itself is jobs::decide().
//
// A duplicate that reuses a result (policy reuse) is a job row without a hold
// and with 0 tokens. If the earlier job had succeeded it is written succeeded
// at once, pointing at the same result file; if it is in flight it is written
// dispatched and never reaches the dispatcher. The earlier job's settlement
// (finish() or fail_job(), whatever caused it: worker outcome, cancel, busy
// queue, hold expiry, recovery) then ends every attached job in its own
// transaction, with the result or with a failure, so no attached job can
// outlive it and none is ever charged.
//
// Rejected alternative: an in-memory table of jobs in flight keyed by dedupe
// key. It would be faster, but it is lost in a restart (attached jobs would
// then hang), it would not see jobs admitted by another gateway process, and
// it would be a second source of truth next to the jobs table.
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "core/assert.h"
#include "http/api/job_service.h"
#include "http/api/job_usage.h"
#include "http/api/json_mapping.h"
#include "http/api/webhooks.h"

namespace tollgate::http {
core::Result<JobService::DedupeLock> JobService::lock_duplicates(const jobs::Job& job) {
    const jobs::DedupeSettings& settings = deps_.dedupe;
    // One SQLite transaction serialises the embedded store already. Near
    // duplicates share no key to lock: on the shared store, two near
    // duplicates at the same moment may both be admitted and charged.
    if (deps_.ownership == nullptr || settings.policy == jobs::DedupePolicy::Allow ||
        job.dedupe_key.empty()) {
        return DedupeLock{};
    }
    const jobs::DedupeScopeKey scope{settings.scope, job.account_id, job.tenant};
    DedupeLock lock;
    lock.name = (scope.whole_tenant() ? "dk:t:" + scope.tenant : "dk:a:" + scope.account_id) + ":" +
                job.dedupe_key;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kDedupeLockWaitMs);
    for (;;) {
        auto token = deps_.ownership->try_lock(lock.name, kDedupeLockTtlMs);
        if (!token.ok()) return token.error();
        if (!token->empty()) {
            lock.token = std::move(token).value();
            return lock;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return core::make_error("busy", "an identical request is being admitted; try again");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(kDedupeLockPollMs));
    }
}

core::Result<jobs::DedupeDecision> JobService::find_duplicate(const jobs::Job& job) const {
    const jobs::DedupeSettings& settings = deps_.dedupe;
    const jobs::DedupeScopeKey scope{settings.scope, job.account_id, job.tenant};
    const std::int64_t since_ms = job.created_ms - settings.window_s * 1000;
    std::vector<jobs::DedupeCandidate> exact, recent;
    if (settings.policy != jobs::DedupePolicy::Allow) {
        auto found = deps_.jobs->dedupe_key_matches(scope, job.dedupe_key, since_ms,
                                                    jobs::kExactScanJobsMax);
        if (!found.ok()) return found.error();
        exact = std::move(found).value();
    }
    const jobs::DedupeSubject subject{job.dedupe_key, job.workflow, job.phash};
    jobs::DedupeDecision decision =
        jobs::decide(settings, scope, job.created_ms, subject, exact, recent);
    // The bounded scan of recent jobs runs only when no exact duplicate decided.
    if (decision.kind == jobs::DedupeKind::None && settings.near_enabled() && job.phash) {
        auto found = deps_.jobs->recent_in_scope(scope, since_ms, jobs::kNearScanJobsMax);
        if (!found.ok()) return found.error();
        recent = std::move(found).value();
        decision = jobs::decide(settings, scope, job.created_ms, subject, exact, recent);
    }
    if (decision.kind != jobs::DedupeKind::None) {
        spdlog::info("job {}: {} duplicate of {} (distance {}), policy says {}", job.id,
                     jobs::to_string(decision.kind), decision.of, decision.distance,
                     decision.action == jobs::DedupeAction::Reject   ? "reject"
                     : decision.action == jobs::DedupeAction::Reuse  ? "reuse its result"
                     : decision.action == jobs::DedupeAction::Attach ? "attach to it"
                                                                     : "flag it");
    }
    return decision;
}

core::Status JobService::admit_duplicate(jobs::Job& job, const std::string& idempotency_key,
                                         const std::string& fingerprint, SubmitResult& result) {
    const jobs::DedupeDecision& d = result.dedupe;
    TOLLGATE_ASSERT(d.action == jobs::DedupeAction::Reuse ||
                    d.action == jobs::DedupeAction::Attach);
    auto found = deps_.jobs->get(d.of);
    if (!found.ok()) return found.error();
    TOLLGATE_ASSERT(found->has_value());  // jobs are never deleted
    const jobs::Job& earlier = **found;
    // decide() saw it in this same transaction.
    TOLLGATE_ASSERT(d.action == jobs::DedupeAction::Reuse
                        ? earlier.state == jobs::JobState::Succeeded
                        : !jobs::is_final(earlier.state));
    if (d.action == jobs::DedupeAction::Attach) {
        auto attached = deps_.jobs->count_attached(earlier.id);
        if (!attached.ok()) return attached.error();
        if (*attached >= jobs::kAttachedJobsMax) {
            result.outcome = SubmitOutcome::TooManyJobs;
            return {};
        }
    }
    job.tokens = 0;
    job.dedupe_kind = d.kind;
    job.dedupe_of = earlier.id;
    job.dedupe_distance = d.distance;
    job.dedupe_reused = true;
    if (core::Status s = deps_.jobs->insert(job); !s.ok()) return s;
    if (core::Status s = deps_.jobs->transition(job.id, jobs::JobState::Dispatched, job); !s.ok()) {
        return s;
    }
    job.state = jobs::JobState::Dispatched;
    if (d.action == jobs::DedupeAction::Attach && deps_.settlement != nullptr) {
        // On the shared store the lookup and this insert are separate steps:
        // the earlier job may have ended in between, and its settlement then
        // missed this one. Ended now: this one ends the same way at once.
        auto now = deps_.jobs->get(earlier.id);
        if (!now.ok()) return now.error();
        if (now->has_value() && jobs::is_final((*now)->state)) {
            std::vector<jobs::Job> ended;
            if (core::Status s = settle_attached(**now, ended); !s.ok()) return s;
            announce(ended);
        }
    }
    if (d.action == jobs::DedupeAction::Reuse) {
        job.result_path = earlier.result_path;
        job.finished_ms = job.created_ms;
        auto ended = end_duplicate(job, jobs::JobState::Succeeded);
        if (!ended.ok()) return ended.error();
        TOLLGATE_ASSERT(*ended);  // stored just now: nothing else ended it
        job.state = jobs::JobState::Succeeded;
    }
    auto balance = deps_.ledger->balance(job.account_id);
    if (!balance.ok()) return balance.error();
    result.job_id = job.id;
    result.available = balance->available();
    result.response_json = duplicate_accepted_to_json(result, job).dump();
    if (idempotency_key.empty()) return {};
    return deps_.jobs->insert_idempotency({job.account_id, idempotency_key, fingerprint, job.id,
                                           202, result.response_json, job.created_ms});
}

core::Status JobService::settle_attached(const jobs::Job& settled, std::vector<jobs::Job>& ended) {
    TOLLGATE_ASSERT(jobs::is_final(settled.state) && !settled.dedupe_reused);
    auto attached =
        deps_.jobs->attached(settled.id, static_cast<std::size_t>(jobs::kAttachedJobsMax));
    if (!attached.ok()) return attached.error();
    const bool succeeded = settled.state == jobs::JobState::Succeeded;
    for (const jobs::Job& job : *attached) {
        TOLLGATE_ASSERT(job.dedupe_reused && job.tokens == 0 && job.dedupe_of == settled.id);
        jobs::Job end = job;
        end.finished_ms = settled.finished_ms;
        if (succeeded) {
            end.result_path = settled.result_path;
        } else {
            end.failure_reason = "the job it duplicates (" + settled.id +
                                 ") ended without a result: " + settled.failure_reason;
        }
        auto done = end_duplicate(end, settled.state);
        if (!done.ok()) return done.error();
        if (!*done) continue;  // another instance ended it first (shared store)
        end.state = settled.state;
        ended.push_back(std::move(end));
    }
    return {};
}

core::Result<bool> JobService::end_duplicate(const jobs::Job& job, jobs::JobState state) {
    TOLLGATE_ASSERT(job.dedupe_reused && job.tokens == 0 && jobs::is_final(state));
    jobs::Job end = job;
    end.state = state;
    const usage::UsageRecord record = job_usage(end, state, 0, nullptr /* nothing ran */);
    if (deps_.settlement != nullptr) {
        jobs::EndStep step{end, false /* nothing held */, record, std::nullopt};
        if (!end.webhook_url.empty() && deps_.webhooks != nullptr)
            step.webhook = webhook_delivery(end, state, end.finished_ms);
        auto ended = deps_.settlement->end(step);
        if (!ended.ok()) return ended.error();
        TOLLGATE_ASSERT(*ended != jobs::EndOutcome::HoldNotOpen);  // none was looked at
        return *ended == jobs::EndOutcome::Ended;
    }
    if (core::Status t = deps_.jobs->transition(job.id, state, job); !t.ok()) return t.error();
    if (core::Status u = deps_.usage->write(record); !u.ok()) return u.error();
    if (!end.webhook_url.empty() && deps_.webhooks != nullptr) {
        core::Status w = queue_webhook(*deps_.webhooks, end, state, end.finished_ms);
        if (!w.ok()) return w.error();
    }
    return true;
}

void JobService::announce(const std::vector<jobs::Job>& ended) {
    bool webhooks = false;
    for (const jobs::Job& job : ended) {
        events_.publish(job.id, "state", job_json(job), true);
        webhooks = webhooks || !job.webhook_url.empty();
        spdlog::info("job {} {} with {}, nothing charged", job.id, jobs::to_string(job.state),
                     job.dedupe_of);
    }
    if (webhooks && deps_.on_webhook_queued) deps_.on_webhook_queued();
}

core::Result<bool> JobService::attached_settles_later(const jobs::Job& job) {
    TOLLGATE_ASSERT(job.dedupe_reused);
    // Recovery read every unfinished job first; the job this one duplicates
    // may have ended since (re-attached and finished in the background), and
    // its end settles this one in the same transaction. So the job it
    // duplicates is read first: read the other way round, a commit between
    // the two reads would show this one unfinished beside a finished first
    // job, and recovery would fail a job that had just succeeded.
    auto earlier = deps_.jobs->get(job.dedupe_of);
    if (!earlier.ok()) return earlier.error();
    if (earlier->has_value() && !jobs::is_final((*earlier)->state)) return true;
    auto now = deps_.jobs->get(job.id);
    if (!now.ok()) return now.error();
    return !now->has_value() || jobs::is_final((*now)->state);
}

}  // namespace tollgate::http
