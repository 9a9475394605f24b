// One usage record per finished job: what was priced, what ran, what it cost.
// It feeds reports, price calibration and capacity forecasts, and is keyed by
// job id so that writing it twice changes nothing.
#pragma once

#include <cstdint>
#include <string>

namespace tollgate::usage {

struct UsageRecord {
    std::string job_id;
    std::string account_id;
    std::string workflow;
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::int64_t tokens = 0;  // charged: the locked quote on success, 0 on failure
    std::int64_t quoted_tokens = 0;
    std::string book_version;
    std::string md5_hex;
    std::string sha256_hex;
    std::string worker;
    std::int64_t queue_wait_ms = 0;
    std::int64_t execution_ms = 0;
    std::string outcome;  // succeeded | failed (a cancelled job failed: "cancelled: ...")
    std::string failure_reason;
    std::int64_t finished_ms = 0;
    // The highest VRAM in use sampled on the worker while the job held it (0: no sample).
    std::int64_t vram_peak_bytes = 0;
    std::int64_t attempts = 1;  // workers tried
    // Duplicate detection at admission: "" (none), "exact" or "near"; the
    // earlier job it duplicates and the Hamming distance of their perceptual
    // hashes (0 for exact). An exact duplicate reused that job's result:
    // nothing ran and tokens is 0.
    std::string dedupe_kind;
    std::string dedupe_of;
    std::int64_t dedupe_distance = 0;
    // What the workflow's meter node (comfyui/tollgate_meter) reported: the
    // prompt's wall time from its execution_start up to the meter, and the
    // GPU's peak allocated memory during the prompt. -1: not measured (no
    // meter in the workflow, no CUDA on the worker, nothing ran, or a record
    // written before these fields existed); otherwise >= 0.
    std::int64_t meter_wall_ms = -1;
    std::int64_t meter_gpu_peak_bytes = -1;

    bool operator==(const UsageRecord&) const = default;
};

}  // namespace tollgate::usage
