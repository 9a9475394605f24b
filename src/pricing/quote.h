// Quotes: what one job costs under a price book, with the working shown.
//
// quote() is a pure, synchronous function of (PriceBook, QuoteRequest); any
// thread may call it. All arithmetic is in integer micro-tokens:
//
//   pixel_term = width * height * per_megapixel_micro / 1'000'000   (truncated)
//   subtotal   = base + pixel_term + (upscale factor > 1 ? surcharge : 0)
//   tokens     = max(minimum, round(subtotal / 1'000'000))           (by rule)
//
// The pixel term truncates whatever falls below one micro-token (at most
// 0.000001 token), so the result never depends on floating point. Key
// invariant, asserted on every quote: the items' micro_tokens sum exactly to
// tokens * 1'000'000, so a client can always reconcile the total it is shown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/tokens.h"
#include "pricing/price_book.h"

namespace tollgate::pricing {

// Upscale factors in thousandths: 1000 means 1x (no upscale), 8000 means 8x.
inline constexpr std::int64_t kUpscaleFactorMilliMin = 1000;
inline constexpr std::int64_t kUpscaleFactorMilliMax = 8000;

struct QuoteRequest {
    std::string workflow;
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::int64_t upscale_factor_milli = 1000;
    // Overrides the book's rounding rule when set.
    std::optional<Rounding> rounding;
};

// Parses a decimal upscale factor such as "2" (2000) or "1.5" (1500): digits,
// optionally a '.' and one to three more digits, no sign, exponent or spaces,
// within [1.0, 8.0]. Errors have code "invalid_upscale_factor".
core::Result<std::int64_t> parse_upscale_factor_milli(std::string_view text);

// One line of a quote's working. `rule` is one of "base", "per_megapixel",
// "upscale_surcharge", "rounding", "minimum"; `detail` is for humans.
struct QuoteItem {
    std::string rule;
    std::string detail;
    std::int64_t micro_tokens = 0;
};

struct Quote {
    std::string workflow;
    std::string book_version;
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::int64_t upscale_factor_milli = 1000;
    Rounding rounding = Rounding::Floor;
    core::Tokens tokens;
    // Always base and per_megapixel; then upscale_surcharge when the factor is
    // above 1x, rounding when rounding changed the subtotal, and minimum when
    // the minimum raised the total.
    std::vector<QuoteItem> items;
};

// Prices `request` under `book`. Errors:
//   "unknown_workflow"        the book has no such workflow;
//   "invalid_dimensions"      a side is < 1 or > core::limits::kImageSideMax, or
//                             width * height > core::limits::kImagePixelsMax;
//   "invalid_upscale_factor"  upscale_factor_milli is outside [1000, 8000].
// The result is at most core::limits::kQuoteTokensMax (see price_book.h).
core::Result<Quote> quote(const PriceBook& book, const QuoteRequest& request);

// An exact decimal rendering of micro-tokens with trailing zeros dropped:
// 960000 -> "0.96", -960000 -> "-0.96", 10000000 -> "10", 0 -> "0".
std::string format_micro_tokens(std::int64_t micro);

}  // namespace tollgate::pricing
