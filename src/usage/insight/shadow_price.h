// Shadow pricing: what the charged jobs of a period would have cost under
// another price book (a calibration's suggestion), against what the current
// book makes of them, in total, per workflow and per account.
//
// Each job is quoted again under both books with its own size and its own
// time (windows apply), without tenant terms (the usage records do not keep
// the tenant) and without options (nor the upscale factor or quality level),
// so "current" is the list price of what ran, not what was charged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "pricing/price_book.h"
#include "usage/reports.h"

namespace tollgate::usage {

inline constexpr std::size_t kShadowAccountsMax = 100;

struct ShadowLine {
    std::string name;  // workflow or account id; "" for the total
    std::int64_t jobs = 0;
    std::int64_t current_tokens = 0;
    std::int64_t suggested_tokens = 0;
    bool operator==(const ShadowLine&) const = default;
};

struct ShadowPrice {
    ShadowLine total;
    std::vector<ShadowLine> workflows;  // by name
    // The `accounts_max` accounts whose bill moves the most (by |suggested -
    // current|, then by id).
    std::vector<ShadowLine> accounts;
};

// `jobs`: the charged jobs per workflow. Errors: quote()'s, for a workflow
// either book lacks ("unknown_workflow") or a size it refuses.
core::Result<ShadowPrice> shadow_price(
    const pricing::PriceBook& current, const pricing::PriceBook& suggested,
    const std::map<std::string, std::vector<ExecutionSample>>& jobs, std::size_t accounts_max);

}  // namespace tollgate::usage
