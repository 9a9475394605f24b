// The Redis usage outbox: shard streams read with XRANGE, cursors moved by
// small scripts (see redis_usage_outbox.h).
//
// Entry ids are "<seq>-1", so "(<seq>-1" starts a read just after a seq
// and the seq comes back from the id without another field. A page is read
// in several XRANGE calls small enough that no reply can pass the client's
// reply bound, whatever the records hold. Moving a cursor, checking it
// against usage_seq and trimming the stream is one script, so two gateways
// acknowledging at once never move a cursor back or trim what a sink still
// needs. pending() counts by seqs, not entries: seqs are dense, and what
// lies beyond a sink's cursor was never trimmed.
//
// Rejected: a consumer group per sink (XREADGROUP/XACK). It tracks delivery
// per consumer and needs claiming after a crash; a cursor per sink is all
// the exporter needs, and replays are absorbed by the sinks anyway.
#include "usage/redis/redis_usage_outbox.h"

#include <algorithm>
#include <utility>

#include "core/assert.h"
#include "store/redis/redis_keys.h"
#include "store/redis/redis_text.h"
#include "usage/redis/redis_usage_lua.h"
#include "usage/usage_record_codec.h"

namespace tollgate::usage {
namespace {

using store::redis::Reply;
using store::redis::Script;
using store::redis::unexpected_reply;

// Entries per XRANGE: each holds one record and its job id.
constexpr std::size_t kEntriesPerRead = 128;
static_assert(kEntriesPerRead * (2 * kUsageRecordBytesMax + 64) < store::redis::kReplyBytesMax / 2);

// KEYS: cursors, sinks. ARGV: sink. -> the cursor, or nil.
const Script& cursor_script() {
    static const Script script(R"lua(
redis.call('SADD', KEYS[2], ARGV[1])
return redis.call('HGET', KEYS[1], ARGV[1])
)lua");
    return script;
}

// KEYS: cursors, sinks, usage_seq, stream. ARGV: sink, seq.
// -> {'ok', entries trimmed} | {'invalid_cursor', newest seq}
const Script& advance_script() {
    static const Script script(R"lua(
local newest = tonumber(redis.call('GET', KEYS[3]) or '0')
local seq = tonumber(ARGV[2])
if seq > newest then return {'invalid_cursor', newest} end
redis.call('SADD', KEYS[2], ARGV[1])
local at = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if seq > at then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
local lowest = nil
for _, sink in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local c = tonumber(redis.call('HGET', KEYS[1], sink) or '0')
  if lowest == nil or c < lowest then lowest = c end
end
if lowest == 0 then return {'ok', 0} end
-- Entries "<s>-1" with s <= lowest are below "<lowest + 1>-0".
return {'ok', redis.call('XTRIM', KEYS[4], 'MINID', string.format('%d-0', lowest + 1))}
)lua");
    return script;
}

// KEYS: usage_seq, cursors. ARGV: sink. -> {usage_seq or false, cursor or false}
const Script& pending_script() {
    static const Script script(R"lua(
return {redis.call('GET', KEYS[1]), redis.call('HGET', KEYS[2], ARGV[1])}
)lua");
    return script;
}

// KEYS: cursors, sinks. ARGV: sink.
const Script& forget_script() {
    static const Script script(R"lua(
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
)lua");
    return script;
}

void check_sink_name(const std::string& sink) {
    TOLLGATE_ASSERT(!sink.empty() && sink.size() <= kSinkNameBytesMax);
}

void check_partition(int partition) {
    TOLLGATE_ASSERT(partition >= 0 && partition < store::redis::kRedisShards);
}

// A seq stored as a decimal (nil: 0), or an error naming where it was.
core::Result<std::int64_t> read_seq(const Reply& r, const std::string& where) {
    if (r.is_nil()) return std::int64_t{0};
    std::int64_t seq = 0;
    if (r.type != Reply::Type::String || !store::redis::parse_int64(r.text, &seq) || seq < 0) {
        return core::make_error("redis_error", where + " does not hold a seq");
    }
    return seq;
}

// One stream entry as usage_append() writes it: id "<seq>-1", fields job and r.
core::Result<OutboxRow> read_entry(const Reply& entry, const std::string& stream) {
    if (entry.type != Reply::Type::Array || entry.elements.size() != 2 ||
        entry.elements[0].type != Reply::Type::String ||
        entry.elements[1].type != Reply::Type::Array) {
        return unexpected_reply("XRANGE " + stream);
    }
    const std::string& id = entry.elements[0].text;
    auto invalid = [&](const std::string& why) {
        return core::make_error("invalid_usage_record", stream + " entry " + id + ": " + why);
    };
    OutboxRow row;
    const std::size_t dash = id.find('-');
    if (dash == std::string::npos || id.substr(dash) != "-1" ||
        !store::redis::parse_int64(std::string_view(id).substr(0, dash), &row.seq) || row.seq < 1) {
        return invalid("the id is not <seq>-1");
    }
    const std::vector<Reply>& fields = entry.elements[1].elements;
    const std::string* job_id = nullptr;
    const std::string* text = nullptr;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].type != Reply::Type::String || fields[i + 1].type != Reply::Type::String) {
            return unexpected_reply("XRANGE " + stream);
        }
        if (fields[i].text == "job") job_id = &fields[i + 1].text;
        if (fields[i].text == "r") text = &fields[i + 1].text;
    }
    if (job_id == nullptr || text == nullptr) return invalid("no field job or r");
    auto record = decode_usage_record(*text);
    if (!record.ok()) return invalid(record.error().message);
    if (record->job_id != *job_id) return invalid("the record is of job " + record->job_id);
    row.record = std::move(record).value();
    return row;
}

}  // namespace

