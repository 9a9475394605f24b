// Who may call a /v1 route, and how often: API key authentication, scopes,
// and the per-account rate limits.
//
// The key is looked up by the SHA-256 of the secret (ledger::find_api_key),
// so no code compares secrets byte by byte. Refusals are logged by key id and
// account, never by secret. Rate limits come from [rate_limits], or from the
// plans of the account's active subscriptions when the book gives any plan
// limits of its own; the subscription read is skipped otherwise, so a gateway
// without limits pays nothing for them. Both reads go through the
// AccessCache ([server] access_cache_ms), so a steady caller takes no store
// lock for them.
#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/redact.h"
#include "http/api/api.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"
#include "pricing/plans.h"

namespace tollgate::http {
namespace {

// The refusal for a decision of the limiter, or nullopt when it allowed.
std::optional<Response> refusal(const RateDecision& d, std::int64_t upload_bytes) {
    switch (d.verdict) {
        case RateVerdict::Allowed:
            return std::nullopt;
        case RateVerdict::TooLarge:
            return error_response("payload_too_large",
                                  "the body of " + std::to_string(upload_bytes) +
                                      " bytes is larger than this account's upload burst of " +
                                      std::to_string(d.burst) + " bytes");
        case RateVerdict::Limited:
            break;
    }
    const std::string what = d.limit == "requests_per_minute" ? "request rate" : "upload rate";
    Response r = retry_later("rate_limited",
                             "this account is over its " + what + " limit; retry after " +
                                 std::to_string(d.retry_after_s) + " s",
                             d.retry_after_s);
    nlohmann::json body = nlohmann::json::parse(r.body);
    body["error"]["limit"] = d.limit;
    body["error"]["retry_after_s"] = d.retry_after_s;
    r.body = body.dump();
    return r;
}

// The declared Content-Length; nullopt when absent or not a number.
std::optional<std::int64_t> content_length(const Request& head) {
    const std::string& text = head.header("content-length");
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n < 0) {
        return std::nullopt;
    }
    return n;
}

}  // namespace

std::variant<Caller, Response> Api::authenticate(const Request& request) {
    const std::string secret = bearer_token(request);
    if (secret.empty()) {
        return error_response("unauthorized", "send 'Authorization: Bearer <api key>'");
    }
    auto key = service_.plans().access().find_api_key(secret);
    if (!key.ok()) return error_response(key.error());
    if (!key->has_value()) {
        spdlog::debug("auth: unknown API key on {} {} from {}", request.method, log_path(request),
                      request.remote_address);
        return error_response("unauthorized", "unknown API key");
    }
    const ledger::ApiKeyInfo& info = **key;
    switch (info.state_at(clock_.now_ms())) {
        case ledger::ApiKeyState::Revoked:
            spdlog::info("auth: revoked key {} of account {} used on {} {} from {}", info.id,
                         info.account_id, request.method, log_path(request),
                         request.remote_address);
            return error_response("unauthorized", "this API key was revoked");
        case ledger::ApiKeyState::Expired:
            spdlog::info("auth: expired key {} of account {} used on {} {} from {}", info.id,
                         info.account_id, request.method, log_path(request),
                         request.remote_address);
            return error_response("unauthorized", "this API key has expired");
        case ledger::ApiKeyState::Active:
            break;
    }
    return Caller{info.account_id, info.id, info.scopes};
}

core::Result<AccountLimits> Api::limits_for(const std::string& account_id) {
    pricing::RateLimits limits = options_.rate_limits;
    auto book = service_.books().current();
    if (book->any_plan_rate_limits()) {
        auto subs = service_.plans().access().subscriptions(account_id);
        if (!subs.ok()) return subs.error();
        std::vector<const pricing::Plan*> plans;
        for (const ledger::Subscription& sub : *subs) {
            if (sub.cancelled_ms) continue;
            if (const pricing::Plan* plan = book->find_plan(sub.plan)) plans.push_back(plan);
        }
        limits = pricing::account_rate_limits(options_.rate_limits, plans);
    }
    return AccountLimits{{limits.requests_per_minute, limits.burst_requests},
                         {limits.upload_bytes_per_minute, limits.burst_upload_bytes}};
}

std::optional<Response> Api::take_rate(const Caller& caller, const Request& request,
                                       std::int64_t upload_bytes) {
    auto limits = limits_for(caller.account_id);
    if (!limits.ok()) return error_response(limits.error());
    if (limits->unlimited()) return std::nullopt;
    const RateDecision d = limiter_.take(caller.account_id, *limits, upload_bytes);
    if (d.verdict != RateVerdict::Allowed) {
        spdlog::debug("rate limit: key {} of account {} refused on {} {} ({}, {} bytes)",
                      caller.key_id, caller.account_id, request.method, log_path(request), d.limit,
                      upload_bytes);
    }
    return refusal(d, upload_bytes);
}

std::optional<Response> Api::screen_head(const Request& head) {
    // Only a /v1 upload with a declared length is worth a look, and only when
    // some upload limit may apply; anything else is decided by handle().
    if (head.path.rfind("/v1/", 0) != 0 || head.path.rfind("/v1/results/", 0) == 0) {
        return std::nullopt;
    }
    const std::optional<std::int64_t> length = content_length(head);
    if (!length || *length == 0) return std::nullopt;
    if (options_.rate_limits.upload_bytes_per_minute == 0 &&
        !service_.books().current()->any_plan_rate_limits()) {
        return std::nullopt;
    }
    auto authenticated = authenticate(head);
    // A bad key is refused now too: there is no point reading its upload.
    if (Response* refused = std::get_if<Response>(&authenticated)) {
        return refused->status == 401 ? std::optional<Response>(std::move(*refused)) : std::nullopt;
    }
    const Caller& caller = std::get<Caller>(authenticated);
    auto limits = limits_for(caller.account_id);
    if (!limits.ok() || limits->upload_bytes.unlimited()) return std::nullopt;
    // Only the upload bucket: the request bucket is taken once, by handle().
    const RateDecision d =
        limiter_.check(caller.account_id, {BucketLimit{}, limits->upload_bytes}, *length);
    if (d.verdict != RateVerdict::Allowed) {
        spdlog::debug("rate limit: key {} of account {} refused before its {} bytes arrived",
                      caller.key_id, caller.account_id, *length);
    }
    return refusal(d, *length);
}

}  // namespace tollgate::http
