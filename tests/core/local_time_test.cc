#include "core/local_time.h"

#include <gtest/gtest.h>

namespace tollgate::core {
namespace {

std::int64_t utc_ms(int y, int mo, int d, int h, int mi, int s = 0) {
    return (days_from_civil({y, mo, d}) * 86'400 + h * 3600 + mi * 60 + s) * 1000;
}

TEST(LocalTimeTest, ParsesDatesAndTimesOnTheZoneClock) {
    auto paris = TimeZone::load("Europe/Paris");
    ASSERT_TRUE(paris.ok()) << paris.error().message;
    EXPECT_EQ(*parse_local_time_ms("2026-11-28", *paris), utc_ms(2026, 11, 27, 23, 0));
    EXPECT_EQ(*parse_local_time_ms("2026-11-28 19:30", *paris), utc_ms(2026, 11, 28, 18, 30));
    EXPECT_EQ(*parse_local_time_ms("2026-07-01T19:30:15", *paris), utc_ms(2026, 7, 1, 17, 30, 15));
    EXPECT_EQ(*parse_local_time_ms("2026-11-28", TimeZone::utc()), utc_ms(2026, 11, 28, 0, 0));
}

TEST(LocalTimeTest, RefusesAnythingElse) {
    for (const char* bad :
         {"", "2026-11", "2026-02-30", "2026-11-28 24:00", "2026/11/28", "2026-11-28 10:00:60",
          "x026-11-28", "1969-12-31", "2026-11-28 7:00", "2026-11-28 10:00 ", "2026-11-28+10:00"}) {
        EXPECT_FALSE(parse_local_time_ms(bad, TimeZone::utc()).ok()) << bad;
    }
}

TEST(LocalTimeTest, FormatsWithTheOffsetInForce) {
    auto paris = TimeZone::load("Europe/Paris");
    ASSERT_TRUE(paris.ok());
    EXPECT_EQ(format_local_time(utc_ms(2026, 11, 28, 18, 30, 5), *paris),
              "2026-11-28T19:30:05+01:00");
    EXPECT_EQ(format_local_time(utc_ms(2026, 7, 1, 0, 0), *paris), "2026-07-01T02:00:00+02:00");
    auto ny = TimeZone::load("America/New_York");
    ASSERT_TRUE(ny.ok());
    EXPECT_EQ(format_local_time(utc_ms(2026, 1, 1, 3, 0) + 999, *ny), "2025-12-31T22:00:00-05:00");
}

}  // namespace
}  // namespace tollgate::core
