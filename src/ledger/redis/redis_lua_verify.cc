// verify() for one account of the Redis ledger, as one read-only script: the
// checks of sqlite_verify.cc and sqlite_verify_entries.cc over the account's
// records. Records are read raw here (no prelude check raises), because
// verify exists to report the corruption the other scripts refuse to touch.
//
// It reads the account's whole history in one script, and Redis runs nothing
// else on that node meanwhile: about a second per million entries. Run it
// when the load is low (docs/operations.md).
#include <string>

#include "ledger/redis/redis_scripts.h"

namespace tollgate::ledger::redis_lua {

const store::redis::Script& verify() {
    static const store::redis::Script script(std::string(books_prelude()) + R"lua(
if not account_exists() then return {'unknown_account'} end
local out = {'ok'}
local function say(text) out[#out + 1] = text end
local function report(what, cached, derived)
  if cached ~= derived then say(what .. ': cached ' .. d(cached) .. ', from records ' .. d(derived)) end
end
local v = redis.call('HMGET', ACCT, 'granted', 'held', 'captured', 'expired', 'debited', 'credit_limit')
local b = {granted = tonumber(v[1]) or 0, held = tonumber(v[2]) or 0, captured = tonumber(v[3]) or 0,
           expired = tonumber(v[4]) or 0, debited = tonumber(v[5]) or 0, credit_limit = tonumber(v[6]) or 0}

local grants, holds = {}, {}
local g_tokens, g_expired, g_remaining, g_debited = 0, 0, 0, 0
local flat = redis.call('HGETALL', GRANTS)
for i = 1, #flat, 2 do
  local g = cmsgpack.unpack(flat[i + 1])
  g.open, g.captured_slices, g.entry_tokens, g.entry_expired, g.debits = 0, 0, 0, 0, 0
  grants[g.id] = g
  g_tokens = g_tokens + g.tokens
  g_expired = g_expired + g.expired
  g_remaining = g_remaining + g.remaining
  g_debited = g_debited + g.debited
end
local h_open, h_captured, credit = 0, 0, 0
flat = redis.call('HGETALL', HOLDS)
for i = 1, #flat, 2 do
  local h = cmsgpack.unpack(flat[i + 1])
  h.key = flat[i]
  h.e_holds, h.e_settlements, h.e_held, h.e_captured, h.e_refunded = 0, 0, 0, 0, 0
  h.s_tokens, h.s_captured = 0, 0
  holds[h.key] = h
  if h.state == 'open' then h_open = h_open + h.tokens end
  h_captured = h_captured + h.captured
  for _, s in ipairs(h.slices) do
    h.s_tokens = h.s_tokens + s.t
    h.s_captured = h.s_captured + s.c
    local drawn = 0
    if h.state == 'open' then drawn = s.t elseif h.state == 'captured' then drawn = s.c end
    if s.g == nil then
      credit = credit + drawn
    elseif grants[s.g] ~= nil then
      if h.state == 'open' then grants[s.g].open = grants[s.g].open + s.t end
      grants[s.g].captured_slices = grants[s.g].captured_slices + s.c
    else
      say('hold ' .. h.key .. ' draws on grant ' .. d(s.g) .. ', which does not exist')
    end
  end
end

local e_granted, e_captured, e_expired, e_debited = 0, 0, 0, 0
local prev, running_reported = 0, 0
local n = redis.call('LLEN', ENTRIES)
local id = 0
while id < n do
  for _, raw in ipairs(redis.call('LRANGE', ENTRIES, id, id + 999)) do
    id = id + 1
    local e = cmsgpack.unpack(raw)
    local k, t = e.k, e.t
    if k == 'grant' or k == 'refund' or (k == 'adjustment' and t > 0) then e_granted = e_granted + t end
    if k == 'capture' then e_captured = e_captured + t end
    if k == 'expiry' then e_expired = e_expired + t end
    if k == 'adjustment' and t < 0 then
      e_debited = e_debited - t
      local split = 0
      for _, x in ipairs(e.d or {}) do
        split = split + x.t
        if grants[x.g] ~= nil then grants[x.g].debits = grants[x.g].debits + x.t
        else say('adjustment entry ' .. d(id) .. ' debits grant ' .. d(x.g) .. ', which does not exist') end
      end
      report('adjustment entry ' .. d(id) .. ' tokens removed vs debits', -t, split)
    end
    local h = nil
    if e.h ~= nil and e.h ~= '' then h = holds[e.h] end
    if h ~= nil then
      if k == 'hold' then h.e_holds = h.e_holds + 1; h.e_held = h.e_held + t end
      if k == 'capture' or k == 'void' then h.e_settlements = h.e_settlements + 1 end
      if k == 'capture' then h.e_captured = h.e_captured + t end
      if k == 'refund' then h.e_refunded = h.e_refunded + t end
    end
    local g = nil
    if e.g ~= nil then g = grants[e.g] end
    if g ~= nil then
      if k == g.source then g.entry_tokens = g.entry_tokens + t end
      if k == 'expiry' then g.entry_expired = g.entry_expired + t end
    end
    local movement = 0
    if k == 'grant' or k == 'refund' or k == 'adjustment' or k == 'void' then movement = t
    elseif k == 'hold' or k == 'expiry' then movement = -t
    elseif k == 'capture' then movement = ((h and h.tokens) or t) - t end
    if e.a ~= prev + movement and running_reported < 1000 then
      running_reported = running_reported + 1
      say('entry ' .. d(id) .. ' (' .. k .. ') balance_after vs previous balance_after + movement: cached ' ..
          d(e.a) .. ', from records ' .. d(prev + movement))
    end
    prev = e.a
  end
end
local last_after = prev

local e_held = 0
for key, h in pairs(holds) do
  if h.e_settlements == 0 then e_held = e_held + h.e_held end
  local open = h.state == 'open'
  local expected = 0
  if not open then expected = 1 end
  if h.e_holds ~= 1 or h.e_settlements ~= expected then
    say('hold ' .. key .. ' (' .. h.state .. ') has ' .. d(h.e_holds) .. ' hold and ' ..
        d(h.e_settlements) .. ' settlement entries')
  end
  local name = 'hold ' .. key .. ' (' .. h.state .. ') '
  report(name .. 'tokens vs allocations', h.tokens, h.s_tokens)
  report(name .. 'tokens vs hold entry', h.tokens, h.e_held)
  report(name .. 'captured vs allocations\' captured', h.captured, h.s_captured)
  report(name .. 'captured vs capture entry', h.captured, h.e_captured)
  report(name .. 'refunded vs refund entries', h.refunded, h.e_refunded)
end

for gid, g in pairs(grants) do
  local name = 'grant ' .. d(gid) .. ' '
  local accounted = g.remaining + g.open + g.used + g.expired + g.debited
  if g.tokens ~= accounted then
    say(name .. 'tokens ' .. d(g.tokens) .. ' != remaining + open allocations + used + expired + debited ' .. d(accounted))
  end
  report(name .. 'held vs open allocations', g.held, g.open)
  report(name .. 'used vs captured allocations', g.used, g.captured_slices)
  report(name .. 'tokens vs grant entry', g.tokens, g.entry_tokens)
  report(name .. 'expired vs expiry entries', g.expired, g.entry_expired)
  report(name .. 'debited vs debits', g.debited, g.debits)
  local live = redis.call('SISMEMBER', LIVE, d(gid)) == 1
  if live ~= (g.remaining > 0) then say(name .. 'is listed as live: ' .. tostring(live) .. ', remaining ' .. d(g.remaining)) end
end

report('granted vs grant entries', b.granted, e_granted)
report('granted vs grants', b.granted, g_tokens)
report('held vs unsettled hold entries', b.held, e_held)
report('held vs open holds', b.held, h_open)
report('captured vs capture entries', b.captured, e_captured)
report('captured vs captured holds', b.captured, h_captured)
report('expired vs expiry entries', b.expired, e_expired)
report('expired vs grants\' expired', b.expired, g_expired)
report('debited vs adjustment entries', b.debited, e_debited)
report('debited vs grants\' debited', b.debited, g_debited)
local avail = available(b)
report('available vs grants\' remaining - credit drawn', avail, g_remaining - credit)
report('available vs last entry\'s balance_after', avail, last_after)
if avail < -b.credit_limit then
  say('available ' .. d(avail) .. ' is below -' .. d(b.credit_limit) .. ' (credit limit)')
end
return out
)lua");
    return script;
}

}  // namespace tollgate::ledger::redis_lua
