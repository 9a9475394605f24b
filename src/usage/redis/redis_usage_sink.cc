// Redis usage records: writing through usage_append(), reading by key.
//
// Reads across an account go in two steps: the job ids from the account's
// usage_by_time sorted set, then their values from a hash, in chunks small
// enough that no reply can pass the client's reply bound. They are not one
// snapshot, and need not be: records are never changed or removed, and a
// record and its index entries are written by one script, so every id read
// has its record. A record written between the steps is simply not counted.
// Summing execution time reads usage_exec (small numbers) rather than
// decoding whole records, since admission asks for it on every job.
#include "usage/redis/redis_usage_sink.h"

#include <algorithm>
#include <utility>

#include "core/assert.h"
#include "store/redis/redis_keys.h"
#include "store/redis/redis_text.h"
#include "usage/usage_record_codec.h"

namespace tollgate::usage {
namespace {

using store::redis::Reply;
using store::redis::unexpected_reply;

// Values per HMGET: records are at most kUsageRecordBytesMax each.
constexpr std::size_t kRecordsPerRead = 256;
static_assert(kRecordsPerRead * (kUsageRecordBytesMax + 64) < store::redis::kReplyBytesMax / 2);
constexpr std::size_t kFiguresPerRead = 1'024;

const store::redis::Script& append_script() {
    static const store::redis::Script script(std::string(usage_lua_prelude()) + R"lua(
return usage_append(ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]))
)lua");
    return script;
}

core::Error corrupt(const std::string& what) {
    return core::make_error("invalid_usage_record", what);
}
}  // namespace

core::Result<std::unique_ptr<RedisUsageSink>> RedisUsageSink::open(store::redis::Client& client,
                                                                   std::string prefix) {
    if (core::Status valid = store::redis::check_prefix(prefix); !valid.ok()) return valid.error();
    return std::unique_ptr<RedisUsageSink>(new RedisUsageSink(client, std::move(prefix)));
}

void RedisUsageSink::set_scan_records_max_for_test(std::size_t max) {
    TOLLGATE_ASSERT(max >= 1 && max <= kUsageScanRecordsMax);
    scan_records_max_ = max;
}

core::Status RedisUsageSink::write(const UsageRecord& r) {
    if (core::Status valid = check_usage_record(r); !valid.ok()) return valid;
    const std::string text = encode_usage_record(r);
    if (text.size() > kUsageRecordBytesMax) {
        return corrupt("the record of job " + r.job_id + " takes " + std::to_string(text.size()) +
                       " bytes, more than " + std::to_string(kUsageRecordBytesMax));
    }
    // The index first (see redis_usage_lua.h). GET answers the account it
    // already named, if any.
    const std::string index = store::redis::owner_key(prefix_, r.job_id);
    auto named = client_.command(index, {"SET", index, r.account_id, "NX", "GET"});
    if (!named.ok()) return named.error();
    if (!named->is_nil()) {
        if (named->type != Reply::Type::String) return unexpected_reply("SET NX GET");
        // The job is another account's: its record is kept, as a replay's is.
        if (named->text != r.account_id) return {};
    }
    auto appended =
        client_.eval(append_script(), usage_append_keys(prefix_, r.account_id),
                     {store::redis::shard_base(prefix_, store::redis::shard_of(r.account_id)),
                      store::redis::account_base(prefix_, r.account_id), r.job_id, text,
                      std::to_string(r.finished_ms), std::to_string(r.execution_ms)});
    if (!appended.ok()) return appended.error();
    if (appended->type != Reply::Type::Integer ||
        (appended->integer != 0 && appended->integer != 1)) {
        return unexpected_reply("usage_append");
    }
    return {};
}

core::Result<std::optional<UsageRecord>> RedisUsageSink::find(const std::string& job_id) {
    const std::string index = store::redis::owner_key(prefix_, job_id);
    auto account = client_.command(index, {"GET", index});
    if (!account.ok()) return account.error();
    if (account->is_nil()) return std::optional<UsageRecord>();
    if (account->type != Reply::Type::String) return unexpected_reply("GET");
    const std::string key = store::redis::account_base(prefix_, account->text) + "usage";
    auto raw = client_.command(key, {"HGET", key, job_id});
    if (!raw.ok()) return raw.error();
    // Indexed, but its writer stopped before the script: nothing was written.
    if (raw->is_nil()) return std::optional<UsageRecord>();
    if (raw->type != Reply::Type::String) return unexpected_reply("HGET");
    auto record = decode_usage_record(raw->text);
    if (!record.ok()) return corrupt(key + " " + job_id + ": " + record.error().message);
    if (record->job_id != job_id || record->account_id != account->text) {
        return corrupt(key + " " + job_id + " holds the record of job " + record->job_id +
                       " of account " + record->account_id);
    }
    return std::optional<UsageRecord>(std::move(record).value());
}

