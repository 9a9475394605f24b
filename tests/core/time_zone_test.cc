// Tests for civil-date arithmetic and TimeZone: offsets and transitions read
// from the system zoneinfo files (tzdata), the expansion of the POSIX footer
// rule past 2037, local-to-UTC conversion in gaps and overlaps, synthetic
// TZif files built here byte by byte, and hostile input that must fail
// cleanly with "invalid_time_zone".
#include "core/time_zone.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace tollgate::core {
namespace {

constexpr const char* kZoneinfoDir = "/usr/share/zoneinfo";
constexpr std::int32_t kHour = 3600;

// Unix seconds of a UTC wall-clock time.
std::int64_t utc_s(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) {
    return days_from_civil(CivilDate{year, month, day}) * 86'400 + hour * 3600 + minute * 60 +
           second;
}

// ---------------------------------------------------------------------------
// Civil dates.

TEST(CivilTest, EpochIsDayZero) {
    EXPECT_EQ(days_from_civil(CivilDate{1970, 1, 1}), 0);
    EXPECT_EQ(civil_from_days(0), (CivilDate{1970, 1, 1}));
    EXPECT_EQ(days_from_civil(CivilDate{1969, 12, 31}), -1);
    EXPECT_EQ(civil_from_days(-1), (CivilDate{1969, 12, 31}));
}

TEST(CivilTest, KnownDates) {
    // Values independently computed (date -u -d ... +%s, divided by 86400).
    EXPECT_EQ(days_from_civil(CivilDate{2000, 3, 1}), 11'017);
    EXPECT_EQ(days_from_civil(CivilDate{2000, 2, 29}), 11'016);
    EXPECT_EQ(days_from_civil(CivilDate{2026, 11, 28}), 20'785);
    EXPECT_EQ(days_from_civil(CivilDate{1900, 1, 1}), -25'567);
    EXPECT_EQ(days_from_civil(CivilDate{2200, 1, 1}), 84'006);
    EXPECT_EQ(days_from_civil(CivilDate{0, 3, 1}), -719'468);
    EXPECT_EQ(civil_from_days(20'785), (CivilDate{2026, 11, 28}));
    EXPECT_EQ(civil_from_days(11'016), (CivilDate{2000, 2, 29}));
    EXPECT_EQ(civil_from_days(-719'468), (CivilDate{0, 3, 1}));
}

TEST(CivilTest, Weekdays) {
    EXPECT_EQ(weekday_from_days(0), 4);  // 1970-01-01, Thursday
    EXPECT_EQ(weekday_from_days(-1), 3);
    EXPECT_EQ(weekday_from_days(-7), 4);
    EXPECT_EQ(weekday_from_days(days_from_civil(CivilDate{2026, 11, 28})), 6);  // Saturday
    EXPECT_EQ(weekday_from_days(days_from_civil(CivilDate{2000, 1, 1})), 6);    // Saturday
    EXPECT_EQ(weekday_from_days(days_from_civil(CivilDate{2026, 3, 29})), 0);   // Sunday
    EXPECT_EQ(weekday_from_days(days_from_civil(CivilDate{1900, 1, 1})), 1);    // Monday
}

TEST(CivilTest, DaysInMonthFollowsGregorianLeapYears) {
    EXPECT_EQ(days_in_month(2024, 2), 29);
    EXPECT_EQ(days_in_month(2026, 2), 28);
    EXPECT_EQ(days_in_month(2000, 2), 29);  // divisible by 400
    EXPECT_EQ(days_in_month(1900, 2), 28);  // divisible by 100 only
    EXPECT_EQ(days_in_month(2100, 2), 28);
    EXPECT_EQ(days_in_month(2400, 2), 29);
    EXPECT_EQ(days_in_month(-4, 2), 29);
    const int lengths[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int month = 1; month <= 12; ++month) {
        EXPECT_EQ(days_in_month(2026, month), lengths[month - 1]) << month;
    }
    // A leap year has 366 days, others 365.
    for (int year : {1600, 1700, 1900, 2000, 2023, 2024, 2100}) {
        const std::int64_t days =
            days_from_civil(CivilDate{year + 1, 1, 1}) - days_from_civil(CivilDate{year, 1, 1});
        EXPECT_EQ(days, days_in_month(year, 2) == 29 ? 366 : 365) << year;
    }
}

// Walks every day across about 5,500 years: each day is the next one after
// the previous, both directions agree, and the weekday advances by one.
TEST(CivilTest, RoundTripOverWideRange) {
    const std::int64_t first = days_from_civil(CivilDate{-400, 1, 1});
    const std::int64_t last = days_from_civil(CivilDate{5000, 12, 31});
    CivilDate expected = civil_from_days(first);
    ASSERT_EQ(expected, (CivilDate{-400, 1, 1}));
    for (std::int64_t days = first; days <= last; ++days) {
        const CivilDate date = civil_from_days(days);
        ASSERT_EQ(date, expected) << days;
        ASSERT_EQ(days_from_civil(date), days);
        ASSERT_EQ(weekday_from_days(days + 1), (weekday_from_days(days) + 1) % 7);
        if (expected.day < days_in_month(expected.year, expected.month)) {
            ++expected.day;
        } else if (expected.month < 12) {
            expected = CivilDate{expected.year, expected.month + 1, 1};
        } else {
            expected = CivilDate{expected.year + 1, 1, 1};
        }
    }
}

TEST(CivilTest, FormatPadsFields) {
    EXPECT_EQ(format_civil_date(CivilDate{2026, 11, 28}), "2026-11-28");
    EXPECT_EQ(format_civil_date(CivilDate{1970, 1, 1}), "1970-01-01");
    EXPECT_EQ(format_civil_date(CivilDate{5, 3, 7}), "0005-03-07");
    EXPECT_EQ(format_civil_date(CivilDate{0, 1, 1}), "0000-01-01");
    EXPECT_EQ(format_civil_date(CivilDate{9999, 12, 31}), "9999-12-31");
}

// ---------------------------------------------------------------------------
// Zones from the system's zoneinfo.

class TimeZoneTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!std::filesystem::exists(std::string(kZoneinfoDir) + "/Europe/Paris")) {
            GTEST_SKIP() << "SKIPPED: no tzdata in " << kZoneinfoDir
                         << " (scripts/install-deps.sh installs it)";
        }
    }

    static TimeZone load(std::string_view name) {
        Result<TimeZone> zone = TimeZone::load(name, kZoneinfoDir);
        EXPECT_TRUE(zone.ok()) << name << ": " << (zone.ok() ? "" : zone.error().message);
        return zone.ok() ? *zone : TimeZone::utc();
    }

    static std::string read_bytes(const std::string& name) {
        std::ifstream in(std::string(kZoneinfoDir) + "/" + name, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
};

// Every stored transition changes the offset, and they strictly ascend.
void expect_well_formed(const TimeZone& zone) {
    const std::vector<std::int64_t>& t = zone.transitions();
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (i > 0) {
            ASSERT_LT(t[i - 1], t[i]) << zone.name() << " at " << i;
        }
        if (t[i] == std::numeric_limits<std::int64_t>::min()) continue;
        ASSERT_NE(zone.offset_at(t[i] - 1), zone.offset_at(t[i])) << zone.name() << " at " << i;
    }
}

TEST(TimeZoneUtcTest, FixedZoneHasNoTransitions) {
    const TimeZone zone = TimeZone::utc();
    EXPECT_EQ(zone.name(), "UTC");
    EXPECT_TRUE(zone.transitions().empty());
    for (std::int64_t t :
         {std::int64_t{-5'000'000'000}, std::int64_t{0}, utc_s(2026, 7, 1), utc_s(2199, 12, 31)}) {
        EXPECT_EQ(zone.offset_at(t), 0);
        EXPECT_EQ(zone.to_local_s(t), t);
        EXPECT_EQ(zone.to_unix_s(t), t);
    }
}

TEST_F(TimeZoneTest, UtcLoadsFromZoneinfo) {
    const TimeZone zone = load("UTC");
    EXPECT_EQ(zone.name(), "UTC");
    EXPECT_TRUE(zone.transitions().empty());
    EXPECT_EQ(zone.offset_at(utc_s(2026, 7, 1)), 0);
    EXPECT_EQ(zone.offset_at(utc_s(2150, 1, 1)), 0);
}

TEST_F(TimeZoneTest, ParisWinterAndSummer2026) {
    const TimeZone paris = load("Europe/Paris");
    EXPECT_EQ(paris.name(), "Europe/Paris");
    EXPECT_EQ(paris.offset_at(utc_s(2026, 1, 15, 12)), 1 * kHour);
    EXPECT_EQ(paris.offset_at(utc_s(2026, 7, 1, 12)), 2 * kHour);
    EXPECT_EQ(paris.offset_at(utc_s(2026, 12, 31, 23, 59, 59)), 1 * kHour);
    expect_well_formed(paris);
}

TEST_F(TimeZoneTest, ParisTransitionInstants2026) {
    const TimeZone paris = load("Europe/Paris");
    const std::int64_t spring = 1'774'746'000;  // 2026-03-29 01:00 UTC
    const std::int64_t autumn = 1'792'890'000;  // 2026-10-25 01:00 UTC
    ASSERT_EQ(utc_s(2026, 3, 29, 1), spring);
    ASSERT_EQ(utc_s(2026, 10, 25, 1), autumn);
    EXPECT_EQ(paris.offset_at(spring - 1), 1 * kHour);
    EXPECT_EQ(paris.offset_at(spring), 2 * kHour);
    EXPECT_EQ(paris.offset_at(autumn - 1), 2 * kHour);
    EXPECT_EQ(paris.offset_at(autumn), 1 * kHour);
    const std::vector<std::int64_t>& t = paris.transitions();
    EXPECT_TRUE(std::binary_search(t.begin(), t.end(), spring));
    EXPECT_TRUE(std::binary_search(t.begin(), t.end(), autumn));
    // The wall clock jumps from 02:00 to 03:00, and from 03:00 back to 02:00.
    EXPECT_EQ(paris.to_local_s(spring - 1), utc_s(2026, 3, 29, 1, 59, 59));
    EXPECT_EQ(paris.to_local_s(spring), utc_s(2026, 3, 29, 3));
    EXPECT_EQ(paris.to_local_s(autumn - 1), utc_s(2026, 10, 25, 2, 59, 59));
    EXPECT_EQ(paris.to_local_s(autumn), utc_s(2026, 10, 25, 2));
}

TEST_F(TimeZoneTest, NewYorkTransitions2026) {
    const TimeZone new_york = load("America/New_York");
    const std::int64_t spring = 1'772'953'200;  // 2026-03-08 07:00 UTC (02:00 EST)
    const std::int64_t autumn = 1'793'512'800;  // 2026-11-01 06:00 UTC (02:00 EDT)
    EXPECT_EQ(new_york.offset_at(utc_s(2026, 1, 15)), -5 * kHour);
    EXPECT_EQ(new_york.offset_at(spring - 1), -5 * kHour);
    EXPECT_EQ(new_york.offset_at(spring), -4 * kHour);
    EXPECT_EQ(new_york.offset_at(autumn - 1), -4 * kHour);
    EXPECT_EQ(new_york.offset_at(autumn), -5 * kHour);
    expect_well_formed(new_york);
}

TEST_F(TimeZoneTest, FooterRuleCoversYearsPast2037) {
    const TimeZone paris = load("Europe/Paris");
    EXPECT_EQ(paris.offset_at(utc_s(2100, 7, 1)), 2 * kHour);
    EXPECT_EQ(paris.offset_at(utc_s(2100, 1, 15)), 1 * kHour);
    // Last Sundays of March and October 2100, 01:00 UTC (date -u -d ... +%s).
    EXPECT_EQ(paris.offset_at(4'109'878'800 - 1), 1 * kHour);
    EXPECT_EQ(paris.offset_at(4'109'878'800), 2 * kHour);
    EXPECT_EQ(paris.offset_at(4'128'627'600 - 1), 2 * kHour);
    EXPECT_EQ(paris.offset_at(4'128'627'600), 1 * kHour);
    // The expansion reaches the last year of the table: 2200-10-26 01:00 UTC.
    ASSERT_FALSE(paris.transitions().empty());
    EXPECT_EQ(paris.transitions().back(), 7'283'869'200);

    const TimeZone new_york = load("America/New_York");
    EXPECT_EQ(new_york.offset_at(utc_s(2100, 7, 1)), -4 * kHour);
    EXPECT_EQ(new_york.offset_at(utc_s(2100, 12, 1)), -5 * kHour);
    EXPECT_EQ(new_york.offset_at(utc_s(2199, 7, 1)), -4 * kHour);
}

TEST_F(TimeZoneTest, LordHoweHasHalfHourDst) {
    const TimeZone lord_howe = load("Australia/Lord_Howe");
    const std::int32_t standard = 10 * kHour + 1800;  // +10:30
    const std::int32_t summer = 11 * kHour;
    EXPECT_EQ(lord_howe.offset_at(utc_s(2026, 1, 15)), summer);
    EXPECT_EQ(lord_howe.offset_at(utc_s(2026, 7, 1)), standard);
    // DST ends on the first Sunday of April at 02:00 local summer time
    // (2026-04-04 15:00 UTC) and starts on the first Sunday of October at
    // 02:00 local standard time (2026-10-03 15:30 UTC).
    const std::int64_t end = utc_s(2026, 4, 4, 15);
    const std::int64_t start = utc_s(2026, 10, 3, 15, 30);
    EXPECT_EQ(lord_howe.offset_at(end - 1), summer);
    EXPECT_EQ(lord_howe.offset_at(end), standard);
    EXPECT_EQ(lord_howe.offset_at(start - 1), standard);
    EXPECT_EQ(lord_howe.offset_at(start), summer);
    EXPECT_EQ(lord_howe.offset_at(utc_s(2100, 1, 1)), summer);
    EXPECT_EQ(lord_howe.offset_at(utc_s(2100, 6, 1)), standard);
    expect_well_formed(lord_howe);
}

TEST_F(TimeZoneTest, KolkataHasFixedOffsetWithoutDst) {
    const TimeZone kolkata = load("Asia/Kolkata");
    const std::int32_t offset = 5 * kHour + 1800;  // +05:30
    for (std::int64_t t : {utc_s(2026, 1, 15), utc_s(2026, 7, 1), utc_s(2100, 7, 1)}) {
        EXPECT_EQ(kolkata.offset_at(t), offset);
    }
    // No DST rule, so nothing is generated after the last explicit change.
    ASSERT_FALSE(kolkata.transitions().empty());
    EXPECT_LT(kolkata.transitions().back(), utc_s(1950, 1, 1));
    expect_well_formed(kolkata);
}

TEST_F(TimeZoneTest, ToUnixInGapUsesOffsetBeforeGap) {
    const TimeZone paris = load("Europe/Paris");
    // 02:30 does not exist on 2026-03-29; read with +01:00 it is 01:30 UTC,
    // which the wall clock shows as 03:30.
    const std::int64_t unix_s = paris.to_unix_s(utc_s(2026, 3, 29, 2, 30));
    EXPECT_EQ(unix_s, utc_s(2026, 3, 29, 1, 30));
    EXPECT_EQ(paris.to_local_s(unix_s), utc_s(2026, 3, 29, 3, 30));
    // The edges of the gap: 02:00 is the first skipped second, 03:00 exists.
    EXPECT_EQ(paris.to_unix_s(utc_s(2026, 3, 29, 2)), utc_s(2026, 3, 29, 1));
    EXPECT_EQ(paris.to_unix_s(utc_s(2026, 3, 29, 3)), utc_s(2026, 3, 29, 1));
    EXPECT_EQ(paris.to_unix_s(utc_s(2026, 3, 29, 1, 59, 59)), utc_s(2026, 3, 29, 0, 59, 59));
}

TEST_F(TimeZoneTest, ToUnixInOverlapReturnsEarlierInstant) {
    const TimeZone paris = load("Europe/Paris");
    // 02:30 happens twice on 2026-10-25: at 00:30 UTC (+02:00), then 01:30
    // UTC (+01:00).
    const std::int64_t local = utc_s(2026, 10, 25, 2, 30);
    EXPECT_EQ(paris.to_local_s(utc_s(2026, 10, 25, 0, 30)), local);
    EXPECT_EQ(paris.to_local_s(utc_s(2026, 10, 25, 1, 30)), local);
    EXPECT_EQ(paris.to_unix_s(local), utc_s(2026, 10, 25, 0, 30));
    EXPECT_EQ(paris.to_unix_s(utc_s(2026, 10, 25, 3)), utc_s(2026, 10, 25, 2));
}

// For every quarter hour of 2026 and of 2150: converting to local and back
// gives an instant showing the same wall clock, never later than the original
// (earlier only in an overlap).
TEST_F(TimeZoneTest, ToUnixInvertsToLocal) {
    for (const char* name : {"Europe/Paris", "America/New_York", "Australia/Lord_Howe",
                             "Asia/Kolkata", "America/St_Johns", "UTC"}) {
        const TimeZone zone = load(name);
        for (int year : {2026, 2150}) {
            for (std::int64_t t = utc_s(year, 1, 1); t < utc_s(year + 1, 1, 1); t += 900) {
                const std::int64_t local = zone.to_local_s(t);
                const std::int64_t back = zone.to_unix_s(local);
                ASSERT_EQ(zone.to_local_s(back), local) << name << " " << t;
                ASSERT_LE(back, t) << name << " " << t;
                ASSERT_GE(back, t - kHour) << name << " " << t;
            }
        }
    }
}

TEST_F(TimeZoneTest, ManyZonesLoadWellFormed) {
    for (const char* name :
         {"Europe/London", "Europe/Moscow", "America/Sao_Paulo", "America/Santiago",
          "Pacific/Auckland", "Pacific/Chatham", "Pacific/Kiritimati", "Africa/Casablanca",
          "Asia/Tehran", "America/Nuuk", "Antarctica/Troll", "Etc/GMT+12", "Etc/GMT-14"}) {
        const TimeZone zone = load(name);
        EXPECT_EQ(zone.name(), name);
        expect_well_formed(zone);
    }
}

// ---------------------------------------------------------------------------
// Synthetic TZif files.

struct TestType {
    std::int32_t offset_s = 0;
    std::uint8_t is_dst = 0;
    std::uint8_t abbreviation_index = 0;
};

void put32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void put64(std::string& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

struct Counts {
    std::uint32_t isut = 0, isstd = 0, leap = 0, time = 0, type = 0, chars = 0;
};

std::string header(char version, const Counts& c) {
    std::string out = "TZif";
    out.push_back(version);
    out.append(15, '\0');
    for (std::uint32_t v : {c.isut, c.isstd, c.leap, c.time, c.type, c.chars}) put32(out, v);
    return out;
}

struct TzifSpec {
    char version = '2';
    std::vector<std::int64_t> times;
    std::vector<std::uint8_t> type_indices;
    std::vector<TestType> types = {TestType{}};
    std::string chars = std::string("UTC\0", 4);
    std::string footer;
};

// One data block with times `time_bytes` wide (4 or 8), without header.
std::string data_block(const TzifSpec& spec, int time_bytes) {
    std::string out;
    for (std::int64_t t : spec.times) {
        if (time_bytes == 8) {
            put64(out, static_cast<std::uint64_t>(t));
        } else {
            put32(out, static_cast<std::uint32_t>(t));
        }
    }
    for (std::uint8_t index : spec.type_indices) out.push_back(static_cast<char>(index));
    for (const TestType& type : spec.types) {
        put32(out, static_cast<std::uint32_t>(type.offset_s));
        out.push_back(static_cast<char>(type.is_dst));
        out.push_back(static_cast<char>(type.abbreviation_index));
    }
    return out + spec.chars;
}

Counts counts_of(const TzifSpec& spec) {
    Counts c;
    c.time = static_cast<std::uint32_t>(spec.times.size());
    c.type = static_cast<std::uint32_t>(spec.types.size());
    c.chars = static_cast<std::uint32_t>(spec.chars.size());
    return c;
}

// A version-2+ file: a minimal v1 block (one UTC type), the 64-bit block and
// the footer; a version-1 file: the 32-bit block only.
std::string build_tzif(const TzifSpec& spec) {
    if (spec.version == '\0') return header('\0', counts_of(spec)) + data_block(spec, 4);
    TzifSpec v1;
    Counts v1_counts = counts_of(v1);
    return header(spec.version, v1_counts) + data_block(v1, 4) +
           header(spec.version, counts_of(spec)) + data_block(spec, 8) + "\n" + spec.footer + "\n";
}

// The US Eastern zone as a footer-only file: no transitions, the rule does
// all the work.
TzifSpec eastern_footer_only() {
    TzifSpec spec;
    spec.types = {TestType{-5 * kHour, 0, 0}, TestType{-4 * kHour, 1, 4}};
    spec.chars = std::string("EST\0EDT\0", 8);
    spec.footer = "EST5EDT,M3.2.0,M11.1.0";
    return spec;
}

TimeZone parse_ok(const std::string& bytes, std::string_view name = "Test/Zone") {
    Result<TimeZone> zone = TimeZone::from_tzif(name, bytes);
    EXPECT_TRUE(zone.ok()) << (zone.ok() ? "" : zone.error().message);
    return zone.ok() ? *zone : TimeZone::utc();
}

TEST(TimeZoneTzifTest, FooterOnlyZoneExpandsRule) {
    const TimeZone zone = parse_ok(build_tzif(eastern_footer_only()));
    EXPECT_EQ(zone.name(), "Test/Zone");
    EXPECT_EQ(zone.offset_at(utc_s(2030, 1, 15)), -5 * kHour);
    EXPECT_EQ(zone.offset_at(utc_s(2030, 7, 1)), -4 * kHour);
    // Second Sunday of March 2030 is the 10th, first Sunday of November the
    // 3rd; both changes happen at 02:00 local time.
    const std::int64_t spring = 1'899'356'400;  // 2030-03-10 07:00 UTC
    const std::int64_t autumn = 1'919'916'000;  // 2030-11-03 06:00 UTC
    EXPECT_EQ(zone.offset_at(spring - 1), -5 * kHour);
    EXPECT_EQ(zone.offset_at(spring), -4 * kHour);
    EXPECT_EQ(zone.offset_at(autumn - 1), -4 * kHour);
    EXPECT_EQ(zone.offset_at(autumn), -5 * kHour);
    EXPECT_EQ(zone.offset_at(utc_s(2200, 7, 1)), -4 * kHour);
    expect_well_formed(zone);
}

TEST(TimeZoneTzifTest, JulianAndZeroBasedRuleDates) {
    TzifSpec spec;
    spec.types = {TestType{2 * kHour, 0, 0}, TestType{3 * kHour, 1, 4}};
    spec.chars = std::string("XST\0XDT\0", 8);
    // DST from J60 (March 1 even in leap years) at 03:00 to zero-based day 300
    // at -01:00, that is 23:00 the evening before.
    spec.footer = "XST-2XDT,J60/3,300/-1";
    const TimeZone zone = parse_ok(build_tzif(spec));
    const std::int64_t starts[] = {utc_s(2030, 3, 1, 1), utc_s(2032, 3, 1, 1)};
    // Day 300 is October 28 in 2030 and October 27 in leap year 2032.
    const std::int64_t ends[] = {utc_s(2030, 10, 27, 20), utc_s(2032, 10, 26, 20)};
    for (std::int64_t start : starts) {
        EXPECT_EQ(zone.offset_at(start - 1), 2 * kHour);
        EXPECT_EQ(zone.offset_at(start), 3 * kHour);
    }
    for (std::int64_t end : ends) {
        EXPECT_EQ(zone.offset_at(end - 1), 3 * kHour);
        EXPECT_EQ(zone.offset_at(end), 2 * kHour);
    }
}

TEST(TimeZoneTzifTest, ExplicitDstOffsetAndRuleTimes) {
    TzifSpec spec;
    spec.types = {TestType{-(3 * kHour + 1800), 0, 0}, TestType{-(1 * kHour + 1800), 1, 4}};
    spec.chars = std::string("AAA\0BBB\0", 8);
    // Offsets with minutes, a two-hour DST jump, rule times with seconds.
    spec.footer = "AAA3:30BBB+1:30:00,M4.1.0/1:02:03,M10.5.6/23:59:59";
    const TimeZone zone = parse_ok(build_tzif(spec));
    // First Sunday of April 2030 is the 7th; last Saturday of October the 26th.
    const std::int64_t start = utc_s(2030, 4, 7, 1, 2, 3) + 3 * kHour + 1800;
    const std::int64_t end = utc_s(2030, 10, 26, 23, 59, 59) + 1 * kHour + 1800;
    EXPECT_EQ(zone.offset_at(start - 1), -(3 * kHour + 1800));
    EXPECT_EQ(zone.offset_at(start), -(1 * kHour + 1800));
    EXPECT_EQ(zone.offset_at(end - 1), -(1 * kHour + 1800));
    EXPECT_EQ(zone.offset_at(end), -(3 * kHour + 1800));
}

// RFC 8536 version 3 allows rule times outside 0..24h: "J365/25" ends DST at
// the moment the next year's DST begins, so DST is permanent.
TEST(TimeZoneTzifTest, PermanentDstRuleMakesOneTransition) {
    TzifSpec spec = eastern_footer_only();
    spec.version = '3';
    spec.footer = "EST5EDT,0/0,J365/25";
    const TimeZone zone = parse_ok(build_tzif(spec));
    for (std::int64_t t :
         {utc_s(2030, 1, 1, 5), utc_s(2030, 7, 1), utc_s(2030, 12, 31, 23), utc_s(2150, 1, 1)}) {
        EXPECT_EQ(zone.offset_at(t), -4 * kHour) << t;
    }
    EXPECT_EQ(zone.transitions().size(), 1u);
    EXPECT_EQ(zone.offset_at(utc_s(1800, 1, 1)), -5 * kHour);
}

TEST(TimeZoneTzifTest, FixedOffsetFooters) {
    struct Case {
        const char* footer;
        std::int32_t offset_s;
    };
    for (const Case& c : {Case{"<+03>-3", 3 * kHour}, Case{"UTC0", 0}, Case{"EST5", -5 * kHour},
                          Case{"<-0930>+9:30", -(9 * kHour + 1800)}}) {
        TzifSpec spec;
        spec.types = {TestType{c.offset_s, 0, 0}};
        spec.footer = c.footer;
        const TimeZone zone = parse_ok(build_tzif(spec));
        EXPECT_TRUE(zone.transitions().empty()) << c.footer;
        EXPECT_EQ(zone.offset_at(utc_s(2100, 1, 1)), c.offset_s) << c.footer;
    }
}

TEST(TimeZoneTzifTest, ExplicitTransitionsThenEmptyFooter) {
    TzifSpec spec;
    spec.version = '4';
    spec.types = {TestType{1 * kHour, 0, 0}, TestType{2 * kHour, 0, 4}, TestType{2 * kHour, 1, 8}};
    spec.chars = std::string("AAA\0BBB\0CCC\0", 12);
    spec.times = {utc_s(2000, 1, 1), utc_s(2010, 1, 1)};
    spec.type_indices = {1, 2};  // the second changes only the abbreviation
    const TimeZone zone = parse_ok(build_tzif(spec));
    EXPECT_EQ(zone.offset_at(utc_s(1999, 1, 1)), 1 * kHour);
    EXPECT_EQ(zone.offset_at(utc_s(2000, 1, 1)), 2 * kHour);
    EXPECT_EQ(zone.offset_at(utc_s(2150, 1, 1)), 2 * kHour);
    ASSERT_EQ(zone.transitions().size(), 1u);  // the no-op change is dropped
    EXPECT_EQ(zone.transitions()[0], utc_s(2000, 1, 1));
}

TEST(TimeZoneTzifTest, FooterContinuesAfterExplicitTransitions) {
    TzifSpec spec = eastern_footer_only();
    spec.times = {utc_s(2030, 3, 10, 7)};
    spec.type_indices = {1};
    const TimeZone zone = parse_ok(build_tzif(spec));
    EXPECT_EQ(zone.offset_at(utc_s(2020, 7, 1)), -5 * kHour);  // before: type 0 only
    EXPECT_EQ(zone.offset_at(utc_s(2030, 7, 1)), -4 * kHour);
    EXPECT_EQ(zone.offset_at(utc_s(2030, 12, 1)), -5 * kHour);
    EXPECT_EQ(zone.offset_at(utc_s(2031, 7, 1)), -4 * kHour);
    EXPECT_EQ(zone.transitions().front(), utc_s(2030, 3, 10, 7));
    expect_well_formed(zone);
}

TEST(TimeZoneTzifTest, Version1FileUses32BitData) {
    TzifSpec spec;
    spec.version = '\0';
    spec.types = {TestType{1 * kHour, 0, 0}, TestType{2 * kHour, 1, 4}};
    spec.chars = std::string("AAA\0BBB\0", 8);
    spec.times = {-100'000, utc_s(2020, 3, 1), utc_s(2020, 10, 1)};
    spec.type_indices = {0, 1, 0};
    const TimeZone zone = parse_ok(build_tzif(spec));
    EXPECT_EQ(zone.offset_at(-200'000), 1 * kHour);
    EXPECT_EQ(zone.offset_at(utc_s(2020, 7, 1)), 2 * kHour);
    EXPECT_EQ(zone.offset_at(utc_s(2030, 7, 1)), 1 * kHour);  // no footer, no rule
    EXPECT_EQ(zone.transitions().size(), 2u);
}

// ---------------------------------------------------------------------------
// Hostile input: every failure is a clean "invalid_time_zone" naming the zone.

void expect_rejected(const std::string& bytes, std::string_view what) {
    Result<TimeZone> zone = TimeZone::from_tzif("Bad/Zone", bytes);
    ASSERT_FALSE(zone.ok()) << what;
    EXPECT_EQ(zone.error().code, "invalid_time_zone") << what;
    EXPECT_EQ(zone.error().message.rfind("Bad/Zone: ", 0), 0u) << zone.error().message;
}

TEST(TimeZoneHostileTest, EmptyAndBadMagicRejected) {
    expect_rejected("", "empty");
    expect_rejected("TZif", "magic only");
    std::string bytes = build_tzif(eastern_footer_only());
    bytes[0] = 'X';
    expect_rejected(bytes, "bad magic");
    bytes = build_tzif(eastern_footer_only());
    bytes[4] = '5';
    expect_rejected(bytes, "unknown version");
}

TEST(TimeZoneHostileTest, AbsurdCountsRejected) {
    const std::uint32_t huge = 0xFFFF'FFFF;
    for (Counts c :
         {Counts{0, 0, 0, huge, 1, 4}, Counts{0, 0, 0, 2001, 1, 4}, Counts{0, 0, 0, 0, 257, 4},
          Counts{0, 0, 0, 0, 1, 1025}, Counts{0, 0, 1001, 0, 1, 4}, Counts{huge, 0, 0, 0, 1, 4},
          Counts{0, huge, 0, 0, 1, 4}}) {
        // The same counts in the (skipped) v1 header and in the v2 header.
        std::string bytes = header('2', c) + std::string(4096, '\0');
        expect_rejected(bytes, "absurd v1 counts");
        TzifSpec v1;
        bytes = header('2', counts_of(v1)) + data_block(v1, 4) + header('2', c) +
                std::string(4096, '\0');
        expect_rejected(bytes, "absurd v2 counts");
    }
}

TEST(TimeZoneHostileTest, InconsistentBlocksRejected) {
    TzifSpec spec = eastern_footer_only();
    spec.times = {utc_s(2030, 1, 1)};
    spec.type_indices = {2};  // only types 0 and 1 exist
    expect_rejected(build_tzif(spec), "type index out of range");

    spec.type_indices = {1};
    spec.times = {utc_s(2030, 1, 1), utc_s(2030, 1, 1)};
    spec.type_indices = {1, 0};
    expect_rejected(build_tzif(spec), "repeated transition");
    spec.times = {utc_s(2031, 1, 1), utc_s(2030, 1, 1)};
    expect_rejected(build_tzif(spec), "descending transitions");

    spec = eastern_footer_only();
    spec.types[1].is_dst = 2;
    expect_rejected(build_tzif(spec), "isdst 2");
    spec = eastern_footer_only();
    spec.types[1].abbreviation_index = 8;
    expect_rejected(build_tzif(spec), "abbreviation past charcnt");
    spec = eastern_footer_only();
    spec.types[0].offset_s = std::numeric_limits<std::int32_t>::min();
    expect_rejected(build_tzif(spec), "offset -2^31");
    spec = eastern_footer_only();
    spec.types.clear();
    expect_rejected(build_tzif(spec), "no types");

    // An indicator count other than 0 or typecnt.
    TzifSpec v1;
    Counts c = counts_of(eastern_footer_only());
    c.isstd = 1;
    expect_rejected(header('2', counts_of(v1)) + data_block(v1, 4) + header('2', c) +
                        data_block(eastern_footer_only(), 8) + std::string("\0\n\n", 3),
                    "isstdcnt mismatch");
    // The second header must repeat the first one's version.
    std::string bytes = build_tzif(eastern_footer_only());
    bytes[header('2', counts_of(v1)).size() + data_block(v1, 4).size() + 4] = '3';
    expect_rejected(bytes, "versions differ");
}

TEST(TimeZoneHostileTest, BadFootersRejected) {
    const char* const kBadFooters[] = {"EST5EDT",
                                       "EST",
                                       "ES5",
                                       "5",
                                       "<+03>",
                                       "<+3>-3",
                                       "<+03-3",
                                       "EST25",
                                       "EST5EDT,M3.2.0",
                                       "EST5EDT,M13.2.0,M11.1.0",
                                       "EST5EDT,M3.6.0,M11.1.0",
                                       "EST5EDT,M3.2.7,M11.1.0",
                                       "EST5EDT,J0,J365",
                                       "EST5EDT,J366,J1",
                                       "EST5EDT,366,1",
                                       "EST5EDT,M3.2.0/168,M11.1.0",
                                       "EST5EDT,M3.2.0/2:60,M11.1.0",
                                       "EST5:3",
                                       "EST5:30:",
                                       "EST5EDT,M3.2.0,M11.1.0,",
                                       "EST5EDT,M3.2.0,M11.1.0 ",
                                       "EST5 ",
                                       "EST+",
                                       "EST5EDT4x",
                                       "EST5EDT,,M11.1.0",
                                       "EST5EDT,M3.2.0,M11.1.0/"};
    for (const char* footer : kBadFooters) {
        TzifSpec spec = eastern_footer_only();
        spec.footer = footer;
        expect_rejected(build_tzif(spec), footer);
    }
    const std::string good = build_tzif(eastern_footer_only());
    expect_rejected(good.substr(0, good.size() - 1), "footer without closing newline");
    std::string no_opening = good;
    no_opening[good.size() - eastern_footer_only().footer.size() - 2] = 'x';
    expect_rejected(no_opening, "footer without opening newline");
}

TEST(TimeZoneHostileTest, TooLargeFileRejected) {
    std::string bytes = build_tzif(eastern_footer_only());
    bytes.resize(kTimeZoneFileBytesMax + 1, '\0');
    expect_rejected(bytes, "one byte too large");
}

TEST_F(TimeZoneTest, EveryPrefixOfRealFileParsesOrFailsCleanly) {
    const std::string bytes = read_bytes("Europe/Paris");
    ASSERT_GT(bytes.size(), 44u);
    for (std::size_t n = 0; n <= bytes.size(); ++n) {
        Result<TimeZone> zone = TimeZone::from_tzif("Europe/Paris", bytes.substr(0, n));
        if (!zone.ok()) {
            ASSERT_EQ(zone.error().code, "invalid_time_zone") << n;
            ASSERT_EQ(zone.error().message.rfind("Europe/Paris: ", 0), 0u) << n;
        }
    }
    // Only the whole file carries the footer, so only the whole file parses.
    EXPECT_FALSE(TimeZone::from_tzif("Europe/Paris", bytes.substr(0, bytes.size() - 1)).ok());
    EXPECT_TRUE(TimeZone::from_tzif("Europe/Paris", bytes).ok());
}

// Overwrites each byte of a real file with a few values: parsing must either
// succeed with a well-formed table or fail cleanly.
TEST_F(TimeZoneTest, EveryCorruptedByteParsesOrFailsCleanly) {
    const std::string bytes = read_bytes("America/New_York");
    ASSERT_GT(bytes.size(), 44u);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        for (char value : {'\0', '\x01', '\x7f', '\x80', '\xff'}) {
            std::string corrupted = bytes;
            corrupted[i] = value;
            Result<TimeZone> zone = TimeZone::from_tzif("America/New_York", corrupted);
            if (zone.ok()) {
                expect_well_formed(*zone);
                zone->to_unix_s(utc_s(2026, 3, 8, 2, 30));
            } else {
                ASSERT_EQ(zone.error().code, "invalid_time_zone") << i;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Names and files.

TEST(TimeZoneNameTest, BadNamesRejected) {
    const std::string long_name(kTimeZoneNameBytesMax + 1, 'a');
    for (const std::string& name :
         {std::string("../etc/passwd"), std::string("/abs"), std::string("a//b"), std::string(""),
          long_name, std::string("Europe/Paris/"), std::string("a/./b"), std::string("a/../b"),
          std::string("."), std::string(".."), std::string("Europe Paris"),
          std::string("Europe\\Paris"), std::string("Europe/Paris\n"), std::string("a\0b", 3)}) {
        Result<TimeZone> zone = TimeZone::load(name, kZoneinfoDir);
        ASSERT_FALSE(zone.ok()) << name;
        EXPECT_EQ(zone.error().code, "invalid_time_zone");
        EXPECT_NE(zone.error().message.find("invalid zone name"), std::string::npos)
            << zone.error().message;
        // Messages never carry control characters from the name.
        for (char c : zone.error().message) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
    }
}

TEST(TimeZoneNameTest, LongestValidNameReachesTheFileSystem) {
    const std::string name(kTimeZoneNameBytesMax, 'a');
    Result<TimeZone> zone = TimeZone::load(name, kZoneinfoDir);
    ASSERT_FALSE(zone.ok());
    EXPECT_EQ(zone.error().message, name + ": no such zone");
}

TEST_F(TimeZoneTest, NonexistentZoneAndDirectoryRejected) {
    Result<TimeZone> zone = TimeZone::load("Mars/Olympus_Mons", kZoneinfoDir);
    ASSERT_FALSE(zone.ok());
    EXPECT_EQ(zone.error().code, "invalid_time_zone");
    EXPECT_EQ(zone.error().message, "Mars/Olympus_Mons: no such zone");

    zone = TimeZone::load("Europe", kZoneinfoDir);
    ASSERT_FALSE(zone.ok());
    EXPECT_EQ(zone.error().message, "Europe: not a regular file");
}

TEST(TimeZoneNameTest, LoadsFromAnyDirectory) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() /
        ("tollgate_time_zone_test_" +
         std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    std::filesystem::create_directories(dir / "Test");
    {
        std::ofstream out(dir / "Test" / "Eastern", std::ios::binary);
        out << build_tzif(eastern_footer_only());
        std::ofstream big(dir / "Test" / "Big", std::ios::binary);
        big << std::string(kTimeZoneFileBytesMax + 1, 'x');
    }
    Result<TimeZone> zone = TimeZone::load("Test/Eastern", dir.string());
    ASSERT_TRUE(zone.ok()) << zone.error().message;
    EXPECT_EQ(zone->name(), "Test/Eastern");
    EXPECT_EQ(zone->offset_at(utc_s(2030, 7, 1)), -4 * kHour);

    Result<TimeZone> big = TimeZone::load("Test/Big", dir.string());
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error().message, "Test/Big: file too large");

    // UTC needs no file.
    Result<TimeZone> utc = TimeZone::load("UTC", dir.string());
    ASSERT_TRUE(utc.ok());
    EXPECT_EQ(utc->offset_at(utc_s(2030, 7, 1)), 0);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tollgate::core
