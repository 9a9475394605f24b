// Webhook deliveries in Redis (see redis_webhook_outbox.h).
#include "jobs/redis/redis_webhook_outbox.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "core/assert.h"
#include "jobs/redis/redis_job_lua.h"
#include "store/redis/redis_keys.h"
#include "store/redis/redis_text.h"

namespace tollgate::jobs {

using store::redis::Reply;

namespace {

// webhook_enqueue numbers deliveries n * 64 + shard.
static_assert(store::redis::kRedisShards == 64);

using store::redis::stored_int64;
using store::redis::stored_member;

WebhookDelivery delivery_from(const Reply& flat) {
    std::map<std::string, std::string> f;
    for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
        f[flat.elements[i].text] = flat.elements[i + 1].text;
    WebhookDelivery d;
    d.id = stored_int64(f["id"]);
    d.job_id = f["job_id"];
    d.account_id = f["account_id"];
    d.url = f["url"];
    d.payload_json = f["payload_json"];
    auto state = parse_delivery_state(f["state"]);
    TOLLGATE_ASSERT(state.has_value());
    d.state = *state;
    d.attempts = static_cast<int>(stored_int64(f["attempts"]));
    d.next_attempt_ms = stored_int64(f["next_attempt_ms"]);
    d.last_status = static_cast<int>(stored_int64(f["last_status"]));
    d.last_error = f["last_error"];
    d.created_ms = stored_int64(f["created_ms"]);
    d.finished_ms = stored_int64(f["finished_ms"]);
    return d;
}
}  // namespace

std::vector<std::string> webhook_fields(const WebhookDelivery& d) {
    return {"job_id",
            d.job_id,
            "account_id",
            d.account_id,
            "url",
            d.url,
            "payload_json",
            d.payload_json,
            "state",
            "pending",
            "attempts",
            "0",
            "next_attempt_ms",
            std::to_string(d.next_attempt_ms),
            "last_status",
            "0",
            "last_error",
            "",
            "created_ms",
            std::to_string(d.created_ms),
            "finished_ms",
            "0"};
}

core::Status RedisWebhookOutbox::enqueue(const WebhookDelivery& d) {
    TOLLGATE_ASSERT(d.state == DeliveryState::Pending && d.attempts == 0 && !d.url.empty());
    static const store::redis::Script script(std::string(redis_lua::jobs_prelude()) + R"lua(
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
return webhook_enqueue(ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], fields)
)lua");
    const int shard = store::redis::shard_of(d.account_id);
    const std::string abase = store::redis::account_base(prefix_, d.account_id);
    std::vector<std::string> args = {abase, store::redis::shard_base(prefix_, shard), d.account_id,
                                     std::to_string(shard), d.job_id};
    for (std::string& f : webhook_fields(d)) args.push_back(std::move(f));
    auto r = client_.eval(script, {abase + "webhook:" + d.job_id}, args);
    if (!r.ok()) return r.error();
    if (r->text == "exists")
        return core::make_error("webhook_exists", "job " + d.job_id + " has a delivery");
    return {};
}

core::Result<std::vector<WebhookDelivery>> RedisWebhookOutbox::due(std::int64_t now_ms,
                                                                   std::size_t limit) {
    // Claims, in one step per shard, the shard's due deliveries (earliest
    // first, at most `limit`): each moves kWebhookClaimMs ahead.
    static const store::redis::Script claim(R"lua(
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[3], member)
  out[#out + 1] = member
end
return out
)lua");
    std::vector<WebhookDelivery> out;
    if (limit == 0) return out;
    const std::string claimed_until = std::to_string(now_ms + kWebhookClaimMs);
    // Shard by shard, claiming only what is still wanted, so nothing is
    // claimed and left waiting; a busy shard is served first, then the next.
    for (int shard = 0; shard < store::redis::kRedisShards && out.size() < limit; ++shard) {
        const std::string due_key = store::redis::shard_base(prefix_, shard) + "webhooks_due";
        auto members = client_.eval(
            claim, {due_key},
            {std::to_string(now_ms), std::to_string(limit - out.size()), claimed_until});
        if (!members.ok()) return members.error();
        for (const Reply& m : members->elements) {
            auto [account, job] = stored_member(m.text);
            auto d = read(account, job);
            if (!d.ok()) return d.error();
            if (d->has_value() && (*d)->state == DeliveryState::Pending) {
                out.push_back(std::move(**d));
            } else {
                (void)client_.command(due_key, {"ZREM", due_key, m.text});  // stale
            }
        }
    }
    std::sort(out.begin(), out.end(), [](const WebhookDelivery& a, const WebhookDelivery& b) {
        return std::tie(a.next_attempt_ms, a.id) < std::tie(b.next_attempt_ms, b.id);
    });
    TOLLGATE_ASSERT(out.size() <= limit);
    return out;
}

