// Quote arithmetic and the texts that explain it.
//
// Approach: every amount is an int64 count of micro-tokens, computed in the
// order of docs/pricing.md. The two products that can exceed int64 (input or
// output pixels times a per-megapixel rate) are taken in __int128 and divided
// back down at once. Megapixels never exist as a fraction: width * height
// pixels is already the number of micro-megapixels.
//
// Each step appends an item to a fixed array, and the window, discount,
// rounding and minimum items carry exactly the adjustment they made, so the
// items always sum to the total; quote() asserts that before returning.
// Nothing on the success path allocates: look-ups use string_view keys and
// texts are rendered later by describe(). Rejected alternatives: computing
// the total separately and deriving items afterwards (the two drift apart),
// and std::string details in each item (an allocation per item per quote).
//
// The bounds in price_book.h keep the largest possible quote (a 100 MP image
// upscaled 8x, every coefficient at its bound, a 10x window) below
// core::limits::kQuoteTokensMax; the static_asserts below are the proof, so
// quote() never needs a "too large" error.
#include "pricing/quote.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "core/assert.h"
#include "core/limits.h"
#include "core/redact.h"
#include "pricing/decimal.h"

namespace tollgate::pricing {
namespace {

using core::limits::kImagePixelsMax;
using core::limits::kImageSideMax;
using core::limits::kQuoteTokensMax;

constexpr std::int64_t kMicro = core::kMicroTokensPerToken;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

constexpr std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Output sides are floor(side * factor / 1000), so output pixels are at most
// input pixels times the factor squared.
static_assert(kUpscaleFactorMilliMax % 1000 == 0);
constexpr std::int64_t kFactorMax = kUpscaleFactorMilliMax / 1000;
constexpr std::int64_t kOutputPixelsMax = kImagePixelsMax * kFactorMax * kFactorMax;
constexpr std::int64_t kTilesMax =
    ceil_div(kImageSideMax, kTileSidePxMin) * ceil_div(kImageSideMax, kTileSidePxMin);
// pixels * rate_micro / 1e6 is pixels * rate_tokens micro-tokens.
constexpr std::int64_t kSubtotalMicroMax =
    kBaseTokensMax * kMicro + kImagePixelsMax * kPerMegapixelTokensMax +
    kOutputPixelsMax * kPerOutputMegapixelTokensMax + kUpscaleSurchargeTokensMax * kMicro +
    kQualitySurchargeTokensMax * kMicro + kTilesMax * kPerTileTokensMax * kMicro;
static_assert(kSubtotalMicroMax <= kInt64Max / kWindowMultiplierPermilleMax,
              "subtotal * window permille must fit in int64");
constexpr std::int64_t kWindowedMicroMax = kSubtotalMicroMax * kWindowMultiplierPermilleMax / 1000;
static_assert(kWindowedMicroMax <= kInt64Max / kDiscountBpMax,
              "running total * discount basis points must fit in int64");
static_assert(kWindowedMicroMax / kMicro + 1 <= kQuoteTokensMax,
              "the largest quote, rounded up, must stay within kQuoteTokensMax");
static_assert(kMinimumTokensMax <= kQuoteTokensMax);
static_assert(kQuoteTokensMax <= kInt64Max / kMicro);
static_assert(kQuoteItemsMax == static_cast<std::size_t>(Rule::Minimum) + 1,
              "one item per rule at most");

core::Error upscale_error(std::string message) {
    return core::make_error("invalid_upscale_factor", std::move(message));
}

// Whole tokens from a non-negative micro-token subtotal.
std::int64_t round_to_tokens(std::int64_t subtotal_micro, Rounding rounding) {
    TOLLGATE_ASSERT(subtotal_micro >= 0);
    switch (rounding) {
        case Rounding::Floor:
            return subtotal_micro / kMicro;
        case Rounding::Ceil:
            return (subtotal_micro + kMicro - 1) / kMicro;
        case Rounding::Nearest:
            return (subtotal_micro + kMicro / 2) / kMicro;
    }
    TOLLGATE_ASSERT(false && "unknown Rounding");
}

core::Error dimensions_error(const QuoteRequest& request) {
    const std::int64_t w = request.width;
    const std::int64_t h = request.height;
    const std::string size = "image is " + std::to_string(w) + "x" + std::to_string(h);
    if (w < 1 || h < 1 || w > kImageSideMax || h > kImageSideMax) {
        return core::make_error("invalid_dimensions", size + "; each side must be between 1 and " +
                                                          std::to_string(kImageSideMax) +
                                                          " pixels");
    }
    return core::make_error(
        "invalid_dimensions",
        size + "; at most " + std::to_string(kImagePixelsMax) + " pixels are allowed");
}

bool dimensions_ok(const QuoteRequest& request) {
    const std::int64_t w = request.width;
    const std::int64_t h = request.height;
    return w >= 1 && h >= 1 && w <= kImageSideMax && h <= kImageSideMax && w * h <= kImagePixelsMax;
}

bool factor_allowed(const WorkflowPrice& price, std::int64_t factor_milli) {
    if (factor_milli < kUpscaleFactorMilliMin || factor_milli > kUpscaleFactorMilliMax) {
        return false;
    }
    if (price.upscale_factors_milli.empty()) return true;
    for (std::int64_t allowed : price.upscale_factors_milli) {
        if (allowed == factor_milli) return true;
    }
    return false;
}

core::Error factor_error(const WorkflowPrice& price, std::int64_t factor_milli) {
    const std::string shown = format_decimal(factor_milli, 3);
    if (factor_milli < kUpscaleFactorMilliMin || factor_milli > kUpscaleFactorMilliMax) {
        return upscale_error("upscale factor " + shown + " must be between 1 and 8");
    }
    std::string allowed;
    for (std::int64_t f : price.upscale_factors_milli) {
        if (!allowed.empty()) allowed += ", ";
        allowed += format_decimal(f, 3);
    }
    return upscale_error("workflow " + price.name + " does not offer upscale factor " + shown +
                         " (allowed: " + allowed + ")");
}

core::Error quality_error(const WorkflowPrice& price, std::string_view requested) {
    if (price.qualities.empty()) {
        return core::make_error("invalid_quality", "workflow " + price.name +
                                                       " has no quality levels; got " +
                                                       core::quote_input(requested));
    }
    std::string levels;
    for (const QualityLevel& level : price.qualities) {
        if (!levels.empty()) levels += ", ";
        levels += level.name;
    }
    return core::make_error("invalid_quality", "workflow " + price.name + " has no quality " +
                                                   core::quote_input(requested) +
                                                   " (levels: " + levels + ")");
}

void add_item(Quote& q, Rule rule, std::int64_t micro, std::int64_t quantity, std::int64_t rate) {
    TOLLGATE_ASSERT(q.item_count < kQuoteItemsMax);
    q.item_array[q.item_count++] = QuoteItem{rule, micro, quantity, rate};
}

// `pixels` (micro-megapixels) at `rate_micro` per megapixel, truncated.
std::int64_t pixel_charge(std::int64_t pixels, std::int64_t rate_micro) {
    const auto product = static_cast<__int128>(pixels) * rate_micro;
    return static_cast<std::int64_t>(product / kMicro);
}

// Steps 1-6: what the job itself costs, before time, tenant and rounding.
std::int64_t job_subtotal(Quote& q) {
    const WorkflowPrice& price = *q.price;
    add_item(q, Rule::Base, price.base_micro, 1, price.base_micro);
    std::int64_t subtotal = price.base_micro;

    const std::int64_t pixels = q.width * q.height;
    const std::int64_t pixel_term = pixel_charge(pixels, price.per_megapixel_micro);
    add_item(q, Rule::PerMegapixel, pixel_term, pixels, price.per_megapixel_micro);
    subtotal += pixel_term;

    if (q.upscale_factor_milli > kUpscaleFactorMilliMin) {
        const std::int64_t out_pixels = q.output_width * q.output_height;
        const std::int64_t out_term = pixel_charge(out_pixels, price.per_output_megapixel_micro);
        if (out_term > 0) {
            add_item(q, Rule::PerOutputMegapixel, out_term, out_pixels,
                     price.per_output_megapixel_micro);
            subtotal += out_term;
        }
        if (price.upscale_surcharge_micro > 0) {
            add_item(q, Rule::UpscaleSurcharge, price.upscale_surcharge_micro,
                     q.upscale_factor_milli, price.upscale_surcharge_micro);
            subtotal += price.upscale_surcharge_micro;
        }
    }
    if (q.quality != nullptr && q.quality->surcharge_micro > 0) {
        add_item(q, Rule::Quality, q.quality->surcharge_micro, q.quality->model_input_size,
                 q.quality->surcharge_micro);
        subtotal += q.quality->surcharge_micro;
    }
    if (q.tiles > 0 && price.per_tile_micro > 0) {
        const std::int64_t tile_term = q.tiles * price.per_tile_micro;
        add_item(q, Rule::Tiling, tile_term, q.tiles, price.per_tile_micro);
        subtotal += tile_term;
    }
    TOLLGATE_ASSERT(subtotal >= 0 && subtotal <= kSubtotalMicroMax);
    return subtotal;
}

// Steps 7-10: the window, the tenant's discount, rounding and the minimum.
void settle(Quote& q, std::int64_t subtotal) {
    std::int64_t running = subtotal;
    if (q.window != nullptr) {
        const std::int64_t permille = q.window->multiplier_permille;
        const std::int64_t adjustment = subtotal * (permille - 1000) / 1000;
        if (adjustment != 0) add_item(q, Rule::TimeWindow, adjustment, permille, 0);
        running += adjustment;
    }
    if (q.tenant != nullptr && q.tenant->discount_bp > 0) {
        const std::int64_t discount = running * q.tenant->discount_bp / 10'000;
        if (discount != 0) add_item(q, Rule::TenantDiscount, -discount, q.tenant->discount_bp, 0);
        running -= discount;
    }
    const std::int64_t rounded = round_to_tokens(running, q.rounding);
    if (const std::int64_t adjustment = rounded * kMicro - running; adjustment != 0) {
        add_item(q, Rule::Rounding, adjustment, running, 0);
    }
    const std::int64_t minimum = q.minimum_tokens();
    std::int64_t total = rounded;
    if (minimum > rounded) {
        add_item(q, Rule::Minimum, (minimum - rounded) * kMicro, minimum, 0);
        total = minimum;
    }
    q.tokens = core::Tokens(total);
}

}  // namespace

std::string_view rule_name(Rule rule) {
    switch (rule) {
        case Rule::Base:
            return "base";
        case Rule::PerMegapixel:
            return "per_megapixel";
        case Rule::PerOutputMegapixel:
            return "per_output_megapixel";
        case Rule::UpscaleSurcharge:
            return "upscale_surcharge";
        case Rule::Quality:
            return "quality";
        case Rule::Tiling:
            return "tiling";
        case Rule::TimeWindow:
            return "time_window";
        case Rule::TenantDiscount:
            return "tenant_discount";
        case Rule::Rounding:
            return "rounding";
        case Rule::Minimum:
            return "minimum";
    }
    TOLLGATE_ASSERT(false && "unknown Rule");
}

std::string_view Quote::workflow() const {
    return price != nullptr ? std::string_view(price->name) : std::string_view();
}

std::int64_t Quote::model_input_size() const {
    return quality != nullptr ? quality->model_input_size : 0;
}

std::int64_t Quote::minimum_tokens() const {
    if (tenant != nullptr && tenant->minimum_tokens) return *tenant->minimum_tokens;
    return price != nullptr ? price->minimum_tokens : 0;
}

core::Result<std::int64_t> parse_upscale_factor_milli(std::string_view text) {
    std::int64_t milli = 0;
    // Unlike book values, request text may not pad with zeros past 3 places.
    const std::size_t dot = text.find('.');
    const bool too_long = dot != std::string_view::npos && text.size() - dot - 1 > 3;
    switch (too_long ? DecimalStatus::TooManyPlaces
                     : parse_decimal(text, 3, kUpscaleFactorMilliMax, milli)) {
        case DecimalStatus::Ok:
            break;
        case DecimalStatus::Malformed:
            return upscale_error("upscale factor " + core::quote_input(text) +
                                 " is not a decimal number like 2 or 1.5");
        case DecimalStatus::TooManyPlaces:
            return upscale_error("upscale factor " + core::quote_input(text) +
                                 " has more than 3 decimal places");
        case DecimalStatus::TooLarge:
            milli = kUpscaleFactorMilliMax + 1;
            break;
    }
    if (milli < kUpscaleFactorMilliMin || milli > kUpscaleFactorMilliMax) {
        return upscale_error("upscale factor " + core::quote_input(text) +
                             " must be between 1 and 8");
    }
    return milli;
}

core::Result<Quote> quote(const PriceBook& book, const QuoteRequest& request) {
    Quote q;
    q.tenant = request.tenant.empty() ? nullptr : book.find_tenant(request.tenant);
    const auto& workflows = q.tenant != nullptr ? q.tenant->workflows : book.workflows;
    const auto found = workflows.find(request.workflow);
    if (found == workflows.end()) {
        return core::make_error("unknown_workflow", "price book " + book.version +
                                                        " has no workflow " +
                                                        core::quote_input(request.workflow));
    }
    q.price = &found->second;
    if (!dimensions_ok(request)) return dimensions_error(request);
    if (!factor_allowed(*q.price, request.upscale_factor_milli)) {
        return factor_error(*q.price, request.upscale_factor_milli);
    }
    q.quality = q.price->find_quality(request.quality);
    if (q.quality == nullptr && !request.quality.empty()) {
        return quality_error(*q.price, request.quality);
    }

    q.book_version = book.version;
    q.width = request.width;
    q.height = request.height;
    q.upscale_factor_milli = request.upscale_factor_milli;
    q.output_width = request.width * request.upscale_factor_milli / 1000;
    q.output_height = request.height * request.upscale_factor_milli / 1000;
    const std::int64_t tile = q.price->tile_side_px;
    if (tile > 0 && std::max(q.width, q.height) > tile) {
        q.tiles = ceil_div(q.width, tile) * ceil_div(q.height, tile);
    }
    q.at_unix_ms = request.at_unix_ms;
    q.window = book.window_at(request.at_unix_ms);
    q.rounding = request.rounding.value_or(book.rounding);

    settle(q, job_subtotal(q));

    std::int64_t items_sum = 0;
    for (const QuoteItem& item : q.items()) items_sum += item.micro_tokens;
    TOLLGATE_ASSERT(items_sum == q.tokens.value * kMicro);
    TOLLGATE_ASSERT(q.tokens.value >= q.minimum_tokens());
    TOLLGATE_ASSERT(q.tokens.value >= 0 && q.tokens.value <= kQuoteTokensMax);
    return q;
}

std::string describe(const Quote& quote, const QuoteItem& item) {
    const auto tokens_word = [](std::int64_t micro) {
        return micro == kMicro ? std::string(" token") : std::string(" tokens");
    };
    switch (item.rule) {
        case Rule::Base:
            return std::string(quote.workflow()) + " base";
        case Rule::PerMegapixel:
            return format_decimal(item.quantity, 6) + " MP x " +
                   format_micro_tokens(item.rate_micro) + " tokens/MP";
        case Rule::PerOutputMegapixel:
            return format_decimal(item.quantity, 6) + " output MP x " +
                   format_micro_tokens(item.rate_micro) + " tokens/MP";
        case Rule::UpscaleSurcharge:
            return "upscale " + format_decimal(item.quantity, 3) + "x";
        case Rule::Quality:
            return "quality " + (quote.quality != nullptr ? quote.quality->name : std::string("?"));
        case Rule::Tiling:
            return std::to_string(item.quantity) + (item.quantity == 1 ? " tile x " : " tiles x ") +
                   format_micro_tokens(item.rate_micro) + tokens_word(item.rate_micro);
        case Rule::TimeWindow:
            return (quote.window != nullptr ? quote.window->name : std::string("window")) + " x" +
                   format_decimal(item.quantity, 3);
        case Rule::TenantDiscount:
            return (quote.tenant != nullptr ? quote.tenant->name : std::string("tenant")) + " -" +
                   format_decimal(item.quantity, 2) + "%";
        case Rule::Rounding:
            return std::string(to_string(quote.rounding)) + " " +
                   format_micro_tokens(item.quantity) + " -> " +
                   format_micro_tokens(item.quantity + item.micro_tokens);
        case Rule::Minimum:
            return "minimum " + std::to_string(item.quantity) + " tokens";
    }
    TOLLGATE_ASSERT(false && "unknown Rule");
}

std::string format_micro_tokens(std::int64_t micro) { return format_decimal(micro, 6); }

}  // namespace tollgate::pricing
