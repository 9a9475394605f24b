// Where usage records go. write() is idempotent by job id. Implementations
// are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "usage/usage_record.h"

namespace tollgate::usage {

class UsageSink {
  public:
    virtual ~UsageSink() = default;
    virtual core::Status write(const UsageRecord& record) = 0;
    virtual core::Result<std::optional<UsageRecord>> find(const std::string& job_id) = 0;
    virtual core::Result<std::vector<UsageRecord>> for_account(const std::string& account_id) = 0;
    // Total execution time of the account's jobs finished at or after
    // `since_ms` (GPU time, for fair-use limits).
    virtual core::Result<std::int64_t> execution_ms_since(const std::string& account_id,
                                                          std::int64_t since_ms) = 0;
};

}  // namespace tollgate::usage
