// Quotes: what one job costs under a price book, with the working shown.
//
// quote() is a pure function of (PriceBook, QuoteRequest): integer
// micro-token arithmetic in the order of docs/pricing.md. It allocates
// nothing on success: items are a fixed array and every text they need is a
// view into the book, rendered only by describe(). A Quote therefore must not
// outlive the PriceBook it came from (holders keep the book's shared_ptr).
// Key invariant, asserted on every quote: the items sum exactly to
// tokens * 1'000'000 and tokens >= the minimum in force.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/tokens.h"
#include "pricing/price_book.h"

namespace tollgate::pricing {

inline constexpr std::int64_t kUpscaleFactorMilliMin = 1000;
inline constexpr std::int64_t kUpscaleFactorMilliMax = 8000;

// Parses "2" (2000) or "1.5" (1500): digits, optional '.' and 1-3 digits, in
// [1, 8]. Errors: "invalid_upscale_factor".
core::Result<std::int64_t> parse_upscale_factor_milli(std::string_view text);

struct QuoteRequest {
    std::string_view workflow;
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::int64_t upscale_factor_milli = 1000;
    std::string_view quality;          // empty = the workflow's default level
    std::string_view tenant;           // empty = no tenant
    std::int64_t at_unix_ms = 0;       // the billing instant (admission)
    std::optional<Rounding> rounding;  // overrides the book's rule
};

enum class Rule : std::uint8_t {
    Base,
    PerMegapixel,
    PerOutputMegapixel,
    UpscaleSurcharge,
    Quality,
    Tiling,
    TimeWindow,
    TenantDiscount,
    Rounding,
    Minimum,
};
// The wire name: "base", "per_megapixel", ... "minimum".
std::string_view rule_name(Rule rule);

struct QuoteItem {
    Rule rule = Rule::Base;
    std::int64_t micro_tokens = 0;
    std::int64_t quantity =
        0;  // pixels, tiles, permille, basis points or the pre-rounding subtotal
    std::int64_t rate_micro = 0;  // the coefficient applied, when there is one
};

inline constexpr std::size_t kQuoteItemsMax = 10;

struct Quote {
    const WorkflowPrice* price = nullptr;   // into the book
    const QualityLevel* quality = nullptr;  // nullptr when the workflow has no levels
    const TimeWindow* window = nullptr;
    const TenantTerms* tenant = nullptr;
    std::string_view book_version;
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::int64_t upscale_factor_milli = 1000;
    std::int64_t output_width = 0;
    std::int64_t output_height = 0;
    std::int64_t tiles = 0;  // 0 = not tiled
    std::int64_t at_unix_ms = 0;
    Rounding rounding = Rounding::Floor;
    core::Tokens tokens;
    std::array<QuoteItem, kQuoteItemsMax> item_array{};
    std::size_t item_count = 0;

    std::span<const QuoteItem> items() const { return {item_array.data(), item_count}; }
    std::string_view workflow() const;
    // The model input size for the template (0 when the workflow has no levels).
    std::int64_t model_input_size() const;
    // The minimum in force: the tenant's own when it has one, else the workflow's.
    std::int64_t minimum_tokens() const;
};

// Prices `request` under `book`. Errors (only these allocate):
//   "unknown_workflow", "invalid_dimensions", "invalid_upscale_factor",
//   "invalid_quality" (unknown level; the message lists the levels).
core::Result<Quote> quote(const PriceBook& book, const QuoteRequest& request);

// A human line for one item, e.g. "0.48 MP x 2 tokens/MP", "night x0.8".
std::string describe(const Quote& quote, const QuoteItem& item);

// Exact decimal rendering: 960000 -> "0.96", 10000000 -> "10".
std::string format_micro_tokens(std::int64_t micro);

}  // namespace tollgate::pricing