core::Result<std::vector<std::string>> RedisUsageSink::job_ids(const std::string& account_id,
                                                               const std::string& min_score) {
    const std::string key = store::redis::account_base(prefix_, account_id) + "usage_by_time";
    // One more than the bound, to tell "exactly the bound" from "beyond".
    auto ids = client_.command(key, {"ZRANGEBYSCORE", key, min_score, "+inf", "LIMIT", "0",
                                     std::to_string(scan_records_max_ + 1)});
    if (!ids.ok()) return ids.error();
    if (ids->type != Reply::Type::Array) return unexpected_reply("ZRANGEBYSCORE");
    if (ids->elements.size() > scan_records_max_) {
        return core::make_error("too_many_records", "account " + account_id + " has more than " +
                                                        std::to_string(scan_records_max_) +
                                                        " usage records to read");
    }
    std::vector<std::string> out;
    out.reserve(ids->elements.size());
    for (Reply& id : ids->elements) {
        if (id.type != Reply::Type::String) return unexpected_reply("ZRANGEBYSCORE");
        out.push_back(std::move(id.text));
    }
    return out;
}

core::Result<std::vector<UsageRecord>> RedisUsageSink::for_account(const std::string& account_id) {
    auto ids = job_ids(account_id, "-inf");
    if (!ids.ok()) return ids.error();
    const std::string key = store::redis::account_base(prefix_, account_id) + "usage";
    std::vector<UsageRecord> out;
    out.reserve(ids->size());
    for (std::size_t at = 0; at < ids->size(); at += kRecordsPerRead) {
        const std::size_t end = std::min(ids->size(), at + kRecordsPerRead);
        std::vector<std::string> argv = {"HMGET", key};
        argv.insert(argv.end(), ids->begin() + at, ids->begin() + end);
        auto values = client_.command(key, argv);
        if (!values.ok()) return values.error();
        if (values->type != Reply::Type::Array || values->elements.size() != end - at) {
            return unexpected_reply("HMGET");
        }
        for (std::size_t i = 0; i < end - at; ++i) {
            const Reply& v = values->elements[i];
            const std::string& job_id = (*ids)[at + i];
            if (v.type != Reply::Type::String) {
                return corrupt(key + ": job " + job_id + " is indexed by time but has no record");
            }
            auto record = decode_usage_record(v.text);
            if (!record.ok()) return corrupt(key + " " + job_id + ": " + record.error().message);
            out.push_back(std::move(record).value());
        }
    }
    return out;
}

core::Result<std::int64_t> RedisUsageSink::execution_ms_since(const std::string& account_id,
                                                              std::int64_t since_ms) {
    auto ids = job_ids(account_id, std::to_string(since_ms));
    if (!ids.ok()) return ids.error();
    const std::string key = store::redis::account_base(prefix_, account_id) + "usage_exec";
    std::int64_t total = 0;
    for (std::size_t at = 0; at < ids->size(); at += kFiguresPerRead) {
        const std::size_t end = std::min(ids->size(), at + kFiguresPerRead);
        std::vector<std::string> argv = {"HMGET", key};
        argv.insert(argv.end(), ids->begin() + at, ids->begin() + end);
        auto values = client_.command(key, argv);
        if (!values.ok()) return values.error();
        if (values->type != Reply::Type::Array || values->elements.size() != end - at) {
            return unexpected_reply("HMGET");
        }
        for (std::size_t i = 0; i < end - at; ++i) {
            const Reply& v = values->elements[i];
            std::int64_t ms = 0;
            if (v.type != Reply::Type::String || !store::redis::parse_int64(v.text, &ms) ||
                __builtin_add_overflow(total, ms, &total)) {
                return corrupt(key + ": job " + (*ids)[at + i] + " has no readable execution time");
            }
        }
    }
    return total;
}

}  // namespace tollgate::usage
