// Reading and writing wall-clock times in a time zone, for the command line
// and query strings: "2026-11-28", "2026-11-28 19:30", "2026-11-28T19:30:15".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/time_zone.h"

namespace tollgate::core {

// The instant (unix ms) at which the wall clock of `zone` reads `text`: a
// date (its midnight) or a date and time, minutes or seconds, with ' ' or 'T'
// between them. Years 1970..9999. Errors: "invalid_time".
Result<std::int64_t> parse_local_time_ms(std::string_view text, const TimeZone& zone);

// "2026-11-28T19:30:15+01:00" for the instant `unix_ms` in `zone` (seconds
// precision, the offset in force).
std::string format_local_time(std::int64_t unix_ms, const TimeZone& zone);

}  // namespace tollgate::core
