#include "http/api/error_map.h"

#include <spdlog/spdlog.h>

#include <array>
#include <utility>

#include "http/codec/json_error.h"

namespace tollgate::http {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 76> kStatuses{{
    {"bad_request", 400},
    {"bad_multipart", 400},
    {"empty_body", 400},
    {"invalid_json", 400},
    {"missing_workflow", 400},
    {"unknown_workflow", 400},
    {"invalid_upscale_factor", 400},
    {"invalid_rounding", 400},
    {"invalid_name", 400},
    {"invalid_tokens", 400},
    {"invalid_reason", 400},
    {"invalid_quality", 400},
    {"invalid_idempotency_key", 400},
    {"invalid_time", 400},
    {"invalid_range", 400},
    {"invalid_grant", 400},
    {"invalid_key", 400},
    {"invalid_draining", 400},
    {"unknown_plan", 400},
    {"unknown_tenant", 400},
    {"invalid_webhook_url", 400},
    {"invalid_scopes", 400},
    {"invalid_expiry", 400},
    {"no_prompt", 400},
    {"invalid_prompt_id", 400},
    {"invalid_prompt", 400},
    {"invalid_upload", 400},
    {"upload_not_found", 400},
    {"unauthorized", 401},
    {"insufficient_balance", 402},
    {"forbidden", 403},
    {"invalid_signature", 403},
    {"insufficient_scope", 403},
    {"unpriced_graph", 403},
    {"not_found", 404},
    {"unknown_account", 404},
    {"unknown_hold", 404},
    {"unknown_worker", 404},
    {"unknown_key", 404},
    {"method_not_allowed", 405},
    {"grant_key_conflict", 409},
    {"adjustment_key_conflict", 409},
    {"hold_not_captured", 409},
    {"refund_exceeds_capture", 409},
    {"job_finished", 409},
    {"duplicate", 409},
    {"too_many_keys", 409},
    {"payload_too_large", 413},
    {"unsupported_media_type", 415},
    {"corrupt_image", 422},
    {"image_too_large", 422},
    {"invalid_dimensions", 422},
    {"quote_too_large", 422},
    {"report_too_large", 422},
    {"idempotency_key_reused", 422},
    {"invalid_price_book", 422},
    {"fair_use_exceeded", 429},
    {"too_many_jobs", 429},
    {"tenant_busy", 429},
    {"result_missing", 410},
    {"url_expired", 410},
    {"busy", 429},
    {"rate_limited", 429},
    {"storage_error", 500},
    {"hold_not_open", 500},
    {"schema_too_old", 500},
    {"invalid_time_zone", 500},
    {"internal", 500},
    {"redis_unavailable", 503},
    {"reports_unsupported", 501},
    {"report_error", 502},
    {"sink_error", 502},
    {"worker_unreachable", 502},
    {"sink_unavailable", 503},
    {"redis_error", 500},
    {"ledger_invariant", 500},
}};

// Errors of the shared store and of the usage stores whose messages name
// their nodes, keys and queries: the client gets the code and a plain
// message, the log the details.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kStoreErrors{{
    {"redis_unavailable", "the store is unavailable; try again"},
    {"sink_unavailable", "the usage store is unavailable; try again"},
    {"sink_error", "the usage store refused the report's query; see the gateway log"},
    {"report_error", "the usage store answered an unreadable report; see the gateway log"},
    {"redis_error", "the store refused an operation; see the gateway log"},
    {"ledger_invariant", "the ledger refused an operation that would break its books"},
}};

}  // namespace

int status_for(std::string_view code) {
    for (const auto& [name, status] : kStatuses) {
        if (name == code) return status;
    }
    return 500;
}

Response error_response(std::string_view code, std::string_view message) {
    Response r;
    r.status = status_for(code);
    r.body = json_error_body(code, message);
    return r;
}

Response error_response(const core::Error& error) {
    for (const auto& [code, plain] : kStoreErrors) {
        if (error.code == code) {
            spdlog::error("store error {}: {}", error.code, error.message);
            return error_response(error.code, plain);
        }
    }
    return error_response(error.code, error.message);
}

}  // namespace tollgate::http
