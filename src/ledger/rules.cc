// Argument checks shared by the ledger backends (see rules.h).
#include "ledger/rules.h"

#include "core/limits.h"

namespace tollgate::ledger {

core::Status check_grant(const GrantSpec& spec, std::int64_t now_ms) {
    if (spec.tokens.value <= 0 || spec.tokens.value > core::limits::kGrantTokensMax)
        return core::make_error("invalid_tokens", "tokens must be between 1 and 10^12");
    if (spec.reason.size() > core::limits::kReasonBytesMax)
        return core::make_error("invalid_reason", "reason is longer than 500 bytes");
    if (spec.key.size() > kGrantKeyBytesMax)
        return core::make_error("invalid_grant", "grant key is longer than 200 bytes");
    if (spec.expires_ms.has_value() && *spec.expires_ms <= now_ms)
        return core::make_error("invalid_grant", "expires_ms must be in the future");
    if (spec.rollover_max.value < 0 || spec.rollover_max > spec.tokens)
        return core::make_error("invalid_grant", "rollover_max must be between 0 and tokens");
    if (spec.rollover_max.value > 0 && !spec.rollover_expires_ms.has_value())
        return core::make_error("invalid_grant", "a rollover needs rollover_expires_ms");
    if (spec.rollover_expires_ms.has_value() &&
        (!spec.expires_ms.has_value() || *spec.rollover_expires_ms <= *spec.expires_ms))
        return core::make_error("invalid_grant", "rollover_expires_ms must follow expires_ms");
    return {};
}

core::Result<std::int64_t> check_terms(const ReserveTerms& terms) {
    if (terms.credit_limit_tokens < 0 || terms.credit_limit_tokens > kUnlimitedCreditTokens)
        return core::make_error("invalid_terms", "credit limit must be between 0 and 10^15");
    if (terms.ttl_ms < 0 || terms.ttl_ms > kHoldTtlMsMax)
        return core::make_error("invalid_terms", "hold TTL must be between 0 and a week");
    return terms.unlimited ? kUnlimitedCreditTokens : terms.credit_limit_tokens;
}

core::Status check_adjustment(std::int64_t tokens, const std::string& reason,
                              const std::string& key) {
    if (tokens == 0 || tokens < -core::limits::kGrantTokensMax ||
        tokens > core::limits::kGrantTokensMax)
        return core::make_error("invalid_tokens", "tokens must be between -10^12 and 10^12, not 0");
    if (reason.size() > core::limits::kReasonBytesMax)
        return core::make_error("invalid_reason", "reason is longer than 500 bytes");
    if (key.size() > kGrantKeyBytesMax)
        return core::make_error("invalid_key", "adjustment key is longer than 200 bytes");
    return {};
}

core::Status check_refund(core::Tokens tokens, const std::string& reason) {
    if (tokens.value <= 0 || tokens.value > core::limits::kGrantTokensMax)
        return core::make_error("invalid_tokens", "tokens must be between 1 and 10^12");
    if (reason.size() > core::limits::kReasonBytesMax)
        return core::make_error("invalid_reason", "reason is longer than 500 bytes");
    return {};
}

core::Status check_account_name(const std::string& name) {
    if (name.empty() || name.size() > static_cast<std::size_t>(core::limits::kAccountNameBytesMax))
        return core::make_error("invalid_name", "account name must be 1 to 200 bytes");
    return {};
}

core::Status check_api_key_spec(const ApiKeySpec& spec, std::int64_t now_ms) {
    if (spec.scopes.empty()) {
        return core::make_error("invalid_scopes", "a key needs at least one scope");
    }
    if (spec.expires_ms && *spec.expires_ms <= now_ms) {
        return core::make_error("invalid_expiry", "a key's expiry must be in the future");
    }
    return {};
}

core::Status check_plan(const std::string& plan) {
    if (plan.empty() || plan.size() > kPlanBytesMax)
        return core::make_error("invalid_plan", "plan name must be 1 to 200 bytes");
    return {};
}

}  // namespace tollgate::ledger
