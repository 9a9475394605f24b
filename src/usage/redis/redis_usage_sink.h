// Usage records in Redis, for several gateway instances at once: the keys of
// redis_usage_lua.h. write() sets the job's index, then appends the record
// with usage_append() in one script, so the record, its time and execution
// indexes and its outbox entry (RedisUsageOutbox) land together.
//
// Reads that cover an account are bounded: for_account() and
// execution_ms_since() look at most kUsageScanRecordsMax records and fail
// with "too_many_records" beyond, rather than answer a silently partial sum.
//
// Needs Redis 7 (SET NX GET). Threads: safe from any thread (the client is).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "store/redis/redis_client.h"
#include "usage/redis/redis_usage_lua.h"
#include "usage/usage_sink.h"

namespace tollgate::usage {

// The most records for_account() returns and execution_ms_since() sums.
inline constexpr std::size_t kUsageScanRecordsMax = 100'000;

class RedisUsageSink final : public UsageSink {
  public:
    // `prefix` namespaces every key, as for the ledger. Error "invalid_prefix"
    // (empty, too long, or holding '{' or '}').
    static core::Result<std::unique_ptr<RedisUsageSink>> open(store::redis::Client& client,
                                                              std::string prefix);

    // Idempotent by job id: a replay writes nothing, whatever it holds (as
    // the SQLite sink). Error "invalid_usage_record" for a record
    // check_usage_record() refuses or whose text exceeds kUsageRecordBytesMax.
    core::Status write(const UsageRecord& record) override;
    // nullopt when no record of that job was written (or only its index was,
    // by a writer that stopped before its script).
    core::Result<std::optional<UsageRecord>> find(const std::string& job_id) override;
    // Every record of the account, by finished_ms then job id.
    core::Result<std::vector<UsageRecord>> for_account(const std::string& account_id) override;
    core::Result<std::int64_t> execution_ms_since(const std::string& account_id,
                                                  std::int64_t since_ms) override;

    // Narrows kUsageScanRecordsMax, so that a test reaches it.
    void set_scan_records_max_for_test(std::size_t max);

  private:
    RedisUsageSink(store::redis::Client& client, std::string prefix)
        : client_(client), prefix_(std::move(prefix)) {}

    // The account's job ids with finished_ms >= min_score (a decimal or
    // "-inf"), by finished_ms then job id; "too_many_records" beyond
    // scan_records_max_.
    core::Result<std::vector<std::string>> job_ids(const std::string& account_id,
                                                   const std::string& min_score);

    store::redis::Client& client_;
    const std::string prefix_;
    std::size_t scan_records_max_ = kUsageScanRecordsMax;
};

}  // namespace tollgate::usage
