// The usage outbox of the shared (Redis) backend: one partition per shard,
// each the shard's stream P{sN}:usage of redis_usage_lua.h. A record's entry
// is added by the same script that stores the record (usage_append()), in
// the record's account's shard, so a partition's seq is the shard's
// usage_seq: dense, and growing in commit order.
//
// Cursors are per sink and partition, in P{sN}:usage_cursors. Trimming: a
// stream keeps only what some sink still needs. Every sink that calls
// cursor() or advance() on a partition joins its set P{sN}:usage_sinks, and
// each advance() trims the stream (XTRIM MINID) below the lowest cursor of
// that set, in the same script. So a sink holds back trimming from its first
// cursor() on; a sink added to the configuration later starts from what the
// streams still hold (the usage hashes keep every record, for a backfill);
// and a sink taken out of the configuration holds back trimming until
// forget() drops it.
//
// Needs Redis 7 (exclusive XRANGE bounds, XTRIM MINID). Threads: safe from
// any thread (the client is).
#pragma once

#include <memory>
#include <string>

#include "store/redis/redis_client.h"
#include "usage/export/outbox.h"

namespace tollgate::usage {

class RedisUsageOutbox final : public UsageOutbox {
  public:
    // Error "invalid_prefix" (empty, too long, or holding '{' or '}').
    static core::Result<std::unique_ptr<RedisUsageOutbox>> open(store::redis::Client& client,
                                                                std::string prefix);

    // store::redis::kRedisShards: partition N is shard N.
    int partitions() const override;
    // An entry whose record does not decode, or that is not in the shape
    // usage_append() writes, is error "invalid_usage_record" naming the
    // stream and the entry id.
    core::Result<std::vector<OutboxRow>> after(int partition, std::int64_t after_seq,
                                               std::size_t limit) override;
    // Also adds the sink to the partition's sinks (see above).
    core::Result<std::int64_t> cursor(const std::string& sink, int partition) override;
    // Also trims the partition's stream below the lowest cursor of its sinks.
    core::Status advance(const std::string& sink, int partition, std::int64_t seq) override;
    // The sum over partitions of usage_seq minus the sink's cursor.
    core::Result<std::int64_t> pending(const std::string& sink) override;

    // Drops the sink's cursors and its place in every partition's sinks, so
    // it no longer holds back trimming (the next advance() of another sink
    // trims). For a sink taken out of the configuration.
    core::Status forget(const std::string& sink);

  private:
    RedisUsageOutbox(store::redis::Client& client, std::string prefix)
        : client_(client), prefix_(std::move(prefix)) {}

    store::redis::Client& client_;
    const std::string prefix_;
};

}  // namespace tollgate::usage
