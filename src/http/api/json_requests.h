// Bodies of the JSON routes read into typed requests: account creation,
// grants, adjustments, refunds, plan and tenant changes, worker draining
// (docs/api.md shows them).
//
// A body is untrusted bytes. Each parser bounds its size
// (core::limits::kJsonBodyBytesMax), never throws, and type-checks every field
// it reads: a field present with the wrong type or outside its range is an
// error with a stable code, an absent optional field takes its default, and
// unknown keys are ignored. Integers are exact: a JSON number that is not an
// integer in int64 range is refused, never rounded or wrapped. Whether the
// account, job, plan, tenant or worker named exists is left to the route.
// Pure functions with no shared state: any thread, no Asio (fuzzed on its own).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tollgate::http {

// Request bodies nest no deeper than this (the API's own are 2-3 levels deep).
inline constexpr int kJsonRequestDepthMax = 16;
// A top-up's expiry, when given, is at most ten years away.
inline constexpr std::int64_t kGrantExpiryDaysMax = 3660;
// A grant's draw priority lies in [-kGrantPriorityAbsMax, kGrantPriorityAbsMax].
inline constexpr std::int64_t kGrantPriorityAbsMax = 1000;

// Every parser below first reads the body as a JSON object. Errors:
// "payload_too_large" (over kJsonBodyBytesMax bytes), "invalid_json" (not
// JSON, or not an object).

// POST /admin/accounts {"name": "...", "tenant": "..."}. Errors:
// "invalid_name" (name absent or not a string), "unknown_tenant" (tenant
// not a string).
struct CreateAccountRequest {
    std::string name;
    std::string tenant;  // "" when absent
};
// The body as a JSON object, at most kJsonBodyBytesMax bytes and
// kJsonRequestDepthMax levels deep: the first step of every parser below.
core::Result<nlohmann::json> parse_json_object(std::string_view body);

core::Result<CreateAccountRequest> parse_create_account_request(std::string_view body);

// POST /admin/accounts/{id}/grants {"tokens": N, "reason", "key",
// "expires_in_days", "priority"}. Errors: "invalid_tokens" (tokens not an
// integer; its sign and size are the ledger's to judge), "invalid_reason",
// "invalid_grant" (key not a string, expires_in_days outside
// [0, kGrantExpiryDaysMax], priority outside +-kGrantPriorityAbsMax).
struct GrantRequest {
    std::int64_t tokens = 0;
    std::string reason;                           // "" when absent
    std::string key;                              // "" when absent
    std::optional<std::int64_t> expires_in_days;  // 0 = never
    std::optional<std::int64_t> priority;
};
core::Result<GrantRequest> parse_grant_request(std::string_view body);

// POST /admin/accounts/{id}/adjustments {"tokens": +-N, "reason", "key"}.
// Errors: "invalid_tokens" (not a non-zero integer), "invalid_reason"
// (absent, empty or not a string), "invalid_key" (key not a string).
struct AdjustmentRequest {
    std::int64_t tokens = 0;  // != 0: positive adds, negative removes
    std::string reason;       // never empty
    std::string key;          // "" when absent
};
core::Result<AdjustmentRequest> parse_adjustment_request(std::string_view body);

// POST /admin/jobs/{id}/refunds {"tokens": N, "reason"}. Errors:
// "invalid_reason" (absent, empty or not a string), "invalid_tokens"
// (present and not a positive integer).
struct RefundRequest {
    std::optional<std::int64_t> tokens;  // > 0; absent = what remains of the charge
    std::string reason;                  // never empty
};
core::Result<RefundRequest> parse_refund_request(std::string_view body);

// POST /admin/accounts/{id}/plans {"plan": "..."}. Errors: "unknown_plan"
// (plan not a string).
struct PlanRequest {
    std::string plan;  // "" when absent
};
core::Result<PlanRequest> parse_plan_request(std::string_view body);

// POST /admin/accounts/{id}/tenant {"tenant": "..."}. Errors:
// "unknown_tenant" (tenant not a string).
struct TenantRequest {
    std::string tenant;  // "" when absent: the account leaves its tenant
};
core::Result<TenantRequest> parse_tenant_request(std::string_view body);

// POST /admin/workers/drain {"url": "...", "draining": bool}. Errors:
// "unknown_worker" (url not a string), "invalid_draining" (not a boolean).
struct DrainRequest {
    std::string url;       // "" when absent
    bool draining = true;  // when absent
};
core::Result<DrainRequest> parse_drain_request(std::string_view body);

}  // namespace tollgate::http
