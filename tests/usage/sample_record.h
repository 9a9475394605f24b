// A complete usage record for tests: every field set, succeeded, charged
// `tokens`, finished at `finished_ms`.
#pragma once

#include <cstdint>
#include <string>

#include "usage/usage_record.h"

namespace tollgate::usage {

inline UsageRecord sample_record(const std::string& job_id, std::int64_t tokens,
                                 const std::string& account_id = "acct_1",
                                 std::int64_t finished_ms = 42) {
    UsageRecord r;
    r.job_id = job_id;
    r.account_id = account_id;
    r.workflow = "person";
    r.width = 800;
    r.height = 600;
    r.tokens = tokens;
    r.quoted_tokens = 10;
    r.book_version = "v1";
    r.md5_hex = "md5";
    r.sha256_hex = "sha";
    r.worker = "http://w";
    r.queue_wait_ms = 3;
    r.execution_ms = 1200;
    r.outcome = "succeeded";
    r.finished_ms = finished_ms;
    r.vram_peak_bytes = 1 << 20;
    r.attempts = 1;
    r.meter_wall_ms = 1100;
    r.meter_gpu_peak_bytes = std::int64_t{3} << 30;
    return r;
}

}  // namespace tollgate::usage
