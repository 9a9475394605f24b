// Token amounts: the only money type in tollgate.
//
// A token amount is a signed 64-bit integer. Floating point never holds money:
// prices are computed in integer micro-tokens (see pricing/) and rounded to
// whole tokens once, by an explicit rule, before anything is held or stored.
#pragma once

#include <compare>
#include <cstdint>

namespace tollgate::core {

// One token is split into this many micro-tokens for exact price arithmetic.
inline constexpr std::int64_t kMicroTokensPerToken = 1'000'000;

struct Tokens {
    std::int64_t value = 0;

    constexpr Tokens() = default;
    constexpr explicit Tokens(std::int64_t v) : value(v) {}

    constexpr auto operator<=>(const Tokens&) const = default;
    constexpr Tokens operator+(Tokens o) const { return Tokens(value + o.value); }
    constexpr Tokens operator-(Tokens o) const { return Tokens(value - o.value); }
    constexpr Tokens& operator+=(Tokens o) {
        value += o.value;
        return *this;
    }
    constexpr Tokens& operator-=(Tokens o) {
        value -= o.value;
        return *this;
    }
};

}  // namespace tollgate::core
