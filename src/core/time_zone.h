// IANA time zones and civil (calendar) time, without the C library's global
// TZ state.
//
// A TimeZone is read once from a compiled zoneinfo file (TZif, RFC 8536,
// versions 2 to 4: only the 64-bit section and the footer are used). At load
// the footer's POSIX rule is expanded into explicit transitions up to
// kTimeZoneYearMax, so offset_at() is a binary search over a sorted vector:
// no allocation, no locks, safe from any thread. Zoneinfo files are outside
// bytes: every count and index is bounded and checked before use.
//
// Civil helpers use the proleptic Gregorian calendar and days since
// 1970-01-01 (negative before it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::core {

inline constexpr int kTimeZoneYearMax = 2200;
inline constexpr std::size_t kTimeZoneFileBytesMax = 64 * 1024;
inline constexpr std::size_t kTimeZoneNameBytesMax = 64;

struct CivilDate {
    int year = 1970;
    int month = 1;  // 1..12
    int day = 1;    // 1..31
    friend bool operator==(const CivilDate&, const CivilDate&) = default;
};

// Days since 1970-01-01 for a valid date, and back.
std::int64_t days_from_civil(CivilDate date);
CivilDate civil_from_days(std::int64_t days);
// 0 = Sunday ... 6 = Saturday.
int weekday_from_days(std::int64_t days);
int days_in_month(int year, int month);
// "2026-11-28".
std::string format_civil_date(CivilDate date);

class TimeZone {
  public:
    // The fixed zone "UTC".
    static TimeZone utc();

    // Loads `name` (e.g. "Europe/Paris") from `zoneinfo_dir`. The name must be
    // a relative path of letters, digits and "/_-+" with no "." segments.
    // Errors have code "invalid_time_zone" and name the zone.
    static Result<TimeZone> load(std::string_view name,
                                 const std::string& zoneinfo_dir = "/usr/share/zoneinfo");

    // Parses TZif bytes; `name` is only recorded and used in messages.
    static Result<TimeZone> from_tzif(std::string_view name, std::string_view bytes);

    const std::string& name() const { return name_; }

    // Offset from UTC in seconds in force at `unix_s` (local = unix + offset).
    std::int32_t offset_at(std::int64_t unix_s) const;

    // Seconds since 1970-01-01 00:00 on the local wall clock.
    std::int64_t to_local_s(std::int64_t unix_s) const { return unix_s + offset_at(unix_s); }

    // The instant at which the local wall clock reads `local_s`. In a gap
    // (clocks jump forward) the time is read with the offset in force before
    // the gap, so 02:30 on a spring-forward night becomes 03:30 local. In an
    // overlap (clocks go back) the earlier of the two instants is returned.
    std::int64_t to_unix_s(std::int64_t local_s) const;

    // Transitions (first instant of each new offset), ascending; for tests and tools.
    const std::vector<std::int64_t>& transitions() const { return transitions_; }

  private:
    std::string name_;
    std::int32_t initial_offset_s_ = 0;   // before the first transition
    std::vector<std::int64_t> transitions_;  // unix seconds, strictly ascending
    std::vector<std::int32_t> offsets_s_;     // offsets_s_[i] applies from transitions_[i]
};

}  // namespace tollgate::core
