// The webhook outbox in the shared SQLite file (table `webhook_deliveries`,
// next to `jobs`). Joins an open transaction, so a delivery is queued in the
// transaction that settles its job.
#pragma once

#include <memory>

#include "jobs/webhook_outbox.h"
#include "store/sqlite.h"

namespace tollgate::jobs {

class SqliteWebhookOutbox final : public WebhookOutbox {
  public:
    // Creates the table if needed; open the job store first (deliveries
    // reference jobs).
    static core::Result<std::unique_ptr<SqliteWebhookOutbox>> open(store::Database& db);
    core::Status enqueue(const WebhookDelivery& delivery) override;
    core::Result<std::vector<WebhookDelivery>> due(std::int64_t now_ms, std::size_t limit) override;
    core::Result<std::optional<std::int64_t>> next_due_ms() override;
    core::Status record_attempt(const DeliveryAttempt& attempt) override;
    core::Result<std::optional<WebhookDelivery>> for_job(const std::string& job_id) override;

  private:
    explicit SqliteWebhookOutbox(store::Database& db) : db_(db) {}
    store::Database& db_;
};

}  // namespace tollgate::jobs
