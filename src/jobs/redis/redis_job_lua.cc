// The Redis job store's Lua (see redis_job_lua.h).
#include "jobs/redis/redis_job_lua.h"

namespace tollgate::jobs::redis_lua {

const char* jobs_prelude() {
    return R"lua(
local JOB_NEXT = {admitted = {dispatched = true, failed = true},
                  dispatched = {succeeded = true, failed = true}, succeeded = {}, failed = {}}
local function job_field(fields, name)
  for i = 1, #fields, 2 do if fields[i] == name then return fields[i + 1] end end
  return nil
end
local function job_insert(abase, sbase, account, id, fields)
  local key = abase .. 'job:' .. id
  if redis.call('EXISTS', key) == 1 then return 'exists' end
  local state, created = job_field(fields, 'state'), job_field(fields, 'created_ms')
  if JOB_NEXT[state] == nil or created == nil then error('job record: state and created_ms') end
  redis.call('HSET', key, unpack(fields))
  redis.call('ZADD', abase .. 'jobs', created, id)
  if state == 'admitted' or state == 'dispatched' then
    redis.call('SADD', abase .. 'unfinished', id)
    redis.call('ZADD', sbase .. 'unfinished', created, account .. '\t' .. id)
  end
  local dk = job_field(fields, 'dedupe_key')
  if dk ~= nil and dk ~= '' then redis.call('ZADD', abase .. 'dk:' .. dk, created, id) end
  return 'ok'
end
local function job_transition(abase, sbase, account, id, to, fields)
  local key = abase .. 'job:' .. id
  local from = redis.call('HGET', key, 'state')
  if not from then return 'unknown_job', '' end
  if JOB_NEXT[from] == nil or not JOB_NEXT[from][to] then return 'illegal', from end
  redis.call('HSET', key, 'state', to, unpack(fields))
  if to == 'succeeded' or to == 'failed' then
    redis.call('SREM', abase .. 'unfinished', id)
    redis.call('ZREM', sbase .. 'unfinished', account .. '\t' .. id)
  end
  return 'ok', from
end
local function webhook_enqueue(abase, sbase, account, shard, id, fields)
  local key = abase .. 'webhook:' .. id
  if redis.call('EXISTS', key) == 1 then return 'exists' end
  local next_ms = nil
  for i = 1, #fields, 2 do if fields[i] == 'next_attempt_ms' then next_ms = fields[i + 1] end end
  if next_ms == nil then error('webhook record: next_attempt_ms') end
  local n = redis.call('INCR', sbase .. 'webhook_seq')
  local number = string.format('%d', n * 64 + shard)
  redis.call('HSET', key, 'id', number, unpack(fields))
  redis.call('ZADD', sbase .. 'webhooks_due', next_ms, account .. '\t' .. id)
  redis.call('HSET', sbase .. 'webhook_ids', number, account .. '\t' .. id)
  return 'ok'
end
)lua";
}

}  // namespace tollgate::jobs::redis_lua