core::Result<std::unique_ptr<RedisUsageOutbox>> RedisUsageOutbox::open(store::redis::Client& client,
                                                                       std::string prefix) {
    if (core::Status valid = store::redis::check_prefix(prefix); !valid.ok()) return valid.error();
    return std::unique_ptr<RedisUsageOutbox>(new RedisUsageOutbox(client, std::move(prefix)));
}

int RedisUsageOutbox::partitions() const { return store::redis::kRedisShards; }

core::Result<std::vector<OutboxRow>> RedisUsageOutbox::after(int partition, std::int64_t after_seq,
                                                             std::size_t limit) {
    check_partition(partition);
    TOLLGATE_ASSERT(after_seq >= 0);
    const std::size_t page_max = std::min(limit, kOutboxPageMax);
    std::vector<OutboxRow> out;
    const std::string stream = usage_stream_key(prefix_, partition);
    std::int64_t from = after_seq;
    while (out.size() < page_max) {
        const std::size_t count = std::min(kEntriesPerRead, page_max - out.size());
        auto entries = client_.command(stream, {"XRANGE", stream, "(" + std::to_string(from) + "-1",
                                                "+", "COUNT", std::to_string(count)});
        if (!entries.ok()) return entries.error();
        if (entries->type != Reply::Type::Array || entries->elements.size() > count) {
            return unexpected_reply("XRANGE " + stream);
        }
        for (const Reply& entry : entries->elements) {
            auto row = read_entry(entry, stream);
            if (!row.ok()) return row.error();
            if (row->seq <= from) return unexpected_reply("XRANGE " + stream);  // out of order
            from = row->seq;
            out.push_back(std::move(row).value());
        }
        if (entries->elements.size() < count) break;
    }
    TOLLGATE_ASSERT(out.size() <= page_max);
    return out;
}

core::Result<std::int64_t> RedisUsageOutbox::cursor(const std::string& sink, int partition) {
    check_sink_name(sink);
    check_partition(partition);
    const std::string cursors = usage_cursors_key(prefix_, partition);
    auto r = client_.eval(cursor_script(), {cursors, usage_sinks_key(prefix_, partition)}, {sink});
    if (!r.ok()) return r.error();
    return read_seq(*r, cursors + " " + sink);
}

core::Status RedisUsageOutbox::advance(const std::string& sink, int partition, std::int64_t seq) {
    check_sink_name(sink);
    check_partition(partition);
    TOLLGATE_ASSERT(seq >= 0);
    auto r =
        client_.eval(advance_script(),
                     {usage_cursors_key(prefix_, partition), usage_sinks_key(prefix_, partition),
                      usage_seq_key(prefix_, partition), usage_stream_key(prefix_, partition)},
                     {sink, std::to_string(seq)});
    if (!r.ok()) return r.error();
    if (r->type != Reply::Type::Array || r->elements.size() != 2 ||
        r->elements[0].type != Reply::Type::String || r->elements[1].type != Reply::Type::Integer) {
        return unexpected_reply("the advance script");
    }
    if (r->elements[0].text == "invalid_cursor") {
        return core::make_error("invalid_cursor", "cursor " + std::to_string(seq) +
                                                      " of partition " + std::to_string(partition) +
                                                      " is beyond the newest record (" +
                                                      std::to_string(r->elements[1].integer) + ")");
    }
    if (r->elements[0].text != "ok") return unexpected_reply("the advance script");
    return {};
}

core::Result<std::int64_t> RedisUsageOutbox::pending(const std::string& sink) {
    check_sink_name(sink);
    std::int64_t total = 0;
    for (int p = 0; p < partitions(); ++p) {
        const std::string seq_key = usage_seq_key(prefix_, p);
        const std::string cursors = usage_cursors_key(prefix_, p);
        auto r = client_.eval(pending_script(), {seq_key, cursors}, {sink});
        if (!r.ok()) return r.error();
        if (r->type != Reply::Type::Array || r->elements.size() != 2) {
            return unexpected_reply("the pending script");
        }
        auto newest = read_seq(r->elements[0], seq_key);
        if (!newest.ok()) return newest.error();
        auto at = read_seq(r->elements[1], cursors + " " + sink);
        if (!at.ok()) return at.error();
        total += std::max<std::int64_t>(0, *newest - *at);
    }
    return total;
}

core::Status RedisUsageOutbox::forget(const std::string& sink) {
    check_sink_name(sink);
    for (int p = 0; p < partitions(); ++p) {
        auto r = client_.eval(forget_script(),
                              {usage_cursors_key(prefix_, p), usage_sinks_key(prefix_, p)}, {sink});
        if (!r.ok()) return r.error();
    }
    return {};
}

}  // namespace tollgate::usage
