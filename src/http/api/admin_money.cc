// Admin routes that move money by hand: adjustments (an operator adds or
// removes tokens, with a reason) and refunds (tokens of a succeeded job's
// charge go back to its account). Both are ledger entries like any other;
// nothing here edits a balance.
#include <nlohmann/json.hpp>

#include "core/limits.h"
#include "http/api/api.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"
#include "http/api/json_mapping.h"

namespace tollgate::http {
namespace {

// A required, non-empty reason: every manual movement says why.
core::Result<std::string> required_reason(const nlohmann::json& body) {
    auto reason = optional_string(body, "reason", "invalid_reason");
    if (!reason.ok()) return reason.error();
    if (reason->empty()) {
        return core::make_error("invalid_reason", "'reason' is required: say why tokens move");
    }
    return reason;
}

}  // namespace

// POST /admin/accounts/{id}/adjustments {"tokens": ±N, "reason": "...", "key": "..."}
Response Api::admin_adjust(const Request& request, const std::string& account_id) {
    auto body = json_body(request);
    if (!body.ok()) return error_response(body.error());
    const nlohmann::json& tokens = (*body)["tokens"];
    if (!tokens.is_number_integer() || tokens.get<std::int64_t>() == 0) {
        return error_response("invalid_tokens",
                              "'tokens' must be a non-zero integer: positive adds, negative "
                              "removes");
    }
    auto reason = required_reason(*body);
    if (!reason.ok()) return error_response(reason.error());
    auto key = optional_string(*body, "key", "invalid_key");
    if (!key.ok()) return error_response(key.error());
    auto entry = ledger_.adjust(account_id, tokens.get<std::int64_t>(), *reason, *key);
    if (!entry.ok()) return error_response(entry.error());
    auto balance = ledger_.balance(account_id);
    if (!balance.ok()) return error_response(balance.error());
    nlohmann::json out = balance_to_json(*balance);
    out["account_id"] = account_id;
    out["entry_id"] = *entry;
    return json_response(201, out);
}

// POST /admin/jobs/{id}/refunds {"tokens": N, "reason": "..."}; without
// "tokens", what remains of the charge, so that a retry refunds nothing more.
Response Api::admin_refund(const Request& request, const std::string& job_id) {
    auto body = json_body(request);
    if (!body.ok()) return error_response(body.error());
    auto reason = required_reason(*body);
    if (!reason.ok()) return error_response(reason.error());
    auto job = jobs_.get(job_id);
    if (!job.ok()) return error_response(job.error());
    if (!job->has_value()) return error_response("not_found", "no such job");
    auto hold = ledger_.find_hold(job_id);
    if (!hold.ok()) return error_response(hold.error());
    if (!hold->has_value() || (*hold)->state != ledger::HoldState::Captured) {
        return error_response("hold_not_captured", "the job was not charged: nothing to refund");
    }
    const core::Tokens rest = (*hold)->captured - (*hold)->refunded;
    core::Tokens tokens = rest;
    if (body->contains("tokens")) {
        const nlohmann::json& t = (*body)["tokens"];
        if (!t.is_number_integer() || t.get<std::int64_t>() <= 0) {
            return error_response("invalid_tokens", "'tokens' must be a positive integer");
        }
        tokens = core::Tokens(t.get<std::int64_t>());
    }
    if (tokens.value <= 0) {
        return error_response("refund_exceeds_capture",
                              "the job's charge of " + std::to_string((*hold)->captured.value) +
                                  " tokens was already refunded in full");
    }
    // refund() checks the capture again in its own transaction; on success
    // the hold's refunds grew by exactly `tokens`.
    auto entry = ledger_.refund(job_id, tokens, *reason);
    if (!entry.ok()) return error_response(entry.error());
    return json_response(201, {{"job_id", job_id},
                               {"account_id", (*hold)->account_id},
                               {"entry_id", *entry},
                               {"refunded_tokens", tokens.value},
                               {"captured_tokens", (*hold)->captured.value},
                               {"refunded_total_tokens", ((*hold)->refunded + tokens).value}});
}

}  // namespace tollgate::http