core::Result<std::optional<std::int64_t>> RedisWebhookOutbox::next_due_ms() {
    std::optional<std::int64_t> out;
    for (int shard = 0; shard < store::redis::kRedisShards; ++shard) {
        const std::string due_key = store::redis::shard_base(prefix_, shard) + "webhooks_due";
        auto first = client_.command(due_key, {"ZRANGE", due_key, "0", "0", "WITHSCORES"});
        if (!first.ok()) return first.error();
        if (first->elements.size() == 2) {
            const std::int64_t at = stored_int64(first->elements[1].text);
            if (!out || at < *out) out = at;
        }
    }
    return out;
}

core::Status RedisWebhookOutbox::record_attempt(const DeliveryAttempt& a) {
    TOLLGATE_ASSERT(a.at_ms > 0);
    const bool final = a.state_after != DeliveryState::Pending;
    static const store::redis::Script script(R"lua(
local ref = redis.call('HGET', KEYS[1], ARGV[1])
if not ref then return 'not_pending' end
local tab = string.find(ref, '\t', 1, true)
local key = ARGV[2] .. '{' .. ARGV[3] .. '}:' .. string.sub(ref, 1, tab - 1) .. ':webhook:' ..
            string.sub(ref, tab + 1)
if redis.call('HGET', key, 'state') ~= 'pending' then return 'not_pending' end
redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'state', ARGV[4], 'next_attempt_ms', ARGV[5], 'last_status', ARGV[6],
           'last_error', ARGV[7], 'finished_ms', ARGV[8])
if ARGV[4] == 'pending' then redis.call('ZADD', KEYS[2], ARGV[5], ref)
else redis.call('ZREM', KEYS[2], ref) end
return 'ok'
)lua");
    if (a.delivery_id <= 0) return core::make_error("webhook_not_pending", "no such delivery");
    const int shard = static_cast<int>(a.delivery_id % store::redis::kRedisShards);
    const std::string sbase = store::redis::shard_base(prefix_, shard);
    auto r = client_.eval(
        script, {sbase + "webhook_ids", sbase + "webhooks_due"},
        {std::to_string(a.delivery_id), prefix_, "s" + std::to_string(shard),
         std::string(to_string(a.state_after)), std::to_string(final ? a.at_ms : a.next_attempt_ms),
         std::to_string(a.status), a.error, std::to_string(final ? a.at_ms : 0)});
    if (!r.ok()) return r.error();
    if (r->text != "ok") {
        return core::make_error("webhook_not_pending", "delivery " + std::to_string(a.delivery_id) +
                                                           " is unknown or already final");
    }
    return {};
}

core::Result<std::optional<WebhookDelivery>> RedisWebhookOutbox::read(const std::string& account_id,
                                                                      const std::string& job_id) {
    const std::string key = store::redis::account_base(prefix_, account_id) + "webhook:" + job_id;
    auto r = client_.command(key, {"HGETALL", key});
    if (!r.ok()) return r.error();
    if (r->elements.empty()) return std::optional<WebhookDelivery>();
    return std::optional<WebhookDelivery>(delivery_from(*r));
}

core::Result<std::optional<WebhookDelivery>> RedisWebhookOutbox::for_job(
    const std::string& job_id) {
    auto account = jobs_.job_account(job_id);
    if (!account.ok()) return account.error();
    if (!account->has_value()) return std::optional<WebhookDelivery>();
    return read(**account, job_id);
}

}  // namespace tollgate::jobs
