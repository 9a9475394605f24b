// Plan periods, plan suggestions and plans' rate limits: pure arithmetic
// over a book.
//
// A monthly plan's period is the calendar month, in the book's time zone,
// that contains the instant. An annual plan's period k runs from the
// subscription's local start date plus k years (Feb 29 becomes Feb 28) to
// the next one, at the same local time of day. Period keys are stable and
// name the plan and the local start date, e.g. "monthly:2026-11-01", so
// renewal is idempotent per period.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tokens.h"
#include "pricing/price_book.h"

namespace tollgate::pricing {

struct PlanPeriodSpan {
    std::int64_t start_ms = 0;  // inclusive
    std::int64_t end_ms = 0;    // exclusive: the grant's expiry
    std::string key;            // "<plan>:<local start date>"
};

// The period of `plan` containing `at_ms`, for a subscription that began at
// `subscribed_ms` (<= at_ms). Annual periods count from subscribed_ms.
PlanPeriodSpan plan_period(const Plan& plan, const core::TimeZone& zone, std::int64_t subscribed_ms,
                           std::int64_t at_ms);

// Plans that would cover a request costing `needed` for an account with
// `available` tokens: unlimited plans, and plans whose tokens + available >=
// needed. Cheapest first, then by name.
std::vector<const Plan*> plans_covering(const PriceBook& book, core::Tokens needed,
                                        core::Tokens available);

// The rate limits of an account subscribed to `plans` (active ones): each
// plan's overrides over `defaults`, then, bucket by bucket, the most
// generous of them (no limit first, then the higher rate, then the larger
// burst), so a second plan never lowers a limit. `defaults` without plans.
RateLimits account_rate_limits(const RateLimits& defaults, const std::vector<const Plan*>& plans);

}  // namespace tollgate::pricing
