// The Lua every Redis ledger script starts with: records, grants, entries,
// expiry, the draw and the end of a hold. It is the SQLite backend's books
// (sqlite_grants.cc, sqlite_holds.cc, sqlite_settle.cc) written once more for
// Redis; the comments there say why each rule is what it is.
//
// Records are MessagePack maps (cmsgpack keeps integers exact, cjson would
// print 14 significant digits). A grant: id, key, reason, source, tokens,
// remaining, held, used, expired, debited, starts, expires (absent: never),
// priority, rmax, rexp (rollover), created. A hold: tokens, state, created,
// expires, settled, captured, refunded, slices = {{g = grant id (absent for
// credit), t = tokens, c = captured}...} in draw order. An entry: k (kind), t
// (tokens), h (hold key), r (reason), c (created_ms), g (grant id), a
// (balance after), and for a negative adjustment d = {{g, t}...}, its split
// across grants.
//
// A script's writes are not undone when it raises an error, so each
// operation computes and checks what it will write before its first write;
// fail() after a write reports a broken invariant that only verify() and an
// operator can repair.
#include "ledger/redis/redis_scripts.h"

namespace tollgate::ledger::redis_lua {

const char* books_prelude() {
    return R"lua(
local ACCT, GRANTS, LIVE, GKEYS, HOLDS, ENTRIES, ADJKEYS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local EXPIRING = KEYS[10]

local function fail(what) error('ledger invariant: ' .. what) end
local function check(cond, what) if not cond then fail(what) end end
-- Numbers cross into Redis as decimal integers, never in exponent form.
local function d(n)
  check(n == math.floor(n) and n > -9007199254740992 and n < 9007199254740992, 'exact integer')
  return string.format('%d', n)
end
local function arg_num(i) local n = tonumber(ARGV[i]); check(n ~= nil, 'numeric argument ' .. i); return n end
local function arg_opt(i) if ARGV[i] == '' then return nil end return arg_num(i) end

local function account_exists() return redis.call('EXISTS', ACCT) == 1 end
local function load_acct()
  local v = redis.call('HMGET', ACCT, 'granted', 'held', 'captured', 'expired', 'debited', 'credit_limit')
  check(v[1], 'account books exist')
  local b = {granted = tonumber(v[1]), held = tonumber(v[2]), captured = tonumber(v[3]),
             expired = tonumber(v[4]), debited = tonumber(v[5]), credit_limit = tonumber(v[6])}
  check(b.granted >= 0 and b.held >= 0 and b.captured >= 0 and b.expired >= 0 and
        b.debited >= 0 and b.credit_limit >= 0, 'account figures are not negative')
  return b
end
local function available(b) return b.granted - b.expired - b.held - b.captured - b.debited end
local function bump(field, delta) if delta ~= 0 then redis.call('HINCRBY', ACCT, field, d(delta)) end end

local function get_grant(id)
  local raw = redis.call('HGET', GRANTS, d(id))
  check(raw, 'grant ' .. d(id) .. ' exists')
  return cmsgpack.unpack(raw)
end
local function check_grant(g)
  check(g.remaining >= 0 and g.held >= 0 and g.used >= 0 and g.expired >= 0 and g.debited >= 0,
        'grant ' .. d(g.id) .. ' figures are not negative')
  check(g.tokens == g.remaining + g.held + g.used + g.expired + g.debited,
        'grant ' .. d(g.id) .. ' books balance')
end
local function put_grant(g)
  check_grant(g)
  redis.call('HSET', GRANTS, d(g.id), cmsgpack.pack(g))
  if g.remaining > 0 then redis.call('SADD', LIVE, d(g.id)) else redis.call('SREM', LIVE, d(g.id)) end
end
-- Draw order: higher priority first, then the earliest expiry, never-expiring
-- last, then the oldest grant.
local function draw_before(a, b)
  if a.priority ~= b.priority then return a.priority > b.priority end
  if (a.expires == nil) ~= (b.expires == nil) then return a.expires ~= nil end
  if a.expires ~= nil and a.expires ~= b.expires then return a.expires < b.expires end
  return a.id < b.id
end
-- The grants with tokens left, in draw order.
local function live_grants()
  local out = {}
  for _, id in ipairs(redis.call('SMEMBERS', LIVE)) do
    local g = get_grant(tonumber(id))
    check(g.remaining > 0, 'live grant ' .. id .. ' has tokens left')
    out[#out + 1] = g
  end
  table.sort(out, draw_before)
  return out
end

-- Appends an entry stamped with the account's available balance now; returns its id.
local function add_entry(kind, tokens, hold_key, reason, grant_id, now, debits)
  check(tokens > 0 or (kind == 'adjustment' and tokens < 0), 'entry tokens')
  local e = {k = kind, t = tokens, h = hold_key, r = reason, c = now, g = grant_id,
             a = available(load_acct()), d = debits}
  local n = redis.call('RPUSH', ENTRIES, cmsgpack.pack(e))
  redis.call('HSET', ACCT, 'entry_seq', d(n))
  return n
end

-- Expires (or rolls over) the grant's remaining tokens if it is due at now.
local function expire_grant(g, now, hold_key)
  if g.remaining == 0 or g.expires == nil or g.expires > now then return false end
  local kept = 0
  if (g.rmax or 0) > 0 and g.rexp ~= nil then kept = math.min(g.remaining, g.rmax) end
  local lost = g.remaining - kept
  local rolled_to = g.rexp
  g.expired = g.expired + lost
  g.remaining = kept
  if kept > 0 then g.expires = g.rexp end
  g.rmax = 0
  g.rexp = nil
  put_grant(g)
  if kept > 0 then add_entry('rollover', kept, hold_key, '', g.id, now) end
  if lost > 0 then
    bump('expired', lost)
    add_entry('expiry', lost, hold_key, '', g.id, now)
  end
  -- Rolled over to a time that has passed too: the rollover is gone, so this ends.
  if kept > 0 and rolled_to <= now then expire_grant(g, now, hold_key) end
  return true
end

-- Every due grant of the account, the earliest expiry first.
local function expire_account(now)
  local due = {}
  for _, id in ipairs(redis.call('SMEMBERS', LIVE)) do
    local g = get_grant(tonumber(id))
    if g.expires ~= nil and g.expires <= now then due[#due + 1] = g end
  end
  table.sort(due, function(a, b)
    if a.expires ~= b.expires then return a.expires < b.expires end
    return a.id < b.id
  end)
  local n = 0
  for _, g in ipairs(due) do if expire_grant(g, now, '') then n = n + 1 end end
  return n
end

-- How `tokens` would draw on the grants active at now, in draw order: the
-- slices, their sum (<= tokens) and the remaining of all live grants.
local function plan_draw(tokens, now)
  check(tokens > 0, 'a draw is of at least one token')
  local slices, from_grants, unspent = {}, 0, 0
  for _, g in ipairs(live_grants()) do
    unspent = unspent + g.remaining
    local active = g.starts <= now and (g.expires == nil or now < g.expires)
    local wanted = tokens - from_grants
    if active and wanted > 0 then
      local take = math.min(g.remaining, wanted)
      slices[#slices + 1] = {g = g.id, t = take, c = 0}
      from_grants = from_grants + take
    end
  end
  check(from_grants <= tokens and from_grants <= unspent, 'the draw fits')
  return slices, from_grants, unspent
end

-- Adds a grant and its one entry (kind = source). Returns id, created, entry
-- id; or nil, 'conflict', first tokens when its key was used with another amount.
local function insert_grant(s, now)
  if s.key ~= '' then
    local seen = redis.call('HGET', GKEYS, s.key)
    if seen then
      local g = get_grant(tonumber(seen))
      if g.tokens ~= s.tokens and not s.keeps_first then return nil, 'conflict', g.tokens end
      return g.id, false, 0
    end
  end
  check(s.tokens > 0, 'a grant is of at least one token')
  local id = redis.call('HINCRBY', ACCT, 'grant_seq', 1)
  local g = {id = id, key = s.key, reason = s.reason, source = s.source, tokens = s.tokens,
             remaining = s.tokens, held = 0, used = 0, expired = 0, debited = 0, starts = now,
             expires = s.expires, priority = s.priority, rmax = s.rmax, rexp = s.rexp, created = now}
  put_grant(g)
  if s.key ~= '' then redis.call('HSET', GKEYS, s.key, d(id)) end
  bump('granted', s.tokens)
  local entry_id = add_entry(s.source, s.tokens, s.hold_key or '', s.reason, id, now)
  return id, true, entry_id
end

local function get_hold(key)
  local raw = redis.call('HGET', HOLDS, key)
  if not raw then return nil end
  local h = cmsgpack.unpack(raw)
  check(h.tokens > 0 and h.captured >= 0 and h.captured <= h.tokens, 'hold ' .. key .. ' amounts')
  check((h.state == 'captured') == (h.captured > 0), 'hold ' .. key .. ' state')
  check(h.refunded >= 0 and h.refunded <= h.captured, 'hold ' .. key .. ' refunds')
  local sum, charged, ended = 0, 0, false
  for _, s in ipairs(h.slices) do
    check(s.t > 0 and s.c >= 0 and s.c <= s.t, 'hold ' .. key .. ' slice')
    -- A capture charges slices in draw order: none after one charged in part.
    check(not ended or s.c == 0, 'hold ' .. key .. ' slices charged in order')
    ended = s.c < s.t
    sum = sum + s.t
    charged = charged + s.c
  end
  check(sum == h.tokens and charged == h.captured, 'hold ' .. key .. ' is the sum of its slices')
  return h
end

-- Ends an open hold: charges `charge` of it (0 for a void) in draw order and
-- returns the rest to its grants and credit.
local function end_hold(key, h, charge, reason, now)
  check(h.state == 'open' and h.captured == 0, 'hold ' .. key .. ' is open')
  check(charge >= 0 and charge <= h.tokens, 'the charge fits the hold')
  local left, grants, released_to = charge, {}, {}
  for _, s in ipairs(h.slices) do
    local take = math.min(s.t, left)
    local released = s.t - take
    left = left - take
    s.c = take
    if s.g ~= nil then
      local g = get_grant(s.g)
      g.held = g.held - s.t
      g.used = g.used + take
      g.remaining = g.remaining + released
      check_grant(g)
      grants[#grants + 1] = g
      if released > 0 then released_to[#released_to + 1] = s.g end
    end
  end
  check(left == 0, 'the charge is taken in full')
  for _, g in ipairs(grants) do put_grant(g) end
  bump('held', -h.tokens)
  bump('captured', charge)
  h.state = charge > 0 and 'captured' or 'voided'
  h.captured = charge
  h.settled = now
  redis.call('HSET', HOLDS, key, cmsgpack.pack(h))
  if h.expires ~= nil then redis.call('ZREM', EXPIRING, key) end
  if charge > 0 then add_entry('capture', charge, key, reason, nil, now)
  else add_entry('void', h.tokens, key, reason, nil, now) end
  -- Tokens returned to a grant that expired while they were held expire now.
  for _, id in ipairs(released_to) do expire_grant(get_grant(id), now, key) end
end
-- Checks that the account can afford `tokens` under the credit limit and
-- holds them under `key`, drawing from grants in draw order, then credit.
-- Returns the outcome (held | already_held | key_reused | insufficient |
-- unknown_account) and the available balance after it.
local function ledger_reserve(tokens, key, now, limit, ttl, memo)
  if not account_exists() then return 'unknown_account', 0 end
  expire_account(now)
  local avail = available(load_acct())
  local existing = get_hold(key)
  if existing then
    if existing.tokens == tokens then return 'already_held', avail end
    return 'key_reused', avail
  end
  -- Refuse before planning the draw when the balance alone rules the hold out.
  local after = avail - tokens
  if after < -limit then return 'insufficient', avail end
  local slices, from_grants, unspent = plan_draw(tokens, now)
  local credit = tokens - from_grants
  if credit > 0 and limit == 0 then return 'insufficient', avail end
  local outstanding = math.max(0, unspent - avail) + credit
  local stored_limit = math.max(limit, outstanding)
  check(after + stored_limit >= 0, 'the hold stays within the credit limit')
  if credit > 0 then slices[#slices + 1] = {t = credit, c = 0} end
  local grants = {}
  for _, s in ipairs(slices) do
    if s.g ~= nil then
      local g = get_grant(s.g)
      g.remaining = g.remaining - s.t
      g.held = g.held + s.t
      check_grant(g)
      grants[#grants + 1] = g
    end
  end
  for _, g in ipairs(grants) do put_grant(g) end
  local h = {tokens = tokens, state = 'open', created = now, captured = 0, refunded = 0, slices = slices}
  if ttl > 0 then h.expires = now + ttl end
  redis.call('HSET', HOLDS, key, cmsgpack.pack(h))
  if ttl > 0 then redis.call('ZADD', EXPIRING, d(h.expires), key) end
  bump('held', tokens)
  redis.call('HSET', ACCT, 'credit_limit', d(stored_limit))
  add_entry('hold', tokens, key, memo, nil, now)
  check(available(load_acct()) == after, 'the hold moved the balance by its tokens')
  return 'held', after
end

-- Captures `charge` of the hold (nil: all of it). Returns settled | already |
-- conflict | unknown_hold, or exceeds and the hold's tokens.
local function ledger_capture(key, charge, now)
  local h = get_hold(key)
  if h == nil then return 'unknown_hold', 0 end
  if charge == nil then charge = h.tokens end
  if charge > h.tokens then return 'exceeds', h.tokens end
  if h.state == 'captured' then
    if h.captured == charge then return 'already', 0 end
    return 'conflict', 0
  end
  if h.state == 'voided' then return 'conflict', 0 end
  local reason = ''
  if charge < h.tokens then reason = 'released ' .. d(h.tokens - charge) end
  end_hold(key, h, charge, reason, now)
  return 'settled', 0
end

-- Voids the hold. Returns settled | already | conflict | unknown_hold.
local function ledger_void(key, reason, now)
  local h = get_hold(key)
  if h == nil then return 'unknown_hold', 0 end
  if h.state == 'voided' then return 'already', 0 end
  if h.state == 'captured' then return 'conflict', 0 end
  end_hold(key, h, 0, reason, now)
  return 'settled', 0
end
)lua";
}

}  // namespace tollgate::ledger::redis_lua
