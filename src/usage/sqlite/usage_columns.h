// The columns of the usage_records table in the order every SELECT here
// names them, and the record read back from such a row. Shared by the SQLite
// sink and the outbox that exports the same rows.
#pragma once

#include "store/sqlite.h"
#include "usage/usage_record.h"

namespace tollgate::usage {

inline constexpr const char* kUsageColumns =
    "job_id, account_id, workflow, width, height, tokens, quoted_tokens, book_version, md5, "
    "sha256, worker, queue_wait_ms, execution_ms, outcome, failure_reason, finished_ms, "
    "vram_peak_bytes, attempts, dedupe_kind, dedupe_of, dedupe_distance, meter_wall_ms, "
    "meter_gpu_peak_bytes";
// How many columns kUsageColumns names; a SELECT may add more after them.
inline constexpr int kUsageColumnCount = 23;

// The record in columns 0 .. kUsageColumnCount - 1 of the statement's row.
UsageRecord read_usage_record(const store::Statement& st);

}  // namespace tollgate::usage
