// The Redis ledger's operations, each one script: the prelude
// (redis_lua_books.cc) and the body here. The bodies follow the SQLite
// backend's operations step for step (sqlite_grants.cc, sqlite_holds.cc,
// sqlite_settle.cc, sqlite_adjust.cc, sqlite_entries.cc).
#include <string>

#include "ledger/redis/redis_scripts.h"

namespace tollgate::ledger::redis_lua {
namespace {

store::redis::Script with_prelude(const char* body) {
    return store::redis::Script(std::string(books_prelude()) + body);
}

}  // namespace

const store::redis::Script& add_grant() {
    static const store::redis::Script script = with_prelude(R"lua(
if not account_exists() then return {'unknown_account'} end
local now = arg_num(9)
if ARGV[10] == '1' then expire_account(now) end
local id, created, entry_id = insert_grant({tokens = arg_num(1), reason = ARGV[2], key = ARGV[3],
  expires = arg_opt(4), priority = arg_num(5), rmax = arg_num(6), rexp = arg_opt(7),
  keeps_first = ARGV[8] == '1', source = ARGV[11]}, now)
if id == nil then return {'conflict', entry_id} end
return {'ok', id, created and 1 or 0, entry_id}
)lua");
    return script;
}

const store::redis::Script& reserve() {
    static const store::redis::Script script = with_prelude(R"lua(
return {ledger_reserve(arg_num(1), ARGV[2], arg_num(3), arg_num(4), arg_num(5), ARGV[6])}
)lua");
    return script;
}

const store::redis::Script& capture() {
    static const store::redis::Script script = with_prelude(R"lua(
local charge = nil
if ARGV[2] ~= '' then charge = arg_num(2) end
return {ledger_capture(ARGV[1], charge, arg_num(3))}
)lua");
    return script;
}

const store::redis::Script& void_hold() {
    static const store::redis::Script script = with_prelude(R"lua(
return {ledger_void(ARGV[1], ARGV[2], arg_num(3))}
)lua");
    return script;
}

const store::redis::Script& adjust() {
    static const store::redis::Script script = with_prelude(R"lua(
local tokens, reason, key, now = arg_num(1), ARGV[2], ARGV[3], arg_num(4)
if not account_exists() then return {'unknown_account'} end
if key ~= '' then
  local seen = redis.call('HGET', ADJKEYS, key)
  if seen then
    local e = cmsgpack.unpack(redis.call('LINDEX', ENTRIES, tonumber(seen) - 1))
    if e.t ~= tokens then return {'conflict', e.t} end
    return {'ok', tonumber(seen)}
  end
end
expire_account(now)
local entry_id
if tokens > 0 then
  local id, created, eid = insert_grant({tokens = tokens, reason = reason, key = '',
    priority = 0, rmax = 0, source = 'adjustment'}, now)
  check(id ~= nil and created, 'an adjustment makes a new grant')
  entry_id = eid
else
  -- A debit never takes the account below zero and never draws on credit.
  local t = -tokens
  local before = available(load_acct())
  if before < t then return {'insufficient'} end
  local slices, from_grants = plan_draw(t, now)
  if from_grants ~= t then return {'insufficient'} end
  local grants, split = {}, {}
  for _, s in ipairs(slices) do
    local g = get_grant(s.g)
    g.remaining = g.remaining - s.t
    g.debited = g.debited + s.t
    check_grant(g)
    grants[#grants + 1] = g
    split[#split + 1] = {g = s.g, t = s.t}
  end
  for _, g in ipairs(grants) do put_grant(g) end
  bump('debited', t)
  entry_id = add_entry('adjustment', tokens, '', reason, nil, now, split)
  local after = available(load_acct())
  check(after >= 0 and after == before - t, 'a debit moves the balance by its tokens')
end
if key ~= '' then redis.call('HSET', ADJKEYS, key, d(entry_id)) end
return {'ok', entry_id}
)lua");
    return script;
}

const store::redis::Script& refund() {
    static const store::redis::Script script = with_prelude(R"lua(
local key, tokens, reason, now = ARGV[1], arg_num(2), ARGV[3], arg_num(4)
local h = get_hold(key)
if h == nil then return {'unknown_hold'} end
if h.state ~= 'captured' then return {'not_captured'} end
if h.refunded + tokens > h.captured then return {'exceeds', h.refunded + tokens, h.captured} end
expire_account(now)
local id, created, entry_id = insert_grant({tokens = tokens, reason = reason, key = '',
  priority = 0, rmax = 0, source = 'refund', hold_key = key}, now)
check(id ~= nil and created, 'a refund makes a new grant')
h.refunded = h.refunded + tokens
redis.call('HSET', HOLDS, key, cmsgpack.pack(h))
return {'ok', entry_id}
)lua");
    return script;
}

const store::redis::Script& balance() {
    static const store::redis::Script script = with_prelude(R"lua(
if not account_exists() then return {'unknown_account'} end
expire_account(arg_num(1))
local b = load_acct()
check(available(b) >= -b.credit_limit, 'available is within the credit limit')
return {'ok', b.granted, b.held, b.captured, b.expired, b.debited, b.credit_limit}
)lua");
    return script;
}

const store::redis::Script& expire() {
    static const store::redis::Script script = with_prelude(R"lua(
if not account_exists() then return {'ok', 0, false} end
local now = arg_num(1)
if ARGV[2] == '' then return {'ok', expire_account(now), false} end
local raw = redis.call('HGET', GRANTS, ARGV[2])
if not raw then return {'ok', 0, false} end
local g = cmsgpack.unpack(raw)
local n = expire_grant(g, now, '') and 1 or 0
if g.remaining > 0 and g.expires ~= nil then return {'ok', n, g.expires} end
return {'ok', n, false}
)lua");
    return script;
}

const store::redis::Script& grants() {
    static const store::redis::Script script = with_prelude(R"lua(
if not account_exists() then return {'unknown_account'} end
expire_account(arg_num(1))
local all = {}
for _, raw in ipairs(redis.call('HVALS', GRANTS)) do all[#all + 1] = cmsgpack.unpack(raw) end
table.sort(all, draw_before)
local out = {'ok'}
for i, g in ipairs(all) do
  if i > arg_num(2) then break end
  check_grant(g)
  out[#out + 1] = {g.id, g.key, g.reason, g.tokens, g.remaining, g.used, g.expired, g.starts,
                   g.expires or false, g.priority, g.held, g.debited, g.source}
end
return out
)lua");
    return script;
}

const store::redis::Script& read_hold() {
    static const store::redis::Script script = with_prelude(R"lua(
local h = get_hold(ARGV[1])
if h == nil then return {'none'} end
return {'ok', h.tokens, h.state, h.created, h.expires or false, h.captured, h.refunded}
)lua");
    return script;
}

const store::redis::Script& entries() {
    static const store::redis::Script script = with_prelude(R"lua(
if not account_exists() then return {'unknown_account'} end
local after, from, to, count, scan_max = arg_num(1), arg_num(2), arg_num(3), arg_num(4), arg_num(5)
local out = {'ok', after, 0}
local found, scanned, i = 0, 0, after
local chunk = 500
while found < count and scanned < scan_max do
  local raws = redis.call('LRANGE', ENTRIES, i, i + chunk - 1)
  if #raws == 0 then break end
  for _, raw in ipairs(raws) do
    i = i + 1
    scanned = scanned + 1
    local e = cmsgpack.unpack(raw)
    if e.c >= from and e.c < to then
      out[#out + 1] = {i, e.k, e.t, e.h, e.r, e.c, e.g or false, e.a}
      found = found + 1
    end
    if found == count or scanned == scan_max then break end
  end
end
out[2] = i
out[3] = redis.call('LLEN', ENTRIES)
return out
)lua");
    return script;
}

}  // namespace tollgate::ledger::redis_lua
