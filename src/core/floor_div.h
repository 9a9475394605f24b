// Integer division rounded toward negative infinity, for turning instants
// into days and seconds: an instant before 1970 lands in the day and second
// that contain it, not the one after. Shared by the calendar code of core/,
// pricing/ and http/api/.
#pragma once

#include <cstdint>

#include "core/assert.h"

namespace tollgate::core {

inline constexpr std::int64_t kSecondsPerDay = 86'400;

constexpr std::int64_t floor_div(std::int64_t value, std::int64_t divisor) {
    TOLLGATE_ASSERT(divisor != 0);
    const std::int64_t quotient = value / divisor;
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

}  // namespace tollgate::core
