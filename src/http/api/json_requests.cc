// Each parser reads the body once with nlohmann's non-throwing parse, then
// walks the object with find() and explicit type checks only (no at(), no
// get<T>() on a value of another type), so no input can raise an exception.
// nlohmann's parser is iterative and its destructor flattens nested values,
// and nothing here copies, compares or dumps a whole body, so a deeply nested
// body costs no stack; the size bound keeps its memory small.
//
// Rejected alternative: NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE and get<T>() on
// the whole body. It throws on the first type mismatch, and its error texts
// would become the public messages of these routes.
#include "http/api/json_requests.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "core/limits.h"
#include "dispatch/json_guard.h"

namespace tollgate::http {
namespace {

using json = nlohmann::json;

}  // namespace

core::Result<nlohmann::json> parse_json_object(std::string_view body) {
    if (body.size() > static_cast<std::size_t>(core::limits::kJsonBodyBytesMax)) {
        return core::make_error("payload_too_large", "JSON body is too large");
    }
    // Parsing is iterative, but copying and dumping a value recurse.
    if (!dispatch::json_depth_within(body, kJsonRequestDepthMax)) {
        return core::make_error(
            "invalid_json",
            "the body nests deeper than " + std::to_string(kJsonRequestDepthMax) + " levels");
    }
    json parsed = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return core::make_error("invalid_json", "the body must be a JSON object");
    }
    return parsed;
}

namespace {

// An optional string field: "" when absent, error `code` when present but
// not a string.
core::Result<std::string> optional_string(const json& body, const char* field, const char* code) {
    const auto it = body.find(field);
    if (it == body.end()) return std::string();
    if (!it->is_string()) {
        return core::make_error(code, std::string("'") + field + "' must be a string");
    }
    return it->get<std::string>();
}

// A required, non-empty reason: every manual movement says why.
core::Result<std::string> required_reason(const json& body) {
    auto reason = optional_string(body, "reason", "invalid_reason");
    if (!reason.ok()) return reason.error();
    if (reason->empty()) {
        return core::make_error("invalid_reason", "'reason' is required: say why tokens move");
    }
    return reason;
}

// The value of an integer field, or nullopt when it is not an integer in
// int64 range. nlohmann keeps a number above INT64_MAX as unsigned (and
// is_number_integer() is true for it); get<int64_t>() would wrap it, turning
// 18446744073709551615 into -1.
std::optional<std::int64_t> integer_of(const json& value) {
    if (!value.is_number_integer()) return std::nullopt;
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return std::nullopt;
    }
    return value.get<std::int64_t>();
}

// An optional integer field in [min, max]: nullopt when absent, error
// `code` with `message` when present and not such an integer.
core::Result<std::optional<std::int64_t>> optional_integer(const json& body, const char* field,
                                                           std::int64_t min, std::int64_t max,
                                                           const char* code,
                                                           const std::string& message) {
    const auto it = body.find(field);
    if (it == body.end()) return std::optional<std::int64_t>();
    const std::optional<std::int64_t> value = integer_of(*it);
    if (!value || *value < min || *value > max) return core::make_error(code, message);
    return value;
}

}  // namespace

core::Result<CreateAccountRequest> parse_create_account_request(std::string_view body) {
    auto object = parse_json_object(body);
    if (!object.ok()) return object.error();
    const auto name = object->find("name");
    if (name == object->end() || !name->is_string()) {
        return core::make_error("invalid_name", "'name' must be a string");
    }
    auto tenant = optional_string(*object, "tenant", "unknown_tenant");
    if (!tenant.ok()) return tenant.error();
    return CreateAccountRequest{name->get<std::string>(), std::move(tenant).value()};
}

core::Result<GrantRequest> parse_grant_request(std::string_view body) {
    auto object = parse_json_object(body);
    if (!object.ok()) return object.error();
    GrantRequest request;
    const auto tokens = object->find("tokens");
    const std::optional<std::int64_t> value =
        tokens == object->end() ? std::nullopt : integer_of(*tokens);
    if (!value) return core::make_error("invalid_tokens", "'tokens' must be a positive integer");
    request.tokens = *value;
    auto reason = optional_string(*object, "reason", "invalid_reason");
    if (!reason.ok()) return reason.error();
    request.reason = std::move(reason).value();
    auto key = optional_string(*object, "key", "invalid_grant");
    if (!key.ok()) return key.error();
    request.key = std::move(key).value();
    auto days =
        optional_integer(*object, "expires_in_days", 0, kGrantExpiryDaysMax, "invalid_grant",
                         "'expires_in_days' must be an integer from 0 (never) to " +
                             std::to_string(kGrantExpiryDaysMax));
    if (!days.ok()) return days.error();
    request.expires_in_days = *days;
    auto priority = optional_integer(
        *object, "priority", -kGrantPriorityAbsMax, kGrantPriorityAbsMax, "invalid_grant",
        "'priority' must be an integer in [-" + std::to_string(kGrantPriorityAbsMax) + ", " +
            std::to_string(kGrantPriorityAbsMax) + "]");
    if (!priority.ok()) return priority.error();
    request.priority = *priority;
    return request;
}

core::Result<AdjustmentRequest> parse_adjustment_request(std::string_view body) {
    auto object = parse_json_object(body);
    if (!object.ok()) return object.error();
    const auto tokens = object->find("tokens");
    const std::optional<std::int64_t> value =
        tokens == object->end() ? std::nullopt : integer_of(*tokens);
    if (!value || *value == 0) {
        return core::make_error("invalid_tokens",
                                "'tokens' must be a non-zero integer: positive adds, negative "
                                "removes");
    }
    auto reason = required_reason(*object);
    if (!reason.ok()) return reason.error();
    auto key = optional_string(*object, "key", "invalid_key");
    if (!key.ok()) return key.error();
    return AdjustmentRequest{*value, std::move(reason).value(), std::move(key).value()};
}

core::Result<RefundRequest> parse_refund_request(std::string_view body) {
    auto object = parse_json_object(body);
    if (!object.ok()) return object.error();
    auto reason = required_reason(*object);
    if (!reason.ok()) return reason.error();
    auto tokens = optional_integer(*object, "tokens", 1, std::numeric_limits<std::int64_t>::max(),
                                   "invalid_tokens", "'tokens' must be a positive integer");
    if (!tokens.ok()) return tokens.error();
    return RefundRequest{*tokens, std::move(reason).value()};
}

core::Result<PlanRequest> parse_plan_request(std::string_view body) {
    auto object = parse_json_object(body);
    if (!object.ok()) return object.error();
    auto plan = optional_string(*object, "plan", "unknown_plan");
    if (!plan.ok()) return plan.error();
    return PlanRequest{std::move(plan).value()};
}

core::Result<TenantRequest> parse_tenant_request(std::string_view body) {
    auto object = parse_json_object(body);
    if (!object.ok()) return object.error();
    auto tenant = optional_string(*object, "tenant", "unknown_tenant");
    if (!tenant.ok()) return tenant.error();
    return TenantRequest{std::move(tenant).value()};
}

core::Result<DrainRequest> parse_drain_request(std::string_view body) {
    auto object = parse_json_object(body);
    if (!object.ok()) return object.error();
    DrainRequest request;
    auto url = optional_string(*object, "url", "unknown_worker");
    if (!url.ok()) return url.error();
    request.url = std::move(url).value();
    const auto draining = object->find("draining");
    if (draining != object->end()) {
        if (!draining->is_boolean()) {
            return core::make_error("invalid_draining", "'draining' must be true or false");
        }
        request.draining = draining->get<bool>();
    }
    return request;
}

}  // namespace tollgate::http
