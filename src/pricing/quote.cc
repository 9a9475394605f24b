// Quote arithmetic and the decimal formatting it shows.
//
// Approach: every amount is an int64 count of micro-tokens. The one product
// that can exceed int64 (pixels up to 1e8 times a rate up to 1e12 micro-tokens
// per megapixel) is taken in __int128 and divided back down before anything
// else uses it. Megapixels never exist as a fraction: width * height pixels
// is already the number of micro-megapixels, which is what the per_megapixel
// detail prints.
//
// Each step appends an item, and the rounding and minimum items carry exactly
// the adjustment they made, so the items always sum to the total; quote()
// asserts that before returning. Rejected alternative: computing the total
// separately and deriving items afterwards, which lets the two drift apart.
#include "pricing/quote.h"

#include <cstdint>
#include <string>

#include "core/assert.h"
#include "core/limits.h"

namespace tollgate::pricing {
namespace {

constexpr std::int64_t kMicro = core::kMicroTokensPerToken;

// `value / scale` as an exact decimal, where scale is a power of ten.
std::string format_scaled(std::int64_t value, std::int64_t scale) {
    // Work on the magnitude as unsigned so INT64_MIN has a magnitude too.
    const bool negative = value < 0;
    const std::uint64_t magnitude =
        negative ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
    const auto uscale = static_cast<std::uint64_t>(scale);
    std::string out = negative ? "-" : "";
    out += std::to_string(magnitude / uscale);
    std::uint64_t fraction = magnitude % uscale;
    if (fraction == 0) return out;
    std::string digits;
    for (std::uint64_t unit = uscale / 10; unit > 0; unit /= 10) {
        digits += static_cast<char>('0' + fraction / unit);
        fraction %= unit;
    }
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    return out + "." + digits;
}

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

core::Status check_request(const QuoteRequest& request) {
    using core::limits::kImagePixelsMax;
    using core::limits::kImageSideMax;
    const std::int64_t w = request.width;
    const std::int64_t h = request.height;
    if (w < 1 || h < 1 || w > kImageSideMax || h > kImageSideMax) {
        return core::make_error("invalid_dimensions",
                                "image is " + std::to_string(w) + "x" + std::to_string(h) +
                                    "; each side must be between 1 and " +
                                    std::to_string(kImageSideMax) + " pixels");
    }
    if (w * h > kImagePixelsMax) {
        return core::make_error("invalid_dimensions", "image is " + std::to_string(w) + "x" +
                                                          std::to_string(h) + "; at most " +
                                                          std::to_string(kImagePixelsMax) +
                                                          " pixels are allowed");
    }
    const std::int64_t f = request.upscale_factor_milli;
    if (f < kUpscaleFactorMilliMin || f > kUpscaleFactorMilliMax) {
        return upscale_error("upscale factor " + format_scaled(f, 1000) +
                             " must be between 1 and 8");
    }
    return {};
}

// A price that came from parse_price_book is within these bounds; a hand-built
// one outside them is a programmer error.
void assert_price_in_bounds(const WorkflowPrice& price) {
    TOLLGATE_ASSERT(price.base_micro >= 0 && price.base_micro <= kBaseTokensMax * kMicro);
    TOLLGATE_ASSERT(price.per_megapixel_micro >= 0 &&
                    price.per_megapixel_micro <= kPerMegapixelTokensMax * kMicro);
    TOLLGATE_ASSERT(price.upscale_surcharge_micro >= 0 &&
                    price.upscale_surcharge_micro <= kUpscaleSurchargeTokensMax * kMicro);
    TOLLGATE_ASSERT(price.minimum_tokens >= 0 && price.minimum_tokens <= kMinimumTokensMax);
}

}  // namespace

core::Result<std::int64_t> parse_upscale_factor_milli(std::string_view text) {
    const std::string shown = "\"" + std::string(text.substr(0, 32)) + "\"";
    const std::size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    const auto all_digits = [](std::string_view s) {
        for (char c : s) {
            if (c < '0' || c > '9') return false;
        }
        return true;
    };
    if (whole.empty() || !all_digits(whole) || !all_digits(fraction) ||
        (dot != std::string_view::npos && fraction.empty())) {
        return upscale_error("upscale factor " + shown + " is not a decimal number like 2 or 1.5");
    }
    if (fraction.size() > 3) {
        return upscale_error("upscale factor " + shown + " has more than 3 decimal places");
    }
    // Leading zeros are harmless; anything longer than this is out of range.
    std::size_t first = whole.find_first_not_of('0');
    const std::string_view significant =
        first == std::string_view::npos ? std::string_view() : whole.substr(first);
    if (significant.size() > 6) {
        return upscale_error("upscale factor " + shown + " must be between 1 and 8");
    }
    std::int64_t milli = 0;
    for (char c : significant) milli = milli * 10 + (c - '0');
    milli *= 1000;
    std::int64_t unit = 100;
    for (char c : fraction) {
        milli += (c - '0') * unit;
        unit /= 10;
    }
    if (milli < kUpscaleFactorMilliMin || milli > kUpscaleFactorMilliMax) {
        return upscale_error("upscale factor " + shown + " must be between 1 and 8");
    }
    return milli;
}

core::Result<Quote> quote(const PriceBook& book, const QuoteRequest& request) {
    const WorkflowPrice* price = book.find(request.workflow);
    if (price == nullptr) {
        return core::make_error(
            "unknown_workflow",
            "price book " + book.version + " has no workflow \"" + request.workflow + "\"");
    }
    if (auto status = check_request(request); !status) return status.error();
    assert_price_in_bounds(*price);

    Quote q;
    q.workflow = price->name;
    q.book_version = book.version;
    q.width = request.width;
    q.height = request.height;
    q.upscale_factor_milli = request.upscale_factor_milli;
    q.rounding = request.rounding.value_or(book.rounding);

    q.items.push_back({"base", q.workflow + " base", price->base_micro});

    const std::int64_t pixels = q.width * q.height;  // also micro-megapixels
    const auto product = static_cast<__int128>(pixels) * price->per_megapixel_micro;
    const auto pixel_term = static_cast<std::int64_t>(product / kMicro);
    q.items.push_back({"per_megapixel",
                       format_scaled(pixels, kMicro) + " MP x " +
                           format_micro_tokens(price->per_megapixel_micro) + " tokens/MP",
                       pixel_term});

    std::int64_t subtotal = price->base_micro + pixel_term;
    if (q.upscale_factor_milli > kUpscaleFactorMilliMin) {
        q.items.push_back({"upscale_surcharge",
                           "upscale " + format_scaled(q.upscale_factor_milli, 1000) + "x",
                           price->upscale_surcharge_micro});
        subtotal += price->upscale_surcharge_micro;
    }

    const std::int64_t rounded = round_to_tokens(subtotal, q.rounding);
    if (const std::int64_t adjustment = rounded * kMicro - subtotal; adjustment != 0) {
        q.items.push_back({"rounding",
                           std::string(to_string(q.rounding)) + " " +
                               format_micro_tokens(subtotal) + " → " + std::to_string(rounded),
                           adjustment});
    }

    std::int64_t total = rounded;
    if (price->minimum_tokens > rounded) {
        q.items.push_back({"minimum",
                           "minimum " + std::to_string(price->minimum_tokens) + " tokens",
                           (price->minimum_tokens - rounded) * kMicro});
        total = price->minimum_tokens;
    }
    q.tokens = core::Tokens(total);

    std::int64_t items_sum = 0;
    for (const QuoteItem& item : q.items) items_sum += item.micro_tokens;
    TOLLGATE_ASSERT(items_sum == q.tokens.value * kMicro);
    TOLLGATE_ASSERT(q.tokens.value >= price->minimum_tokens);
    TOLLGATE_ASSERT(q.tokens.value <= core::limits::kQuoteTokensMax);
    return q;
}

std::string format_micro_tokens(std::int64_t micro) { return format_scaled(micro, kMicro); }

}  // namespace tollgate::pricing
