// The checks every ledger backend makes on its arguments before it touches
// storage, in one place so that the backends refuse the same requests with
// the same error codes and messages.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"
#include "ledger/ledger.h"

namespace tollgate::ledger {

// "invalid_tokens", "invalid_reason", "invalid_grant".
core::Status check_grant(const GrantSpec& spec, std::int64_t now_ms);
// "invalid_terms". Returns the credit limit the terms allow.
core::Result<std::int64_t> check_terms(const ReserveTerms& terms);
// "invalid_tokens" (0 or beyond kGrantTokensMax either way), "invalid_reason", "invalid_key".
core::Status check_adjustment(std::int64_t tokens, const std::string& reason,
                              const std::string& key);
// "invalid_tokens", "invalid_reason".
core::Status check_refund(core::Tokens tokens, const std::string& reason);
// "invalid_name".
core::Status check_account_name(const std::string& name);
// "invalid_scopes" (none), "invalid_expiry" (not after now_ms).
core::Status check_api_key_spec(const ApiKeySpec& spec, std::int64_t now_ms);
// "invalid_plan".
core::Status check_plan(const std::string& plan);

}  // namespace tollgate::ledger
