// The durable outbox of usage records, read by the exporter.
//
// An outbox is split into partitions, each an ordered log of records with
// its own sequence: seqs grow in commit order within a partition and mean
// nothing across partitions. The SQLite outbox has one partition (the
// usage_records table, sqlite/sqlite_usage_outbox.h); the Redis outbox has one
// per shard (redis/redis_usage_outbox.h), so that the script that settles a
// job appends its record to its own shard's log in the same atomic step.
//
// Each external sink has a cursor per partition: the last seq of that
// partition it has durably received. A cursor only moves forward.
//
// Key invariant: in every partition, every record with seq > cursor(sink, p)
// has yet to be shipped to that sink, or was shipped and not yet acknowledged
// (a replay, which the sinks absorb by job id). Threads: any; implementations
// are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "usage/usage_record.h"

namespace tollgate::store {
class Database;
}  // namespace tollgate::store

namespace tollgate::usage {

// One record and its place in its partition of the outbox.
struct OutboxRow {
    std::int64_t seq = 0;  // increases in commit order within the partition
    UsageRecord record;
};

// after() returns at most this many rows.
inline constexpr std::size_t kOutboxPageMax = 5'000;
// Longest sink name kept as a cursor key.
inline constexpr std::size_t kSinkNameBytesMax = 200;
// The most partitions an outbox may have (the exporter visits each per batch).
inline constexpr int kOutboxPartitionsMax = 1'024;

class UsageOutbox {
  public:
    virtual ~UsageOutbox() = default;

    // How many partitions there are: 1 .. kOutboxPartitionsMax, fixed for the
    // outbox's life. Every `partition` argument is below it.
    virtual int partitions() const = 0;
    // The partition's records with seq > after_seq in seq order, at most
    // min(limit, kOutboxPageMax). A record that cannot be read back is an
    // error naming it, never skipped.
    virtual core::Result<std::vector<OutboxRow>> after(int partition, std::int64_t after_seq,
                                                       std::size_t limit) = 0;
    // The last seq of the partition the sink acknowledged; 0 for a sink never
    // shipped to.
    virtual core::Result<std::int64_t> cursor(const std::string& sink, int partition) = 0;
    // Records the sink's acknowledgement of every record of the partition up
    // to `seq`. A seq at or below the stored cursor changes nothing (a late
    // duplicate); beyond the partition's newest record is error "invalid_cursor".
    virtual core::Status advance(const std::string& sink, int partition, std::int64_t seq) = 0;
    // How many records wait for the sink, over all partitions.
    virtual core::Result<std::int64_t> pending(const std::string& sink) = 0;
};

}  // namespace tollgate::usage
