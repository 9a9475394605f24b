// Token buckets on Redis (see redis_rate_limiter.h).
//
// Design: the account's key is a hash of three fields per bucket: h, whole
// items; l, units of 1/60000 item (0 .. 59999); t, when it was last refilled
// (ms). Redis runs Lua with doubles, exact for integers below 2^53 only, and a
// level in units reaches 2^40 * 60000 (about 2^56) at the largest burst the
// configuration allows: so the level is kept as items and units, and the
// script's refill and wait form every sum without a product at or above 2^53
// (each step is commented with its bound). Waits come back as whole minutes
// and ms, joined in int64 here. Rejected: Redis TIME (tests could not move
// time); a level in plain units (inexact above a burst of 150 GB); deciding
// in C++ between a read and a write (two instances would both take the last
// item).
#include "http/api/redis_rate_limiter.h"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "core/assert.h"
#include "core/limits.h"
#include "store/redis/redis_keys.h"

namespace tollgate::http {
namespace {

// The script's bounds: rates and bursts up to 2^40, times up to 2^52 ms.
constexpr std::int64_t kItemsMax = std::int64_t{1} << 40;
constexpr std::int64_t kTimeMsMax = std::int64_t{1} << 52;
static_assert(core::limits::kRateUploadBytesPerMinuteMax <= kItemsMax);
static_assert(core::limits::kRateRequestsPerMinuteMax <= kItemsMax);
static_assert(TokenBucket::kUnitsPerItem == 60'000);  // U in the script, 240 * 250

// KEYS[1]: the account's buckets. ARGV: 'take' or 'check', now_ms, then for
// the request bucket and the upload byte bucket each: its rate per minute (0
// = no limit), its capacity and the items asked. Returns {allowed (1 or 0),
// the request bucket's wait as minutes and ms, the byte bucket's likewise}.
// A take writes the buckets back (refilled, and taken from when allowed),
// with a TTL of the time until both are full, or deletes the key when they
// are full now.
const store::redis::Script& rate_script() {
    static const store::redis::Script script(R"lua(
local U = 60000
local ITEMS_MAX = 1099511627776
local TIME_MAX = 4503599627370496
local key = KEYS[1]

-- An integer lo .. hi, or nil.
local function int(text, lo, hi)
  local n = tonumber(text)
  if n == nil or n ~= math.floor(n) or n < lo or n > hi then return nil end
  return n
end
local function arg(i, lo, hi)
  local n = int(ARGV[i], lo, hi)
  if n == nil then error('rate: argument ' .. i .. ' is out of range') end
  return n
end

local mode = ARGV[1]
if mode ~= 'take' and mode ~= 'check' then error('rate: unknown mode') end
local now = arg(2, 0, TIME_MAX)

-- TokenBucket::refill: the level (h * U + l) grows by elapsed * rate units
-- up to the capacity, which also cuts a level above a lowered capacity.
local function refill(b)
  if now > b.t then
    if b.h < b.cap then
      local e = now - b.t
      local minutes = math.floor(e / U)
      local ms = e - minutes * U
      -- minutes * rate is exact below cap - h (< 2^40); at or above it, the
      -- rounded product is not below it either: full.
      if minutes * b.rate >= b.cap - b.h then
        b.h, b.l = b.cap, 0
      else
        -- ms * rate units = ms * rate_q items + ms * rate_r units, with
        -- rate = rate_q * U + rate_r: ms * rate_q <= 2^40, ms * rate_r < U^2.
        local rate_q = math.floor(b.rate / U)
        local units = ms * (b.rate - rate_q * U)
        local carry = math.floor(units / U)
        b.h = b.h + minutes * b.rate + ms * rate_q + carry
        b.l = b.l + units - carry * U
        if b.l >= U then b.h, b.l = b.h + 1, b.l - U end
      end
    end
    b.t = now
  end
  if b.h >= b.cap then b.h, b.l = b.cap, 0 end
end

-- TokenBucket::wait_ms: ceil((items * U - level) / rate) ms, returned as
-- whole minutes and ms (0 .. U - 1).
local function wait(b, items)
  if items <= b.h then return 0, 0 end
  local missing = items - b.h
  local minutes = math.floor(missing / b.rate)
  local rest = missing - minutes * b.rate
  -- ceil((rest * U - l) / rate), rest < rate: rest * U = q * rate + r by
  -- long division in two steps (U = 240 * 250), each below 2^48.
  local x = rest * 240
  local q1 = math.floor(x / b.rate)
  local y = (x - q1 * b.rate) * 250
  local q2 = math.floor(y / b.rate)
  local m = (y - q2 * b.rate) - b.l
  local ms = q1 * 250 + q2
  -- ceil(m / rate): m < rate, and -m < U.
  if m > 0 then ms = ms + 1 else ms = ms - math.floor(-m / b.rate) end
  if ms < 0 then minutes, ms = minutes - 1, ms + U end
  if ms >= U then minutes, ms = minutes + 1, ms - U end
  return minutes, ms
end

local state = redis.call('HMGET', key, 'rh', 'rl', 'rt', 'bh', 'bl', 'bt')
local buckets = {}
local allowed = true
local out = {0, 0, 0, 0, 0}
for i, name in ipairs({'r', 'b'}) do
  local b = {name = name, rate = arg(3 * i, 0, ITEMS_MAX)}
  if b.rate > 0 then
    b.cap = arg(3 * i + 1, 1, ITEMS_MAX)
    b.items = arg(3 * i + 2, 0, b.cap)
    b.h = int(state[3 * i - 2], 0, ITEMS_MAX)
    b.l = int(state[3 * i - 1], 0, U - 1)
    b.t = int(state[3 * i], 0, TIME_MAX)
    if b.h == nil or b.l == nil or b.t == nil then
      -- A new bucket, or one whose limit was off: full.
      b.h, b.l, b.t = b.cap, 0, now
    end
    refill(b)
    local minutes, ms = wait(b, b.items)
    out[2 * i], out[2 * i + 1] = minutes, ms
    if minutes > 0 or ms > 0 then allowed = false end
  end
  buckets[i] = b
end
if allowed then out[1] = 1 end
if mode == 'check' then return out end

local fields = {}
local ttl = 0
for _, b in ipairs(buckets) do
  if b.rate > 0 then
    if allowed then b.h = b.h - b.items end
    local minutes, ms = wait(b, b.cap)
    local full = TIME_MAX
    if minutes < TIME_MAX / U then full = math.min(TIME_MAX, b.t - now + minutes * U + ms) end
    if full > ttl then ttl = full end
    for _, f in ipairs({{'h', b.h}, {'l', b.l}, {'t', b.t}}) do
      fields[#fields + 1] = b.name .. f[1]
      fields[#fields + 1] = string.format('%d', f[2])
    end
  end
end
redis.call('DEL', key)
if ttl > 0 then
  redis.call('HSET', key, unpack(fields))
  redis.call('PEXPIRE', key, string.format('%d', ttl))
end
return out
)lua");
    return script;
}

// The limits the script can take: those the configuration allows.
void assert_limit(const BucketLimit& limit) {
    TOLLGATE_ASSERT(limit.unlimited() ||
                    (limit.per_minute > 0 && limit.per_minute <= kItemsMax && limit.burst >= 0 &&
                     limit.capacity() <= core::limits::kRateUploadBytesPerMinuteMax));
}

// The wait in a reply's two elements from `at`: minutes and ms; -1 when
// they are not what the script returns.
std::int64_t reply_wait(const store::redis::Reply& reply, std::size_t at) {
    const store::redis::Reply& minutes = reply.elements[at];
    const store::redis::Reply& ms = reply.elements[at + 1];
    if (minutes.type != store::redis::Reply::Type::Integer ||
        ms.type != store::redis::Reply::Type::Integer || minutes.integer < 0 ||
        minutes.integer > kItemsMax || ms.integer < 0 || ms.integer >= TokenBucket::kUnitsPerItem) {
        return -1;
    }
    return minutes.integer * TokenBucket::kUnitsPerItem + ms.integer;
}

}  // namespace

RedisRateLimiter::RedisRateLimiter(store::redis::Client& client, const core::Clock& clock,
                                   std::string prefix)
    : client_(client),
      clock_(clock),
      prefix_(std::move(prefix)),
      warned_ms_(-kRateWarnIntervalMs) {}

core::Result<std::unique_ptr<RedisRateLimiter>> RedisRateLimiter::open(store::redis::Client& client,
                                                                       const core::Clock& clock,
                                                                       std::string prefix) {
    if (core::Status valid = store::redis::check_prefix(prefix); !valid.ok()) return valid.error();
    return std::unique_ptr<RedisRateLimiter>(
        new RedisRateLimiter(client, clock, std::move(prefix)));
}

std::string RedisRateLimiter::key(const std::string& account_id) const {
    return store::redis::account_base(prefix_, account_id) + "rate";
}

RateDecision RedisRateLimiter::take(const std::string& account_id, const AccountLimits& limits,
                                    std::int64_t upload_bytes) {
    TOLLGATE_ASSERT(upload_bytes >= 0);
    if (limits.unlimited()) {
        // Nothing to count: forget the account if it was limited before.
        const std::string k = key(account_id);
        auto deleted = client_.command(k, {"DEL", k});
        if (!deleted.ok()) warn("forgetting", account_id, deleted.error().message);
        return {};
    }
    if (auto too_large = rate_too_large(limits, upload_bytes)) return *too_large;
    return run(true, account_id, limits, upload_bytes);
}

RateDecision RedisRateLimiter::check(const std::string& account_id, const AccountLimits& limits,
                                     std::int64_t upload_bytes) const {
    TOLLGATE_ASSERT(upload_bytes >= 0);
    if (limits.unlimited()) return {};
    if (auto too_large = rate_too_large(limits, upload_bytes)) return *too_large;
    return run(false, account_id, limits, upload_bytes);
}

RateDecision RedisRateLimiter::run(bool take, const std::string& account_id,
                                   const AccountLimits& limits, std::int64_t upload_bytes) const {
    assert_limit(limits.requests);
    assert_limit(limits.upload_bytes);
    const std::int64_t now = clock_.now_ms();
    TOLLGATE_ASSERT(now >= 0 && now <= kTimeMsMax);
    std::vector<std::string> args = {take ? "take" : "check", std::to_string(now)};
    for (const auto& [limit, items] : {std::pair{limits.requests, std::int64_t{1}},
                                       std::pair{limits.upload_bytes, upload_bytes}}) {
        args.push_back(std::to_string(limit.per_minute));
        args.push_back(std::to_string(limit.unlimited() ? 0 : limit.capacity()));
        args.push_back(std::to_string(limit.unlimited() ? 0 : items));
    }
    auto reply = client_.eval(rate_script(), {key(account_id)}, args);
    if (!reply.ok()) {
        warn(take ? "taking" : "checking", account_id, reply.error().message);
        return {};
    }
    const bool shaped = reply->type == store::redis::Reply::Type::Array &&
                        reply->elements.size() == 5 &&
                        reply->elements[0].type == store::redis::Reply::Type::Integer;
    const std::int64_t requests_wait = shaped ? reply_wait(*reply, 1) : -1;
    const std::int64_t bytes_wait = shaped ? reply_wait(*reply, 3) : -1;
    const bool allowed = shaped && reply->elements[0].integer == 1;
    if (requests_wait < 0 || bytes_wait < 0 || allowed != (requests_wait == 0 && bytes_wait == 0)) {
        warn(take ? "taking" : "checking", account_id, "the script's reply is malformed");
        return {};
    }
    return rate_after_waits(requests_wait, bytes_wait);
}

void RedisRateLimiter::warn(std::string_view what, const std::string& account_id,
                            const std::string& message) const {
    const std::int64_t now = clock_.now_ms();
    std::int64_t last = warned_ms_.load();
    if (now >= last && now - last < kRateWarnIntervalMs) return;
    if (!warned_ms_.compare_exchange_strong(last, now)) return;  // another thread logs it
    spdlog::warn("rate limits on the shared store: {} for account {} failed, so it is allowed: {}",
                 what, account_id, message);
}

}  // namespace tollgate::http
