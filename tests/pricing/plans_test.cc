// Tests for plan periods at their exact boundaries (month ends in the book's
// zone, December to January, annual periods from Feb 29, DST) and for the
// order of plans_covering.
#include "pricing/plans.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "pricing/pricing_test_util.h"

namespace tollgate::pricing {
namespace {

const core::TimeZone& paris() { return example_book().time_zone; }

std::int64_t paris_ms(std::string_view local) { return local_ms(paris(), local); }

struct PeriodCase {
    const char* plan;
    const char* subscribed;  // Paris wall clock
    const char* at;          // Paris wall clock, or UTC when ending in 'Z'
    const char* start;       // expected, UTC
    const char* end;         // expected, UTC
    const char* key;
};

std::int64_t instant(std::string_view text) {
    return text.back() == 'Z' ? utc_ms(text) : paris_ms(text);
}

// clang-format off
const PeriodCase kPeriods[] = {
    // Monthly: the calendar month in Paris. November starts at 23:00 UTC on Oct 31 (CET).
    {"monthly", "2026-11-10 08:00", "2026-11-15 12:00",
     "2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z", "monthly:2026-11-01"},
    {"monthly", "2026-10-10 08:00", "2026-10-31T23:00:00Z",
     "2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z", "monthly:2026-11-01"},
    // One millisecond earlier is still October, which began in summer time (UTC+2)
    // and so lasts 31 days and one hour.
    {"monthly", "2026-10-10 08:00", "2026-10-31 23:59:59.999",
     "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z", "monthly:2026-10-01"},
    // December to January.
    {"monthly", "2026-12-01 00:00", "2026-12-31 23:59:59.999",
     "2026-11-30T23:00:00Z", "2026-12-31T23:00:00Z", "monthly:2026-12-01"},
    {"monthly", "2026-12-01 00:00", "2027-01-01 00:00",
     "2026-12-31T23:00:00Z", "2027-01-31T23:00:00Z", "monthly:2027-01-01"},
    // March holds the spring-forward day: 31 days minus one hour.
    {"monthly", "2026-03-01 00:00", "2026-03-29 02:30",
     "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z", "monthly:2026-03-01"},
    // February of a leap year.
    {"monthly", "2028-01-01 00:00", "2028-02-29 23:59:59",
     "2028-01-31T23:00:00Z", "2028-02-29T23:00:00Z", "monthly:2028-02-01"},
    // Annual: anniversaries of the subscription's local date and time.
    {"annual", "2026-11-29 15:45", "2026-11-29 15:45",
     "2026-11-29T14:45:00Z", "2027-11-29T14:45:00Z", "annual:2026-11-29"},
    {"annual", "2026-11-29 15:45", "2027-11-29 15:44:59.999",
     "2026-11-29T14:45:00Z", "2027-11-29T14:45:00Z", "annual:2026-11-29"},
    {"annual", "2026-11-29 15:45", "2027-11-29 15:45",
     "2027-11-29T14:45:00Z", "2028-11-29T14:45:00Z", "annual:2027-11-29"},
    {"annual", "2026-11-29 15:45", "2031-06-01 00:00",
     "2030-11-29T14:45:00Z", "2031-11-29T14:45:00Z", "annual:2030-11-29"},
    // From Feb 29: Feb 28 in common years, Feb 29 again in leap years.
    {"annual", "2024-02-29 10:00", "2025-02-28 09:59:59.999",
     "2024-02-29T09:00:00Z", "2025-02-28T09:00:00Z", "annual:2024-02-29"},
    {"annual", "2024-02-29 10:00", "2025-02-28 10:00",
     "2025-02-28T09:00:00Z", "2026-02-28T09:00:00Z", "annual:2025-02-28"},
    {"annual", "2024-02-29 10:00", "2028-02-28 12:00",
     "2027-02-28T09:00:00Z", "2028-02-29T09:00:00Z", "annual:2027-02-28"},
    {"annual", "2024-02-29 10:00", "2028-02-29 10:00",
     "2028-02-29T09:00:00Z", "2029-02-28T09:00:00Z", "annual:2028-02-29"},
    // A summer subscription keeps its local time of day across DST: 14:00 CEST.
    {"annual", "2026-07-01 14:00", "2027-01-15 12:00",
     "2026-07-01T12:00:00Z", "2027-07-01T12:00:00Z", "annual:2026-07-01"},
    // Subscribed at 02:30 on 2025-03-29; its anniversary 2026-03-29 02:30 does not
    // exist in Paris (clocks jump 02:00 -> 03:00), so it is read with the winter
    // offset: 01:30 UTC, i.e. 03:30 CEST.
    {"annual", "2025-03-29 02:30", "2026-03-29T01:29:59Z",
     "2025-03-29T01:30:00Z", "2026-03-29T01:30:00Z", "annual:2025-03-29"},
    {"annual", "2025-03-29 02:30", "2026-03-29T01:30:00Z",
     "2026-03-29T01:30:00Z", "2027-03-29T00:30:00Z", "annual:2026-03-29"},
};
// clang-format on

void PrintTo(const PeriodCase& c, std::ostream* os) {
    *os << c.plan << " subscribed " << c.subscribed << " at " << c.at;
}

class PlanPeriodTest : public ::testing::TestWithParam<PeriodCase> {};

TEST_P(PlanPeriodTest, MatchesBoundariesAndKey) {
    const PeriodCase& c = GetParam();
    const Plan* plan = example_book().find_plan(c.plan);
    ASSERT_NE(plan, nullptr);
    const PlanPeriodSpan span = plan_period(*plan, paris(), paris_ms(c.subscribed), instant(c.at));
    EXPECT_EQ(span.start_ms, utc_ms(c.start));
    EXPECT_EQ(span.end_ms, utc_ms(c.end));
    EXPECT_EQ(span.key, c.key);
    EXPECT_LE(span.start_ms, instant(c.at));
    EXPECT_GT(span.end_ms, instant(c.at));
}

INSTANTIATE_TEST_SUITE_P(Paris, PlanPeriodTest, ::testing::ValuesIn(kPeriods));

TEST(PlanPeriodTest, ConsecutiveMonthsTileTheTimeline) {
    const Plan* plan = example_book().find_plan("monthly");
    std::int64_t at = paris_ms("2025-01-01 00:00");
    std::string previous_key;
    for (int i = 0; i < 60; ++i) {
        const PlanPeriodSpan span = plan_period(*plan, paris(), at, at);
        EXPECT_EQ(span.start_ms, at) << span.key;
        EXPECT_NE(span.key, previous_key);
        EXPECT_EQ(plan_period(*plan, paris(), at, span.end_ms - 1).key, span.key);
        previous_key = span.key;
        at = span.end_ms;
    }
    EXPECT_EQ(previous_key, "monthly:2029-12-01");
}

TEST(PlanPeriodTest, MonthlyInUtc) {
    const Plan* plan = example_book().find_plan("vip");
    const PlanPeriodSpan span =
        plan_period(*plan, core::TimeZone::utc(), 0, utc_ms("2026-02-14T12:00:00Z"));
    EXPECT_EQ(span.start_ms, utc_ms("2026-02-01T00:00:00Z"));
    EXPECT_EQ(span.end_ms, utc_ms("2026-03-01T00:00:00Z"));
    EXPECT_EQ(span.key, "vip:2026-02-01");
}

std::vector<std::string> names(const std::vector<const Plan*>& plans) {
    std::vector<std::string> out;
    for (const Plan* plan : plans) out.push_back(plan->name);
    return out;
}

TEST(PlansCoveringTest, CheapestFirstAndUnlimitedAlways) {
    const PriceBook& book =
        example_book();  // monthly 9.99/1000, annual 99/10000, vip 499/unlimited
    using V = std::vector<std::string>;
    EXPECT_EQ(names(plans_covering(book, core::Tokens(10), core::Tokens(0))),
              (V{"monthly", "annual", "vip"}));
    EXPECT_EQ(names(plans_covering(book, core::Tokens(2000), core::Tokens(0))),
              (V{"annual", "vip"}));
    EXPECT_EQ(names(plans_covering(book, core::Tokens(2000), core::Tokens(1000))),
              (V{"monthly", "annual", "vip"}));
    EXPECT_EQ(names(plans_covering(book, core::Tokens(1'000'000), core::Tokens(0))), (V{"vip"}));
}

TEST(PlansCoveringTest, EqualPricesAreOrderedByName) {
    const PriceBook book = must_parse(R"(version = "plans-1"
rounding = "floor"
[workflows.person]
base = 1
per_megapixel = 0
minimum = 0
[plans.zeta]
period = "month"
tokens = 100
price = "5"
currency = "EUR"
[plans.alpha]
period = "month"
tokens = 100
price = "5.00"
currency = "EUR"
[plans.cheap]
period = "year"
tokens = 50
price = "1"
currency = "EUR"
)");
    using V = std::vector<std::string>;
    EXPECT_EQ(names(plans_covering(book, core::Tokens(60), core::Tokens(0))), (V{"alpha", "zeta"}));
    EXPECT_EQ(names(plans_covering(book, core::Tokens(60), core::Tokens(10))),
              (V{"cheap", "alpha", "zeta"}));
    EXPECT_TRUE(plans_covering(book, core::Tokens(500), core::Tokens(0)).empty());
}

// A plan with these rate limit overrides.
Plan limited(RateLimitOverrides overrides) {
    Plan plan;
    plan.rate_limits = overrides;
    return plan;
}

TEST(AccountRateLimitsTest, PlansOverrideTheDefaultsKeyByKey) {
    const RateLimits defaults{60, 10, 1000, 0};
    EXPECT_EQ(account_rate_limits(defaults, {}), defaults);
    const Plan plain = limited({});
    EXPECT_EQ(account_rate_limits(defaults, {&plain}), defaults);
    const Plan pro = limited({600, std::nullopt, 0, std::nullopt});
    EXPECT_EQ(account_rate_limits(defaults, {&pro}), (RateLimits{600, 10, 0, 0}));
}

TEST(AccountRateLimitsTest, TheMostGenerousPlanWinsPerBucket) {
    const RateLimits defaults{60, 10, 1000, 500};
    // Requests: no limit beats any rate. Upload: the higher rate wins.
    const Plan a = limited({0, std::nullopt, 2000, 100});
    const Plan b = limited({6000, 5000, 1500, 1500});
    EXPECT_EQ(account_rate_limits(defaults, {&a, &b}), (RateLimits{0, 10, 2000, 100}));
    EXPECT_EQ(account_rate_limits(defaults, {&b, &a}), (RateLimits{0, 10, 2000, 100}));
    // The same rate: the larger burst wins, a burst of 0 counting as the rate.
    const Plan c = limited({60, 0, std::nullopt, std::nullopt});   // burst 60
    const Plan d = limited({60, 30, std::nullopt, std::nullopt});  // burst 30
    EXPECT_EQ(account_rate_limits(defaults, {&d, &c}).burst_requests, 0);
    EXPECT_EQ(account_rate_limits(defaults, {&c, &d}).burst_requests, 0);
    const Plan e = limited({60, 90, std::nullopt, std::nullopt});
    EXPECT_EQ(account_rate_limits(defaults, {&c, &e}).burst_requests, 90);
    // A second plan never lowers a limit.
    const Plan plain = limited({});
    const Plan tight = limited({1, 1, 1, 1});
    EXPECT_EQ(account_rate_limits(defaults, {&plain, &tight}), defaults);
    EXPECT_EQ(account_rate_limits(defaults, {&tight, &plain}), defaults);
}

}  // namespace
}  // namespace tollgate::pricing
