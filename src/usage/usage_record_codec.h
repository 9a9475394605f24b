// A stable text form of a usage record: one JSON object, for stores that keep
// records as values (the Redis usage hashes and outbox streams).
//
// The object holds "v": 1 and every field of UsageRecord under its own name
// (md5_hex and sha256_hex included), strings as JSON strings and figures as
// JSON integers. Additions keep v = 1 and are optional on read; a change
// that old readers would misread takes v = 2. Keys are written in a fixed
// order, so equal records encode to equal text.
//
// decode_usage_record() reads text from storage others may have written, so
// it treats it as hostile: it bounds the size and the nesting, checks every
// type, requires every field of the first v1 records, ignores unknown keys,
// and never throws. The fields added since (meter_wall_ms and
// meter_gpu_peak_bytes) may be absent, as in records an earlier version
// wrote, and then read as -1 (not measured). Pure; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"
#include "usage/usage_record.h"

namespace tollgate::usage {

// The longest encoded record a store accepts or decodes.
inline constexpr std::size_t kUsageRecordBytesMax = 64 * 1024;
inline constexpr int kUsageRecordVersion = 1;

// The record's text. Never fails: a string that is not valid UTF-8 has each
// invalid byte replaced by U+FFFD, so only such text does not round-trip.
std::string encode_usage_record(const UsageRecord& record);

// The record `text` encodes. Error "invalid_usage_record" (the message says
// why) for text longer than kUsageRecordBytesMax, invalid JSON, anything but
// an object of version 1, a field missing or of the wrong type, or a record
// check_usage_record() refuses.
core::Result<UsageRecord> decode_usage_record(std::string_view text);

// The rules every store applies to a record it keeps: a job id and an account
// id, outcome "succeeded" or "failed", dedupe_kind "", "exact" or "near",
// meter_wall_ms and meter_gpu_peak_bytes -1 or more.
// Error "invalid_usage_record".
core::Status check_usage_record(const UsageRecord& record);

}  // namespace tollgate::usage
