// Webhook deliveries in Redis, for the shared store. A delivery lives in its
// job's account shard, so the script that ends a job also queues its
// delivery in the same atomic step (redis_settlement.cc). With the prefix P,
// the account a and its shard's tag {sN}:
//   P{sN}:a:webhook:<job id>  hash: the delivery
//   P{sN}:webhooks_due        sorted set: "<account>\t<job id>" of the
//                             shard's pending deliveries, by next attempt
//   P{sN}:webhook_ids         hash: delivery id -> "<account>\t<job id>"
//   P{sN}:webhook_seq         string: the shard's last delivery number
// A delivery id is its shard's number times kRedisShards plus the shard, so
// record_attempt() finds the shard from the id alone.
//
// Several instances deliver from one store, so due() claims what it returns:
// each delivery's next attempt moves kWebhookClaimMs ahead, and another
// instance sees it again only if this one has not recorded an attempt by
// then (it died mid-delivery). A delivery is therefore made at least once,
// as webhooks always are; receivers tell repeats apart by the job id.
#pragma once

#include <memory>
#include <string>

#include "jobs/redis/redis_job_store.h"
#include "jobs/webhook_outbox.h"
#include "store/redis/redis_client.h"

namespace tollgate::jobs {

// How long a delivery due() returned stays claimed by the instance making it.
inline constexpr std::int64_t kWebhookClaimMs = 60'000;

// The fields of a new delivery's hash, flat ({name, value, ...}), for the
// Lua function webhook_enqueue (redis_job_lua.h).
std::vector<std::string> webhook_fields(const WebhookDelivery& delivery);

class RedisWebhookOutbox final : public WebhookOutbox {
  public:
    RedisWebhookOutbox(store::redis::Client& client, RedisJobStore& jobs, std::string prefix)
        : client_(client), jobs_(jobs), prefix_(std::move(prefix)) {}

    core::Status enqueue(const WebhookDelivery& delivery) override;
    core::Result<std::vector<WebhookDelivery>> due(std::int64_t now_ms, std::size_t limit) override;
    core::Result<std::optional<std::int64_t>> next_due_ms() override;
    core::Status record_attempt(const DeliveryAttempt& attempt) override;
    core::Result<std::optional<WebhookDelivery>> for_job(const std::string& job_id) override;

  private:
    core::Result<std::optional<WebhookDelivery>> read(const std::string& account_id,
                                                      const std::string& job_id);

    store::redis::Client& client_;
    RedisJobStore& jobs_;
    std::string prefix_;
};

}  // namespace tollgate::jobs
