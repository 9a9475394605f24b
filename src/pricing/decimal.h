// Exact decimal text for pricing, internal to the pricing part: parsing
// "12.345" into a scaled integer (12345 at 3 places) and rendering one back.
//
// Every amount in a price book (micro-tokens, permille, basis points, cents,
// upscale factors in thousandths) is a non-negative integer scaled by a power
// of ten. These helpers convert without floating point, so "0.1" is exactly
// 100'000 micro-tokens. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tollgate::pricing {

enum class DecimalStatus { Ok, Malformed, TooManyPlaces, TooLarge };

// Parses `text` (digits, then optionally '.' and at least one digit; no sign,
// exponent, spaces or '_') as value * 10^places into `out`. Trailing zeros
// past `places` are accepted ("2.50" at 1 place is 25). TooLarge when the
// scaled value exceeds `scaled_max`.
DecimalStatus parse_decimal(std::string_view text, int places, std::int64_t scaled_max,
                            std::int64_t& out);

// 10^places, for places in [0, 18].
std::int64_t pow10(int places);

// `value / 10^places` with trailing zeros dropped: (960000, 6) -> "0.96",
// (-1500, 3) -> "-1.5", (10, 0) -> "10".
std::string format_decimal(std::int64_t value, int places);

}  // namespace tollgate::pricing
