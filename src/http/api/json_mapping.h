// JSON shapes of the public API, in one place (docs/api.md shows them).
// Token amounts are JSON integers; fractional breakdown amounts are exact
// decimal strings plus integer micro-tokens, never binary floating point.
#pragma once

#include <nlohmann/json.hpp>

#include "http/api/job_service.h"
#include "jobs/job.h"
#include "ledger/ledger.h"

namespace tollgate::http {

// [{rule, detail, tokens, micro_tokens}]: the quote's items.
nlohmann::json breakdown_to_json(const pricing::Quote& quote);

// {workflow, book_version, width, height, format, upscale_factor, rounding,
//  tokens, breakdown: [{rule, detail, tokens, micro_tokens}]}
nlohmann::json quote_to_json(const PricedImage& priced);

// {job_id, state, workflow, tokens, created_ms, [finished_ms], [result_url],
//  [failure_reason]}
nlohmann::json job_to_json(const jobs::Job& job);

// {available, held, granted, captured}
nlohmann::json balance_to_json(const ledger::Balance& balance);

}  // namespace tollgate::http
