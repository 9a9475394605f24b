// Exact decimal parsing and rendering. Magnitudes are handled as unsigned so
// INT64_MIN renders too; parsing stops as soon as the value passes its bound,
// so no digit string, however long, can overflow.
#include "pricing/decimal.h"

#include "core/assert.h"

namespace tollgate::pricing {

std::int64_t pow10(int places) {
    TOLLGATE_ASSERT(places >= 0 && places <= 18);
    std::int64_t result = 1;
    for (int i = 0; i < places; ++i) result *= 10;
    return result;
}

DecimalStatus parse_decimal(std::string_view text, int places, std::int64_t scaled_max,
                            std::int64_t& out) {
    TOLLGATE_ASSERT(scaled_max >= 0);
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
        return DecimalStatus::Malformed;
    }
    std::string_view kept = fraction;
    while (kept.size() > static_cast<std::size_t>(places) && kept.back() == '0') {
        kept.remove_suffix(1);
    }
    if (kept.size() > static_cast<std::size_t>(places)) return DecimalStatus::TooManyPlaces;

    const std::int64_t scale = pow10(places);
    const std::int64_t whole_max = scaled_max / scale;
    std::int64_t value = 0;
    for (char c : whole) {
        value = value * 10 + (c - '0');
        if (value > whole_max) return DecimalStatus::TooLarge;
    }
    value *= scale;
    std::int64_t unit = scale / 10;
    for (char c : kept) {
        value += (c - '0') * unit;
        unit /= 10;
    }
    if (value > scaled_max) return DecimalStatus::TooLarge;
    out = value;
    return DecimalStatus::Ok;
}

std::string format_decimal(std::int64_t value, int places) {
    const bool negative = value < 0;
    const std::uint64_t magnitude =
        negative ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
    const auto scale = static_cast<std::uint64_t>(pow10(places));
    std::string out = negative ? "-" : "";
    out += std::to_string(magnitude / scale);
    std::uint64_t fraction = magnitude % scale;
    if (fraction == 0) return out;
    out += '.';
    for (std::uint64_t unit = scale / 10; unit > 0 && fraction > 0; unit /= 10) {
        out += static_cast<char>('0' + fraction / unit);
        fraction %= unit;
    }
    return out;
}

}  // namespace tollgate::pricing
