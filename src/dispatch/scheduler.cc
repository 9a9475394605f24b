#include "dispatch/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/assert.h"
#include "core/limits.h"

namespace tollgate::dispatch {
namespace {

bool should_retry(const JobOutcome& outcome, const RetryPolicy& policy) {
    if (outcome.kind == JobOutcomeKind::Cancelled || outcome.kind == JobOutcomeKind::Succeeded) {
        return false;
    }
    if (outcome.retry_safe) return true;
    return policy.retry_execution_errors && outcome.kind == JobOutcomeKind::ExecutionFailed;
}

JobOutcome no_worker(const JobSpec& spec, int attempts) {
    JobOutcome outcome;
    outcome.kind = JobOutcomeKind::WorkerUnreachable;
    outcome.reason = kReasonNoWorker;
    outcome.retry_safe = true;
    outcome.attempts = attempts;
    spdlog::warn("job {}: {} (pool {})", spec.job_id, outcome.reason, spec.pool);
    return outcome;
}

JobOutcome cancelled_before_sending(int attempts) {
    JobOutcome outcome;
    outcome.kind = JobOutcomeKind::Cancelled;
    outcome.reason = "cancelled: nothing was sent to a worker";
    outcome.attempts = attempts;
    return outcome;
}

}  // namespace

JobOutcome run_with_retries(const JobSpec& spec, WorkerPools& pools, const RetryPolicy& policy,
                            const JobRunner& runner, const core::Clock& clock) {
    TOLLGATE_ASSERT(policy.retries_max >= 0 && policy.retries_max <= kRetriesMax);
    TOLLGATE_ASSERT(runner != nullptr);
    if (spec.pool.empty() || !spec.resume_prompt_id.empty()) {
        auto lease = pools.lease_on(spec.worker_url);
        JobOutcome outcome = runner(spec, clock);
        if (lease) {
            outcome.vram_peak_bytes = lease->peak_vram_bytes();
            if (outcome.kind == JobOutcomeKind::Succeeded && !spec.pool.empty()) {
                pools.mark_warm(lease->url(), spec.pool);
            }
        }
        return outcome;
    }
    const std::int64_t deadline_us =
        clock.steady_us() +
        std::int64_t{std::clamp(spec.timeout_ms, 1, core::limits::kJobTimeoutMsMax)} * 1000;
    const auto remaining_ms = [&] {
        return static_cast<int>(std::clamp<std::int64_t>((deadline_us - clock.steady_us()) / 1000,
                                                         0, core::limits::kJobTimeoutMsMax));
    };
    const std::atomic<bool>* cancelled = spec.cancelled.get();
    std::vector<std::string> failed_on;
    JobSpec attempt_spec = spec;
    for (int attempt = 1;; ++attempt) {
        auto lease = pools.acquire(spec.pool, failed_on, remaining_ms(), cancelled);
        if (!lease) {
            if (cancelled != nullptr && cancelled->load()) return cancelled_before_sending(attempt);
            return no_worker(spec, attempt);
        }
        attempt_spec.worker_url = lease->url();
        attempt_spec.timeout_ms = std::max(remaining_ms(), 1);
        JobOutcome outcome = runner(attempt_spec, clock);
        outcome.attempts = attempt;
        outcome.vram_peak_bytes = lease->peak_vram_bytes();
        if (outcome.kind == JobOutcomeKind::WorkerUnreachable) pools.record_failure(lease->url());
        if (outcome.kind == JobOutcomeKind::Succeeded) pools.mark_warm(lease->url(), spec.pool);
        lease->release();
        if (!should_retry(outcome, policy) || attempt > policy.retries_max || remaining_ms() <= 0) {
            return outcome;
        }
        spdlog::warn("job {}: attempt {} on {} failed ({}: {}); retrying on another worker",
                     spec.job_id, attempt, outcome.worker_url, to_string(outcome.kind),
                     outcome.reason);
        failed_on.push_back(attempt_spec.worker_url);
    }
}

}  // namespace tollgate::dispatch
