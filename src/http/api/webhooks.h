// Webhooks: a job that names a webhook_url gets its end (succeeded or
// failed) POSTed there, signed, at least once.
//
// The path of one delivery: JobService queues it in the outbox
// (jobs/webhook_outbox.h) inside the transaction that settles the job; the
// WebhookWorker thread asks WebhookDeliverer to send what is due; a 2xx
// answer marks it delivered, anything else (an error status, a refused
// connection, a timeout) schedules another attempt after an exponential
// backoff, and after attempts_max attempts it is marked failed. Pending rows
// survive a restart and are sent by the next run. A receiver may see one
// event more than once (an answer lost after it was processed), so it should
// deduplicate on job_id.
//
// Signature: each POST carries
//   Tollgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>
// where key is the account's webhook signing key: the 64 hex characters of
// HMAC-SHA256(webhook secret, account_id), used as an ASCII string. Each
// account sees only its own key (GET /v1/account), so one account cannot
// sign events for another's receiver.
//
// WebhookDeliverer is plain C++ over the outbox, the HttpClient interface and
// an injected clock. WebhookWorker owns the one thread that drives it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.h"
#include "core/result.h"
#include "http/api/result_links.h"
#include "http/client/http_client.h"
#include "jobs/job.h"
#include "jobs/webhook_outbox.h"

namespace tollgate::http {

struct WebhookPolicy {
    int attempts_max = 8;                    // 1 .. kWebhookAttemptsMax
    std::int64_t backoff_initial_ms = 1000;  // wait after the first failed attempt
    std::int64_t backoff_max_ms = 600'000;   // the wait doubles up to this
    int timeout_ms = 10'000;                 // one attempt, connect to answer
};

// Checks a client's webhook_url: an http:// URL with a host, at most
// kWebhookUrlBytesMax bytes, and under Reach::PublicOnly not an address
// literal that is_public_address() refuses (names are judged when each
// delivery resolves them). Error "invalid_webhook_url".
core::Status validate_webhook_url(std::string_view url, Reach reach);

// The account's signing key (lowercase hex), from the gateway's webhook secret.
std::string webhook_signing_key(std::string_view webhook_secret, std::string_view account_id);

// "t=<t_s>,v1=<hex HMAC-SHA256(key, "<t_s>.<body>")>".
std::string webhook_signature_header(std::string_view key, std::int64_t t_s, std::string_view body);

// The wait before attempt number `attempts_made + 1`: backoff_initial_ms
// doubled per earlier failure, at most backoff_max_ms.
std::int64_t webhook_backoff_ms(const WebhookPolicy& policy, int attempts_made);

// The delivery of `ended`'s end event (state `state`) to its webhook_url,
// due at now_ms.
jobs::WebhookDelivery webhook_delivery(const jobs::Job& ended, jobs::JobState state,
                                       std::int64_t now_ms);
// Queues that delivery. Call inside the transaction that settles the job.
core::Status queue_webhook(jobs::WebhookOutbox& outbox, const jobs::Job& ended,
                           jobs::JobState state, std::int64_t now_ms);

class WebhookDeliverer {
  public:
    WebhookDeliverer(jobs::WebhookOutbox& outbox, HttpClient& client, const ResultLinks& links,
                     std::string webhook_secret, WebhookPolicy policy, const core::Clock& clock);

    // Makes one attempt at every delivery due now (at most `limit`) and
    // records each outcome. Returns how many attempts were made.
    core::Result<int> run_due(std::size_t limit);

    // When the next pending delivery is due; nullopt when none is pending.
    core::Result<std::optional<std::int64_t>> next_due_ms() { return outbox_.next_due_ms(); }

  private:
    core::Status attempt(const jobs::WebhookDelivery& delivery);

    jobs::WebhookOutbox& outbox_;
    HttpClient& client_;
    const ResultLinks& links_;
    std::string secret_;
    WebhookPolicy policy_;
    const core::Clock& clock_;
};

// The delivery thread: runs the deliverer whenever something is due, sleeping
// until the next due time (at most idle_wait_ms, so deliveries queued by
// another process or a clock change are noticed) or until wake().
class WebhookWorker {
  public:
    WebhookWorker(WebhookDeliverer& deliverer, const core::Clock& clock,
                  std::int64_t idle_wait_ms = 1000);
    ~WebhookWorker();
    WebhookWorker(const WebhookWorker&) = delete;
    WebhookWorker& operator=(const WebhookWorker&) = delete;
    void start();
    // Looks for due deliveries now (after a job settles). Any thread.
    void wake();
    // Finishes the attempt in progress, then joins. Idempotent.
    void stop();

  private:
    void loop();

    WebhookDeliverer& deliverer_;
    const core::Clock& clock_;
    std::int64_t idle_wait_ms_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool woken_ = false;
    std::thread thread_;
};

}  // namespace tollgate::http
