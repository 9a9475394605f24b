// The usage prelude and key names (see redis_usage_lua.h).
//
// The stream entry is added first, right after its seq is taken: XADD is the
// one write that can refuse (an id not above the stream's last, which only a
// lost usage_seq could cause), and refusing before the record is stored
// keeps a retry possible. A record stored without its entry would read as
// written and never be exported.
#include "usage/redis/redis_usage_lua.h"

#include "store/redis/redis_keys.h"

namespace tollgate::usage {

const char* usage_lua_prelude() {
    return R"lua(
local function usage_append(shard_base, account_base, job_id, record, finished_ms, execution_ms)
  if type(shard_base) ~= 'string' or type(account_base) ~= 'string' or type(job_id) ~= 'string' or
     job_id == '' or type(record) ~= 'string' or type(finished_ms) ~= 'number' or
     finished_ms ~= math.floor(finished_ms) or type(execution_ms) ~= 'number' or
     execution_ms ~= math.floor(execution_ms) then
    error('usage_append: an argument has the wrong type')
  end
  local usage_records = account_base .. 'usage'
  if redis.call('HEXISTS', usage_records, job_id) == 1 then return 0 end
  local usage_seq = redis.call('INCR', shard_base .. 'usage_seq')
  redis.call('XADD', shard_base .. 'usage', string.format('%d-1', usage_seq), 'job', job_id, 'r', record)
  redis.call('HSET', usage_records, job_id, record)
  redis.call('ZADD', account_base .. 'usage_by_time', string.format('%d', finished_ms), job_id)
  redis.call('HSET', account_base .. 'usage_exec', job_id, string.format('%d', execution_ms))
  return 1
end
)lua";
}

std::vector<std::string> usage_append_keys(std::string_view prefix, std::string_view account_id) {
    const std::string account = store::redis::account_base(prefix, account_id);
    const int shard = store::redis::shard_of(account_id);
    return {account + "usage", account + "usage_by_time", account + "usage_exec",
            usage_seq_key(prefix, shard), usage_stream_key(prefix, shard)};
}

std::string usage_seq_key(std::string_view prefix, int shard) {
    return store::redis::shard_base(prefix, shard) + "usage_seq";
}

std::string usage_stream_key(std::string_view prefix, int shard) {
    return store::redis::shard_base(prefix, shard) + "usage";
}

std::string usage_cursors_key(std::string_view prefix, int shard) {
    return store::redis::shard_base(prefix, shard) + "usage_cursors";
}

std::string usage_sinks_key(std::string_view prefix, int shard) {
    return store::redis::shard_base(prefix, shard) + "usage_sinks";
}

}  // namespace tollgate::usage
