// Fuzz target: the JSON request-body parsers of src/http/api/json_requests.h.
//
// The whole input is the body, fed to every parser. Checks: each failure
// has one of its documented codes; each success meets its documented ranges;
// every integer read is exactly the number the body holds (compared as
// text, so a value that wrapped or was rounded is caught); and a request
// written back as JSON parses to the same request.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/limits.h"
#include "fuzz/fuzz_input.h"
#include "http/api/json_requests.h"

namespace {

using namespace tollgate;
using json = nlohmann::json;

constexpr std::size_t kInputBytesMax = core::limits::kJsonBodyBytesMax + 16;

bool code_is(const core::Error& error, std::initializer_list<std::string_view> allowed) {
    for (std::string_view code : allowed) {
        if (error.code == code) return true;
    }
    return error.code == "payload_too_large" || error.code == "invalid_json";
}

// The body's own text for the integer at `field` equals `value`.
void check_exact(const json& body, const char* field, std::optional<std::int64_t> value) {
    const auto it = body.find(field);
    if (it == body.end()) {
        TOLLGATE_ASSERT(!value.has_value());
        return;
    }
    TOLLGATE_ASSERT(value.has_value() && it->dump() == std::to_string(*value));
}

json optional_field(const std::optional<std::int64_t>& value) {
    return value ? json(*value) : json();
}

void check_grant(std::string_view body, const json& parsed) {
    const auto grant = http::parse_grant_request(body);
    if (!grant.ok()) {
        TOLLGATE_ASSERT(
            code_is(grant.error(), {"invalid_tokens", "invalid_reason", "invalid_grant"}));
        return;
    }
    check_exact(parsed, "tokens", grant->tokens);
    check_exact(parsed, "expires_in_days", grant->expires_in_days);
    check_exact(parsed, "priority", grant->priority);
    if (grant->expires_in_days) {
        TOLLGATE_ASSERT(*grant->expires_in_days >= 0 &&
                        *grant->expires_in_days <= http::kGrantExpiryDaysMax);
    }
    if (grant->priority) {
        TOLLGATE_ASSERT(*grant->priority >= -http::kGrantPriorityAbsMax &&
                        *grant->priority <= http::kGrantPriorityAbsMax);
    }
    json out = {{"tokens", grant->tokens}, {"reason", grant->reason}, {"key", grant->key}};
    if (grant->expires_in_days) out["expires_in_days"] = *grant->expires_in_days;
    if (grant->priority) out["priority"] = *grant->priority;
    const auto again = http::parse_grant_request(out.dump());
    TOLLGATE_ASSERT(again.ok() && again->tokens == grant->tokens);
    TOLLGATE_ASSERT(again->reason == grant->reason && again->key == grant->key);
    TOLLGATE_ASSERT(again->expires_in_days == grant->expires_in_days);
    TOLLGATE_ASSERT(again->priority == grant->priority);
}

void check_adjustment(std::string_view body, const json& parsed) {
    const auto adjustment = http::parse_adjustment_request(body);
    if (!adjustment.ok()) {
        TOLLGATE_ASSERT(
            code_is(adjustment.error(), {"invalid_tokens", "invalid_reason", "invalid_key"}));
        return;
    }
    check_exact(parsed, "tokens", adjustment->tokens);
    TOLLGATE_ASSERT(adjustment->tokens != 0 && !adjustment->reason.empty());
    const json out = {
        {"tokens", adjustment->tokens}, {"reason", adjustment->reason}, {"key", adjustment->key}};
    const auto again = http::parse_adjustment_request(out.dump());
    TOLLGATE_ASSERT(again.ok() && again->tokens == adjustment->tokens);
    TOLLGATE_ASSERT(again->reason == adjustment->reason && again->key == adjustment->key);
}

void check_refund(std::string_view body, const json& parsed) {
    const auto refund = http::parse_refund_request(body);
    if (!refund.ok()) {
        TOLLGATE_ASSERT(code_is(refund.error(), {"invalid_tokens", "invalid_reason"}));
        return;
    }
    check_exact(parsed, "tokens", refund->tokens);
    TOLLGATE_ASSERT(!refund->tokens || *refund->tokens > 0);
    TOLLGATE_ASSERT(!refund->reason.empty());
    json out = {{"reason", refund->reason}};
    if (refund->tokens) out["tokens"] = optional_field(refund->tokens);
    const auto again = http::parse_refund_request(out.dump());
    TOLLGATE_ASSERT(again.ok() && again->tokens == refund->tokens);
    TOLLGATE_ASSERT(again->reason == refund->reason);
}

void check_strings(std::string_view body) {
    if (const auto r = http::parse_create_account_request(body); r.ok()) {
        const auto again = http::parse_create_account_request(
            json{{"name", r->name}, {"tenant", r->tenant}}.dump());
        TOLLGATE_ASSERT(again.ok() && again->name == r->name && again->tenant == r->tenant);
    } else {
        TOLLGATE_ASSERT(code_is(r.error(), {"invalid_name", "unknown_tenant"}));
    }
    if (const auto r = http::parse_plan_request(body); r.ok()) {
        const auto again = http::parse_plan_request(json{{"plan", r->plan}}.dump());
        TOLLGATE_ASSERT(again.ok() && again->plan == r->plan);
    } else {
        TOLLGATE_ASSERT(code_is(r.error(), {"unknown_plan"}));
    }
    if (const auto r = http::parse_tenant_request(body); r.ok()) {
        const auto again = http::parse_tenant_request(json{{"tenant", r->tenant}}.dump());
        TOLLGATE_ASSERT(again.ok() && again->tenant == r->tenant);
    } else {
        TOLLGATE_ASSERT(code_is(r.error(), {"unknown_tenant"}));
    }
    if (const auto r = http::parse_drain_request(body); r.ok()) {
        const auto again =
            http::parse_drain_request(json{{"url", r->url}, {"draining", r->draining}}.dump());
        TOLLGATE_ASSERT(again.ok() && again->url == r->url && again->draining == r->draining);
    } else {
        TOLLGATE_ASSERT(code_is(r.error(), {"unknown_worker", "invalid_draining"}));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kInputBytesMax) return 0;
    const std::string_view body = fuzz::as_text(data, size);
    check_strings(body);
    // The oracle for exact integers: the same bytes through nlohmann alone.
    // Only needed when a parser accepted the body, which implies an object.
    const json parsed = json::parse(body.begin(), body.end(), nullptr, false);
    const json empty = json::object();
    const json& object = parsed.is_object() ? parsed : empty;
    check_grant(body, object);
    check_adjustment(body, object);
    check_refund(body, object);
    return 0;
}
