// Tests for time-of-day windows: containment across midnight, the exact
// boundaries, the DST change days of Europe/Paris (the minute of day comes
// from the local wall clock, not from UTC), and that the billing instant is
// the request's at_unix_ms.
#include <gtest/gtest.h>

#include <string>

#include "pricing/price_book.h"
#include "pricing/pricing_test_util.h"
#include "pricing/quote.h"

namespace tollgate::pricing {
namespace {

// A Paris book with one window that crosses midnight.
constexpr std::string_view kLateBook = R"(version = "late-1"
rounding = "floor"
time_zone = "Europe/Paris"
[workflows.person]
base = 10
per_megapixel = 2
minimum = 0
[[windows]]
name = "late"
start = "23:00"
end = "01:00"
multiplier = 0.5
)";

std::string window_name(const PriceBook& book, std::int64_t unix_ms) {
    const TimeWindow* window = book.window_at(unix_ms);
    return window == nullptr ? "-" : window->name;
}

TEST(TimeWindowTest, ContainsHandlesPlainAndMidnightCrossingWindows) {
    const TimeWindow day{"day", 9 * 60, 17 * 60, 1000};
    EXPECT_FALSE(day.contains(9 * 60 - 1));
    EXPECT_TRUE(day.contains(9 * 60));
    EXPECT_TRUE(day.contains(17 * 60 - 1));
    EXPECT_FALSE(day.contains(17 * 60));
    const TimeWindow late{"late", 23 * 60, 60, 500};
    EXPECT_FALSE(late.contains(23 * 60 - 1));
    EXPECT_TRUE(late.contains(23 * 60));
    EXPECT_TRUE(late.contains(23 * 60 + 30));
    EXPECT_TRUE(late.contains(24 * 60 - 1));
    EXPECT_TRUE(late.contains(0));
    EXPECT_TRUE(late.contains(30));
    EXPECT_TRUE(late.contains(59));
    EXPECT_FALSE(late.contains(60));
    const TimeWindow evening{"evening", 22 * 60, 24 * 60, 1000};
    EXPECT_TRUE(evening.contains(24 * 60 - 1));
    EXPECT_FALSE(evening.contains(0));
}

TEST(TimeWindowTest, WindowCrossingMidnightInTheBookZone) {
    const PriceBook book = must_parse(kLateBook);
    const core::TimeZone& zone = book.time_zone;
    EXPECT_EQ(window_name(book, local_ms(zone, "2026-11-30 22:59:59.999")), "-");
    EXPECT_EQ(window_name(book, local_ms(zone, "2026-11-30 23:00:00")), "late");
    EXPECT_EQ(window_name(book, local_ms(zone, "2026-11-30 23:30")), "late");
    EXPECT_EQ(window_name(book, local_ms(zone, "2026-12-01 00:00")), "late");
    EXPECT_EQ(window_name(book, local_ms(zone, "2026-12-01 00:30")), "late");
    EXPECT_EQ(window_name(book, local_ms(zone, "2026-12-01 00:59:59.999")), "late");
    EXPECT_EQ(window_name(book, local_ms(zone, "2026-12-01 01:00:00")), "-");
    // 23:30 local is 22:30 UTC in winter: the window is local, not UTC.
    EXPECT_EQ(window_name(book, utc_ms("2026-11-30T22:30:00Z")), "late");
    EXPECT_EQ(window_name(book, utc_ms("2026-11-30T23:30:00Z")), "late");  // 00:30 local
    EXPECT_EQ(window_name(book, utc_ms("2026-11-30T21:30:00Z")), "-");     // 22:30 local
}

TEST(TimeWindowTest, QuoteHalvesInsideTheLateWindow) {
    const PriceBook book = must_parse(kLateBook);
    QuoteRequest r;
    r.workflow = "person";
    r.width = 1000;
    r.height = 1000;
    r.at_unix_ms = local_ms(book.time_zone, "2026-11-30 23:30");
    auto q = quote(book, r);
    ASSERT_TRUE(q.ok()) << q.error().message;
    EXPECT_EQ(q->tokens.value, 6);
    EXPECT_EQ(items_of(*q), "base=10 per_megapixel=2 time_window=-6");
    EXPECT_EQ(describe(*q, q->items()[2]), "late x0.5");
    r.at_unix_ms = local_ms(book.time_zone, "2026-12-01 00:30");
    EXPECT_EQ(quote(book, r)->tokens.value, 6);
    r.at_unix_ms = local_ms(book.time_zone, "2026-12-01 01:00");
    EXPECT_EQ(quote(book, r)->tokens.value, 12);
}

// 2026-03-29, Paris: at 01:00 UTC clocks go from 02:00 CET to 03:00 CEST.
TEST(TimeWindowTest, SpringForwardDayUsesLocalMinuteOfDay) {
    const PriceBook& book = example_book();  // night 00:00-07:00, peak 19:00-23:00
    EXPECT_EQ(window_name(book, utc_ms("2026-03-28T23:00:00Z")), "night");  // 00:00 CET
    EXPECT_EQ(window_name(book, utc_ms("2026-03-29T00:59:59Z")), "night");  // 01:59:59 CET
    EXPECT_EQ(window_name(book, utc_ms("2026-03-29T01:00:00Z")), "night");  // 03:00 CEST
    EXPECT_EQ(window_name(book, utc_ms("2026-03-29T04:59:59Z")), "night");  // 06:59:59 CEST
    EXPECT_EQ(window_name(book, utc_ms("2026-03-29T05:00:00Z")), "-");      // 07:00 CEST
    EXPECT_EQ(window_name(book, utc_ms("2026-03-29T05:30:00Z")), "-");      // 06:30 if read as CET
    EXPECT_EQ(window_name(book, utc_ms("2026-03-29T16:59:59Z")), "-");      // 18:59:59 CEST
    EXPECT_EQ(window_name(book, utc_ms("2026-03-29T17:00:00Z")), "peak");   // 19:00 CEST
    EXPECT_EQ(window_name(book, utc_ms("2026-03-29T20:59:59Z")), "peak");   // 22:59:59 CEST
    EXPECT_EQ(window_name(book, utc_ms("2026-03-29T21:00:00Z")), "-");      // 23:00 CEST
    // The day before, still in winter time, 05:30 UTC is 06:30 CET: night.
    EXPECT_EQ(window_name(book, utc_ms("2026-03-28T05:30:00Z")), "night");
}

// 2026-10-25, Paris: at 01:00 UTC clocks go back from 03:00 CEST to 02:00 CET.
TEST(TimeWindowTest, FallBackDayUsesLocalMinuteOfDay) {
    const PriceBook& book = example_book();
    EXPECT_EQ(window_name(book, utc_ms("2026-10-24T21:59:59Z")), "-");      // 23:59:59 CEST
    EXPECT_EQ(window_name(book, utc_ms("2026-10-24T22:00:00Z")), "night");  // 00:00 CEST
    EXPECT_EQ(window_name(book, utc_ms("2026-10-25T00:59:59Z")), "night");  // 02:59:59 CEST
    EXPECT_EQ(window_name(book, utc_ms("2026-10-25T01:00:00Z")), "night");  // 02:00 CET again
    EXPECT_EQ(window_name(book, utc_ms("2026-10-25T05:59:59Z")), "night");  // 06:59:59 CET
    EXPECT_EQ(window_name(book, utc_ms("2026-10-25T06:00:00Z")), "-");      // 07:00 CET
    EXPECT_EQ(window_name(book, utc_ms("2026-10-25T17:59:59Z")), "-");      // 18:59:59 CET
    EXPECT_EQ(window_name(book, utc_ms("2026-10-25T18:00:00Z")), "peak");   // 19:00 CET
    EXPECT_EQ(window_name(book, utc_ms("2026-10-25T21:59:59Z")), "peak");   // 22:59:59 CET
    EXPECT_EQ(window_name(book, utc_ms("2026-10-25T22:00:00Z")), "-");      // 23:00 CET
    // The day before, in summer time, 18:00 UTC is 20:00 CEST: peak; 21:00 UTC is 23:00.
    EXPECT_EQ(window_name(book, utc_ms("2026-10-24T18:00:00Z")), "peak");
    EXPECT_EQ(window_name(book, utc_ms("2026-10-24T21:00:00Z")), "-");
}

// The instant that decides the window is the request's, to the millisecond.
TEST(TimeWindowTest, BillingInstantIsTheRequestsAtUnixMs) {
    const PriceBook& book = example_book();
    QuoteRequest r;
    r.workflow = "person";
    r.width = 800;
    r.height = 600;
    r.at_unix_ms = local_ms(book.time_zone, "2026-11-30 18:59:59.999");
    auto before = quote(book, r);
    r.at_unix_ms = local_ms(book.time_zone, "2026-11-30 19:00:00.000");
    auto after = quote(book, r);
    ASSERT_TRUE(before.ok() && after.ok());
    EXPECT_EQ(before->tokens.value, 10);
    EXPECT_EQ(before->window, nullptr);
    EXPECT_EQ(after->tokens.value, 13);
    ASSERT_NE(after->window, nullptr);
    EXPECT_EQ(after->window->name, "peak");
    EXPECT_EQ(after->at_unix_ms, r.at_unix_ms);
}

TEST(TimeWindowTest, InstantsBefore1970UseFloorDivision) {
    const PriceBook book = must_parse(R"(version = "utc-1"
rounding = "floor"
[workflows.person]
base = 1
per_megapixel = 0
minimum = 0
[[windows]]
name = "last_minute"
start = "23:59"
end = "24:00"
multiplier = 2
)");
    // 1969-12-31 23:59:59.500 UTC is -500 ms: minute 1439 of the previous day.
    EXPECT_EQ(window_name(book, -500), "last_minute");
    EXPECT_EQ(window_name(book, -60'001), "-");
    EXPECT_EQ(window_name(book, 0), "-");
    EXPECT_EQ(window_name(book, 86'400'000 - 1), "last_minute");
}

}  // namespace
}  // namespace tollgate::pricing
