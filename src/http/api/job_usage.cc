#include "http/api/job_usage.h"

#include "core/assert.h"

namespace tollgate::http {

usage::UsageRecord job_usage(const jobs::Job& ended, jobs::JobState state, std::int64_t tokens,
                             const dispatch::JobOutcome* run) {
    TOLLGATE_ASSERT(state == jobs::JobState::Succeeded || state == jobs::JobState::Failed);
    TOLLGATE_ASSERT(tokens >= 0 && tokens <= ended.tokens);
    usage::UsageRecord r;
    r.job_id = ended.id;
    r.account_id = ended.account_id;
    r.workflow = ended.workflow;
    r.width = ended.width;
    r.height = ended.height;
    r.tokens = tokens;
    r.quoted_tokens = ended.tokens;
    r.book_version = ended.book_version;
    r.md5_hex = ended.md5_hex;
    r.sha256_hex = ended.sha256_hex;
    r.worker = ended.worker;
    r.outcome = std::string(jobs::to_string(state));
    r.failure_reason = ended.failure_reason;
    r.finished_ms = ended.finished_ms;
    r.queue_wait_ms = run != nullptr ? run->queue_wait_ms : 0;
    r.execution_ms = run != nullptr ? run->execution_ms : 0;
    r.vram_peak_bytes = run != nullptr ? run->vram_peak_bytes : 0;
    r.attempts = run != nullptr ? run->attempts : 0;
    r.meter_wall_ms = run != nullptr ? run->meter_wall_ms : -1;
    r.meter_gpu_peak_bytes = run != nullptr ? run->meter_gpu_peak_bytes : -1;
    r.dedupe_kind = std::string(jobs::to_string(ended.dedupe_kind));
    r.dedupe_of = ended.dedupe_of;
    r.dedupe_distance = ended.dedupe_distance;
    return r;
}

}  // namespace tollgate::http
