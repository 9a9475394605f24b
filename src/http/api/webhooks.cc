// Webhook deliveries. Design notes:
// - The outbox row holds the event without result_url; each attempt adds a
//   freshly signed one, so a retried delivery never carries a dead link.
// - Attempts for one delivery are strictly sequential (one thread), and an
//   attempt is recorded only after its answer, so a crash mid-attempt means
//   that attempt happens again: at least once, never silently dropped.
// - No jitter on the backoff: deliveries go to many receivers, each with its
//   own schedule, and the clock stays injectable without a random source.
#include "http/api/webhooks.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/assert.h"
#include "core/hash.h"
#include "core/limits.h"
#include "http/api/json_mapping.h"
#include "http/client/address_policy.h"
#include "http/codec/url.h"

namespace tollgate::http {
namespace {

bool is_ip_literal(const std::string& host) {
    return host.find(':') != std::string::npos ||
           host.find_first_not_of("0123456789.") == std::string::npos;
}

}  // namespace

core::Status validate_webhook_url(std::string_view url, Reach reach) {
    auto parsed = parse_http_url(url, core::limits::kWebhookUrlBytesMax);
    if (!parsed.ok()) {
        return core::make_error("invalid_webhook_url", "webhook_url: " + parsed.error().message);
    }
    // An address literal is judged now; a name when each delivery resolves it.
    if (reach == Reach::PublicOnly && is_ip_literal(parsed->host) &&
        !is_public_address(parsed->host)) {
        return core::make_error("invalid_webhook_url",
                                "webhook_url: " + parsed->host_header() +
                                    " is not a public address (loopback, private, link-local "
                                    "or reserved)");
    }
    return {};
}

std::string webhook_signing_key(std::string_view webhook_secret, std::string_view account_id) {
    return core::hmac_sha256_hex(webhook_secret, account_id);
}

std::string webhook_signature_header(std::string_view key, std::int64_t t_s,
                                     std::string_view body) {
    std::string message = std::to_string(t_s);
    message += '.';
    message += body;
    return "t=" + std::to_string(t_s) + ",v1=" + core::hmac_sha256_hex(key, message);
}

std::int64_t webhook_backoff_ms(const WebhookPolicy& policy, int attempts_made) {
    TOLLGATE_ASSERT(attempts_made >= 1);
    std::int64_t wait = policy.backoff_initial_ms;
    for (int i = 1; i < attempts_made && wait < policy.backoff_max_ms; ++i) wait *= 2;
    return std::min(wait, policy.backoff_max_ms);
}

jobs::WebhookDelivery webhook_delivery(const jobs::Job& ended, jobs::JobState state,
                                       std::int64_t now_ms) {
    TOLLGATE_ASSERT(!ended.webhook_url.empty() && jobs::is_final(state));
    const bool succeeded = state == jobs::JobState::Succeeded;
    nlohmann::json event = {{"event", succeeded ? "job.succeeded" : "job.failed"},
                            {"job_id", ended.id},
                            {"account_id", ended.account_id},
                            {"state", jobs::to_string(state)},
                            {"workflow", ended.workflow},
                            {"tokens", ended.tokens},
                            {"tokens_charged", succeeded ? ended.tokens : 0},
                            {"created_ms", ended.created_ms},
                            {"finished_ms", ended.finished_ms}};
    if (!succeeded) event["failure_reason"] = ended.failure_reason;
    if (ended.dedupe_kind != jobs::DedupeKind::None) {
        event["dedupe"] = dedupe_to_json(ended.dedupe_kind, ended.dedupe_of, ended.dedupe_distance,
                                         ended.dedupe_reused);
    }
    jobs::WebhookDelivery delivery;
    delivery.job_id = ended.id;
    delivery.account_id = ended.account_id;
    delivery.url = ended.webhook_url;
    delivery.payload_json = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    delivery.next_attempt_ms = now_ms;
    delivery.created_ms = now_ms;
    return delivery;
}

core::Status queue_webhook(jobs::WebhookOutbox& outbox, const jobs::Job& ended,
                           jobs::JobState state, std::int64_t now_ms) {
    return outbox.enqueue(webhook_delivery(ended, state, now_ms));
}

WebhookDeliverer::WebhookDeliverer(jobs::WebhookOutbox& outbox, HttpClient& client,
                                   const ResultLinks& links, std::string webhook_secret,
                                   WebhookPolicy policy, const core::Clock& clock)
    : outbox_(outbox),
      client_(client),
      links_(links),
      secret_(std::move(webhook_secret)),
      policy_(policy),
      clock_(clock) {
    TOLLGATE_ASSERT(!secret_.empty());
    TOLLGATE_ASSERT(policy_.attempts_max >= 1 &&
                    policy_.attempts_max <= core::limits::kWebhookAttemptsMax);
    TOLLGATE_ASSERT(policy_.backoff_initial_ms >= 1 &&
                    policy_.backoff_initial_ms <= policy_.backoff_max_ms &&
                    policy_.backoff_max_ms <= core::limits::kWebhookBackoffMsMax);
}

core::Result<int> WebhookDeliverer::run_due(std::size_t limit) {
    auto due = outbox_.due(clock_.now_ms(), limit);
    if (!due.ok()) return due.error();
    int attempted = 0;
    for (const jobs::WebhookDelivery& delivery : *due) {
        core::Status s = attempt(delivery);
        if (!s.ok() && s.error().code == "webhook_not_pending") {
            // Several instances share a store: another one recorded this
            // delivery's attempt first (its claim ran out meanwhile).
            spdlog::info("webhook for job {}: recorded by another instance", delivery.job_id);
        } else if (!s.ok()) {
            return s.error();
        }
        ++attempted;
    }
    return attempted;
}

core::Status WebhookDeliverer::attempt(const jobs::WebhookDelivery& d) {
    // A row past attempts_max (the limit was lowered since) gets one last attempt.
    TOLLGATE_ASSERT(d.state == jobs::DeliveryState::Pending);
    jobs::DeliveryAttempt outcome;
    outcome.delivery_id = d.id;
    const int attempts_after = d.attempts + 1;

    auto url = parse_http_url(d.url, core::limits::kWebhookUrlBytesMax);
    nlohmann::json event = nlohmann::json::parse(d.payload_json, nullptr, false);
    if (!url.ok() || event.is_discarded() || !event.is_object()) {
        // Checked at admission and written by us: only a damaged row gets here.
        outcome.state_after = jobs::DeliveryState::Failed;
        outcome.error = url.ok() ? "stored event is not JSON" : url.error().message;
        outcome.at_ms = clock_.now_ms();
        spdlog::error("webhook for job {}: {}", d.job_id, outcome.error);
        return outbox_.record_attempt(outcome);
    }
    if (event.value("state", "") == "succeeded") event["result_url"] = links_.url_for(d.job_id);
    HttpPost post;
    post.url = std::move(url).value();
    post.body = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    post.timeout_ms = policy_.timeout_ms;
    const std::int64_t t_s = clock_.now_ms() / 1000;
    post.headers = {
        {"Tollgate-Signature",
         webhook_signature_header(webhook_signing_key(secret_, d.account_id), t_s, post.body)},
        {"Tollgate-Delivery", std::to_string(d.id) + "." + std::to_string(attempts_after)}};
    auto answer = client_.post(post);

    outcome.at_ms = clock_.now_ms();
    if (answer.ok()) {
        outcome.status = answer->status;
        if (answer->status >= 200 && answer->status <= 299) {
            outcome.state_after = jobs::DeliveryState::Delivered;
            spdlog::info("webhook for job {} delivered to {} (attempt {}, HTTP {})", d.job_id,
                         post.url.host_header(), attempts_after, answer->status);
            return outbox_.record_attempt(outcome);
        }
        outcome.error = "answered HTTP " + std::to_string(answer->status);
    } else {
        outcome.error = answer.error().code + ": " + answer.error().message;
    }
    // An address the gateway will not call does not become callable by waiting.
    const bool hopeless = !answer.ok() && answer.error().code == "http_forbidden_address";
    if (attempts_after >= policy_.attempts_max || hopeless) {
        outcome.state_after = jobs::DeliveryState::Failed;
        spdlog::warn("webhook for job {} failed after {} attempts: {}", d.job_id, attempts_after,
                     outcome.error);
    } else {
        outcome.state_after = jobs::DeliveryState::Pending;
        outcome.next_attempt_ms = outcome.at_ms + webhook_backoff_ms(policy_, attempts_after);
        spdlog::info("webhook for job {}: attempt {} failed ({}), next in {} ms", d.job_id,
                     attempts_after, outcome.error, outcome.next_attempt_ms - outcome.at_ms);
    }
    return outbox_.record_attempt(outcome);
}

WebhookWorker::WebhookWorker(WebhookDeliverer& deliverer, const core::Clock& clock,
                             std::int64_t idle_wait_ms)
    : deliverer_(deliverer), clock_(clock), idle_wait_ms_(idle_wait_ms) {}

WebhookWorker::~WebhookWorker() { stop(); }

void WebhookWorker::start() {
    TOLLGATE_ASSERT(!thread_.joinable());
    thread_ = std::thread([this] { loop(); });
}

void WebhookWorker::wake() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        woken_ = true;
    }
    cv_.notify_all();
}

void WebhookWorker::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void WebhookWorker::loop() {
    const auto batch = static_cast<std::size_t>(core::limits::kWebhookBatchMax);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
        woken_ = false;
        lock.unlock();
        std::int64_t wait_ms = idle_wait_ms_;
        auto ran = deliverer_.run_due(batch);
        if (!ran.ok()) {
            spdlog::error("webhook deliveries: {}", ran.error().message);
        } else if (static_cast<std::size_t>(*ran) == batch) {
            wait_ms = 0;  // more may be due
        } else if (auto next = deliverer_.next_due_ms(); next.ok() && next->has_value()) {
            wait_ms = std::clamp(**next - clock_.now_ms(), std::int64_t{0}, idle_wait_ms_);
        }
        lock.lock();
        cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                     [this] { return stopping_ || woken_; });
    }
}

}  // namespace tollgate::http
