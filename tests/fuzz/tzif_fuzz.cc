// Fuzz target: core::TimeZone::from_tzif() (src/core/time_zone.h), the TZif
// reader and the POSIX TZ footer expansion behind every price book's
// time zone.
//
// The input is the zoneinfo file. Checks: failures are "invalid_time_zone";
// a loaded zone has strictly ascending transitions; and at sampled instants
// (around its first and last transitions and fixed dates) the two
// conversions agree: the local time of an instant u converts back to the
// earliest instant showing that local time, so to_unix_s(to_local_s(u)) is
// at most u and shows the same wall-clock time.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/assert.h"
#include "core/time_zone.h"
#include "fuzz/fuzz_input.h"

namespace {

using namespace tollgate;

constexpr std::size_t kInputBytesMax = core::kTimeZoneFileBytesMax + 1;
// Instants checked per zone: this many transitions at each end.
constexpr std::size_t kTransitionsSampled = 8;
// Sampled instants stay within +-2^61 s, far inside to_unix_s()'s clamp.
constexpr std::int64_t kInstantAbsMax = std::int64_t{1} << 61;
// 1900-01-01, 1970-01-01, 2026-03-29 01:00 UTC and 2200-06-01, in unix seconds.
constexpr std::int64_t kFixedInstants[] = {-2'208'988'800, 0, 1'774'746'000, 7'271'164'800};

void check_instant(const core::TimeZone& zone, std::int64_t unix_s) {
    if (unix_s < -kInstantAbsMax || unix_s > kInstantAbsMax) return;
    const std::int64_t local_s = zone.to_local_s(unix_s);
    const std::int64_t earliest = zone.to_unix_s(local_s);
    TOLLGATE_ASSERT(earliest <= unix_s);
    TOLLGATE_ASSERT(zone.to_local_s(earliest) == local_s);
}

void check_around(const core::TimeZone& zone, std::int64_t t) {
    for (const std::int64_t delta : {-90'000, -3'600, -1, 0, 1, 3'600, 90'000}) {
        if ((delta < 0 && t < -kInstantAbsMax - delta) ||
            (delta > 0 && t > kInstantAbsMax - delta)) {
            continue;
        }
        check_instant(zone, t + delta);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kInputBytesMax) return 0;
    const auto zone = core::TimeZone::from_tzif("Fuzz/Zone", fuzz::as_text(data, size));
    if (!zone.ok()) {
        TOLLGATE_ASSERT(zone.error().code == "invalid_time_zone");
        return 0;
    }
    const std::vector<std::int64_t>& transitions = zone->transitions();
    TOLLGATE_ASSERT(std::adjacent_find(transitions.begin(), transitions.end(),
                                       [](std::int64_t a, std::int64_t b) { return a >= b; }) ==
                    transitions.end());
    const std::size_t n = transitions.size();
    for (std::size_t i = 0; i < n && i < kTransitionsSampled; ++i) {
        check_around(*zone, transitions[i]);
        check_around(*zone, transitions[n - 1 - i]);
    }
    for (const std::int64_t instant : kFixedInstants) check_around(*zone, instant);
    return 0;
}
