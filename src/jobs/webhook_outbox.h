// The outbox of webhook deliveries: one row per finished job that named a
// webhook_url, written in the same transaction that settles the job, so a
// job never ends without its delivery queued and a delivery never exists for
// a job that did not end. A delivery is pending until an attempt is answered
// 2xx (delivered) or its attempts run out (failed); both are final.
//
// Implementations are thread-safe and join an open storage transaction.
// Exactly one deliverer works through the due rows of a database (the
// gateway runs one thread for it), so rows are not claimed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::jobs {

enum class DeliveryState { Pending, Delivered, Failed };

std::string_view to_string(DeliveryState state);
std::optional<DeliveryState> parse_delivery_state(std::string_view text);

struct WebhookDelivery {
    std::int64_t id = 0;  // assigned by enqueue()
    std::string job_id;
    std::string account_id;
    std::string url;
    // The event as JSON, without result_url: a fresh one is signed at each
    // attempt, so the link a receiver gets is valid for the full TTL.
    std::string payload_json;
    DeliveryState state = DeliveryState::Pending;
    int attempts = 0;  // attempts made so far
    std::int64_t next_attempt_ms = 0;
    int last_status = 0;     // HTTP status of the last answer; 0 when there was none
    std::string last_error;  // why the last attempt failed; empty after a 2xx
    std::int64_t created_ms = 0;
    std::int64_t finished_ms = 0;  // when it became delivered or failed; 0 while pending
};

// The result of one attempt, as record_attempt() stores it.
struct DeliveryAttempt {
    std::int64_t delivery_id = 0;
    DeliveryState state_after = DeliveryState::Pending;  // Pending: try again later
    std::int64_t next_attempt_ms = 0;                    // when Pending
    int status = 0;
    std::string error;
    std::int64_t at_ms = 0;
};

class WebhookOutbox {
  public:
    virtual ~WebhookOutbox() = default;
    // Queues a pending delivery, due at its next_attempt_ms. Error
    // "webhook_exists" when the job already has one (a job ends once).
    virtual core::Status enqueue(const WebhookDelivery& delivery) = 0;
    // Pending deliveries due at `now_ms`, the earliest due first, at most `limit`.
    virtual core::Result<std::vector<WebhookDelivery>> due(std::int64_t now_ms,
                                                           std::size_t limit) = 0;
    // When the earliest pending delivery is due; nullopt when none is pending.
    virtual core::Result<std::optional<std::int64_t>> next_due_ms() = 0;
    // Counts one more attempt on a pending delivery and stores its outcome.
    // Error "webhook_not_pending" when the delivery is unknown or final.
    virtual core::Status record_attempt(const DeliveryAttempt& attempt) = 0;
    virtual core::Result<std::optional<WebhookDelivery>> for_job(const std::string& job_id) = 0;
};

}  // namespace tollgate::jobs
