// Admin routes that move money by hand: adjustments (an operator adds or
// removes tokens, with a reason) and refunds (tokens of a succeeded job's
// charge go back to its account). Both are ledger entries like any other;
// nothing here edits a balance.
#include <nlohmann/json.hpp>

#include "http/api/api.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"
#include "http/api/json_mapping.h"
#include "http/api/json_requests.h"

namespace tollgate::http {

// POST /admin/accounts/{id}/adjustments {"tokens": ±N, "reason": "...", "key": "..."}
Response Api::admin_adjust(const Request& request, const std::string& account_id) {
    auto adjustment = parse_adjustment_request(request.body);
    if (!adjustment.ok()) return error_response(adjustment.error());
    auto entry =
        ledger_.adjust(account_id, adjustment->tokens, adjustment->reason, adjustment->key);
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
    auto refund = parse_refund_request(request.body);
    if (!refund.ok()) return error_response(refund.error());
    auto job = jobs_.get(job_id);
    if (!job.ok()) return error_response(job.error());
    if (!job->has_value()) return error_response("not_found", "no such job");
    auto hold = ledger_.find_hold(job_id);
    if (!hold.ok()) return error_response(hold.error());
    if (!hold->has_value() || (*hold)->state != ledger::HoldState::Captured) {
        return error_response("hold_not_captured", "the job was not charged: nothing to refund");
    }
    const core::Tokens rest = (*hold)->captured - (*hold)->refunded;
    const core::Tokens tokens = refund->tokens ? core::Tokens(*refund->tokens) : rest;
    if (tokens.value <= 0) {
        return error_response("refund_exceeds_capture",
                              "the job's charge of " + std::to_string((*hold)->captured.value) +
                                  " tokens was already refunded in full");
    }
    // refund() checks the capture again in its own transaction; on success
    // the hold's refunds grew by exactly `tokens`.
    auto entry = ledger_.refund(job_id, tokens, refund->reason);
    if (!entry.ok()) return error_response(entry.error());
    return json_response(201, {{"job_id", job_id},
                               {"account_id", (*hold)->account_id},
                               {"entry_id", *entry},
                               {"refunded_tokens", tokens.value},
                               {"captured_tokens", (*hold)->captured.value},
                               {"refunded_total_tokens", ((*hold)->refunded + tokens).value}});
}

}  // namespace tollgate::http
