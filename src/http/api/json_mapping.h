// JSON shapes of the public API, in one place (docs/api.md shows them).
// Token amounts are JSON integers; fractional item amounts are exact decimal
// strings plus integer micro-tokens, never binary floating point.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "http/api/job_service.h"
#include "jobs/job.h"
#include "ledger/ledger.h"
#include "pricing/price_book.h"
#include "pricing/quote.h"

namespace tollgate::http {

// [{rule, detail, tokens, micro_tokens}]: the quote's items, which add up
// exactly to its total.
nlohmann::json items_to_json(const pricing::Quote& quote);

// One line for logs: "base 10 + per_megapixel 0.96 + rounding -0.96 = 10 tokens".
std::string items_summary(const pricing::Quote& quote);

// The quote alone: {workflow, book_version, width, height, upscale_factor,
// output_width, output_height, quality, model_input_size, tiles, window,
// tenant, priced_at_ms, rounding, tokens, items}.
nlohmann::json quote_fields_to_json(const pricing::Quote& quote);

// quote_fields_to_json plus the image's format.
nlohmann::json quote_to_json(const PricedImage& priced);

// The 202 answer to an admitted job: {job_id, state, tokens, book_version,
// items, quote, available, priority, status_url, [dedupe]}; `dedupe` when it
// was flagged as a near duplicate.
nlohmann::json accepted_to_json(const SubmitResult& result);

// The 202 answer to a duplicate admitted to reuse an earlier job's result:
// the same fields, with state succeeded (the result is there already) or
// dispatched (attached to the earlier job in flight), tokens 0, no items,
// the quote it was spared, and `dedupe`.
nlohmann::json duplicate_accepted_to_json(const SubmitResult& result, const jobs::Job& job);

// {kind: "exact"|"near", of: <earlier job id>, reused, [distance]}: what
// duplicate detection found; `distance` (Hamming, in bits) for near ones.
nlohmann::json dedupe_to_json(jobs::DedupeKind kind, const std::string& of, std::int64_t distance,
                              bool reused);

// {job_id, state, workflow, tokens, created_ms, [finished_ms], [result_url],
//  [failure_reason], [webhook_url], [dedupe]}; `result_url` (a signed link)
// is shown only when the job succeeded, `dedupe` only for a duplicate.
nlohmann::json job_to_json(const jobs::Job& job, const std::string& result_url);

// {available, held, granted, captured, expired}
nlohmann::json balance_to_json(const ledger::Balance& balance);

// [{id, reason, tokens, remaining, used, expired, starts_ms, expires_ms|null, priority}]
nlohmann::json grants_to_json(const std::vector<ledger::GrantInfo>& grants);

// {name, display_name, period, tokens|null, unlimited, price, currency}
nlohmann::json plan_to_json(const pricing::Plan& plan);

}  // namespace tollgate::http
