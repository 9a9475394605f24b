// Job ownership on Redis (see redis_ownership.h).
#include "jobs/redis/redis_ownership.h"

#include <spdlog/spdlog.h>

#include "core/assert.h"
#include "core/floor_div.h"

namespace tollgate::jobs {

RedisOwnership::RedisOwnership(store::redis::Client& client, std::string prefix,
                               std::string instance_id, std::int64_t lease_ms)
    : client_(client),
      prefix_(std::move(prefix)),
      me_(std::move(instance_id)),
      lease_ms_(lease_ms) {}

core::Result<std::unique_ptr<RedisOwnership>> RedisOwnership::start(store::redis::Client& client,
                                                                    std::string prefix,
                                                                    std::string instance_id,
                                                                    std::int64_t lease_ms) {
    if (lease_ms < kLeaseMsMin || lease_ms > kLeaseMsMax)
        return core::make_error("invalid_lease", "the lease must last 1 s to 10 min");
    if (instance_id.empty() || instance_id.find_first_of("{}") != std::string::npos)
        return core::make_error("invalid_instance", "an instance id is needed, without braces");
    std::unique_ptr<RedisOwnership> o(
        new RedisOwnership(client, std::move(prefix), std::move(instance_id), lease_ms));
    if (core::Status s = o->renew(); !s.ok()) return s.error();
    o->thread_ = std::thread([raw = o.get()] { raw->heartbeat(); });
    return o;
}

RedisOwnership::~RedisOwnership() { stop_renewing(); }

void RedisOwnership::stop_renewing() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

core::Status RedisOwnership::renew() {
    const std::string lease = key("lease:" + me_);
    auto r = client_.command(lease, {"SET", lease, "1", "PX", std::to_string(lease_ms_)});
    if (!r.ok()) return r.error();
    const std::string instances = key("instances");
    auto added = client_.command(instances, {"SADD", instances, me_});
    if (!added.ok()) return added.error();
    return {};
}

void RedisOwnership::heartbeat() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        cv_.wait_for(lock, std::chrono::milliseconds(lease_ms_ / 3), [this] { return stopping_; });
        if (stopping_) break;
        lock.unlock();
        if (core::Status s = renew(); !s.ok())
            spdlog::error("cannot renew this instance's lease: {}", s.error().message);
        lock.lock();
    }
}

core::Status RedisOwnership::own(const std::string& job_id) {
    const std::string follows = key("follows:" + me_);
    auto r = client_.command(follows, {"SADD", follows, job_id});
    if (!r.ok()) return r.error();
    return {};
}

void RedisOwnership::release(const std::string& job_id) {
    const std::string follows = key("follows:" + me_);
    auto r = client_.command(follows, {"SREM", follows, job_id});
    if (!r.ok()) spdlog::warn("job {}: cannot release ownership: {}", job_id, r.error().message);
}

core::Result<std::vector<std::string>> RedisOwnership::take_orphans(std::size_t limit) {
    // Moves up to ARGV[3] jobs of every instance whose lease ran out (and,
    // when ARGV[4] is 1, every job of this instance's previous run, which is
    // its own set now) to this instance, and returns them.
    static const store::redis::Script script(R"lua(
local base, me, limit, own = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local mine = base .. 'follows:' .. me
local out = {}
if own then
  for _, job in ipairs(redis.call('SMEMBERS', mine)) do
    if #out >= limit then break end
    out[#out + 1] = job
  end
end
for _, id in ipairs(redis.call('SMEMBERS', base .. 'instances')) do
  if #out >= limit then break end
  if id ~= me and redis.call('EXISTS', base .. 'lease:' .. id) == 0 then
    local theirs = base .. 'follows:' .. id
    for _, job in ipairs(redis.call('SMEMBERS', theirs)) do
      if #out >= limit then break end
      redis.call('SMOVE', theirs, mine, job)
      out[#out + 1] = job
    end
    if redis.call('SCARD', theirs) == 0 then redis.call('SREM', base .. 'instances', id) end
  end
end
return out
)lua");
    const bool own = !took_own_.exchange(true);
    auto r = client_.eval(script, {key("instances")},
                          {prefix_ + "{leases}:", me_, std::to_string(limit), own ? "1" : "0"});
    if (!r.ok()) {
        if (own) took_own_ = false;
        return r.error();
    }
    std::vector<std::string> out;
    for (const store::redis::Reply& job : r->elements) out.push_back(job.text);
    return out;
}

core::Result<std::string> RedisOwnership::try_lock(const std::string& name, std::int64_t ttl_ms) {
    TOLLGATE_ASSERT(!name.empty() && ttl_ms > 0 && ttl_ms <= kLeaseMsMax);
    const std::string lock = prefix_ + "lock:" + name;
    // Unique per call, so a holder whose lock ran out cannot free the next one's.
    const std::string token = me_ + ":" + std::to_string(++locks_taken_);
    auto r = client_.command(lock, {"SET", lock, token, "NX", "PX", std::to_string(ttl_ms)});
    if (!r.ok()) return r.error();
    return r->is_nil() ? std::string() : token;
}

void RedisOwnership::unlock(const std::string& name, const std::string& token) {
    TOLLGATE_ASSERT(!token.empty());
    static const store::redis::Script script(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");
    const std::string lock = prefix_ + "lock:" + name;
    auto r = client_.eval(script, {lock}, {token});
    if (!r.ok()) spdlog::warn("cannot free lock {}: {}", name, r.error().message);
}

core::Result<bool> RedisOwnership::take_tenant_slot(const std::string& tenant,
                                                    const std::string& job_id, int limit,
                                                    std::int64_t ttl_ms) {
    TOLLGATE_ASSERT(!tenant.empty() && !job_id.empty() && limit > 0);
    TOLLGATE_ASSERT(ttl_ms > 0 && ttl_ms <= core::kSecondsPerDay * 1000);
    // Slots run out by Redis's clock, so instances' clocks need not agree.
    // Returns 1 when the job holds a slot now, 0 when `limit` are taken.
    static const store::redis::Script script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local job, limit, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], job) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, job)
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
)lua");
    auto r = client_.eval(script, {tenant_key(tenant)},
                          {job_id, std::to_string(limit), std::to_string(ttl_ms)});
    if (!r.ok()) return r.error();
    TOLLGATE_ASSERT(r->type == store::redis::Reply::Type::Integer);
    return r->integer == 1;
}

void RedisOwnership::release_tenant_slot(const std::string& tenant, const std::string& job_id) {
    TOLLGATE_ASSERT(!tenant.empty() && !job_id.empty());
    const std::string slots = tenant_key(tenant);
    auto r = client_.command(slots, {"ZREM", slots, job_id});
    if (!r.ok()) spdlog::warn("job {}: cannot free its tenant slot: {}", job_id, r.error().message);
}

}  // namespace tollgate::jobs
