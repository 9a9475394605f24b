#include <gtest/gtest.h>

#include "app/reconcile_command.h"

namespace tollgate::app {
namespace {

using usage::DayTotal;

TEST(ReconcileTest, ParsesUtcDays) {
    EXPECT_EQ(parse_utc_day("1970-01-01").value(), 0);
    EXPECT_EQ(parse_utc_day("2024-02-29").value(), 19'782);
    EXPECT_EQ(parse_utc_day("2026-11-30").value(), 20'787);
    for (const char* bad : {"2023-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "1969-12-31",
                            "2026-11-31", "2026/11/30", "", "2026-11-30 10:00", "2O26-11-30"}) {
        auto got = parse_utc_day(bad);
        ASSERT_FALSE(got.ok()) << bad;
        EXPECT_EQ(got.error().code, "invalid_date");
    }
}

TEST(ReconcileTest, AgreeingTotalsHaveNoDifference) {
    std::vector<DayTotal> a = {{"acct_a", 20'000, 25, 2}, {"acct_b", 20'001, 0, 1}};
    EXPECT_TRUE(compare_day_totals("left", a, "right", a, true).empty());
}

TEST(ReconcileTest, EveryDisagreementIsALineNamingTheDayAccountAndBothSides) {
    std::vector<DayTotal> records = {
        {"acct_a", 20'787, 25, 2}, {"acct_a", 20'788, 10, 1}, {"acct_b", 20'787, 0, 1}};
    std::vector<DayTotal> sink = {
        {"acct_a", 20'787, 25, 2},  // agrees
        {"acct_a", 20'788, 0, 0},   // a record missing in the sink
        {"acct_b", 20'787, 0, 2},   // a job too many (a failed one: no tokens)
        {"acct_c", 20'787, 7, 1}};  // an account the records do not have
    auto lines = compare_day_totals("usage records", records, "clickhouse://ch/db", sink, true);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0],
              "2026-12-01 acct_a: usage records 10 tokens in 1 jobs, clickhouse://ch/db 0 tokens "
              "in 0 jobs");
    EXPECT_EQ(lines[1],
              "2026-11-30 acct_b: usage records 0 tokens in 1 jobs, clickhouse://ch/db 0 tokens "
              "in 2 jobs");
    EXPECT_EQ(lines[2],
              "2026-11-30 acct_c: usage records 0 tokens in 0 jobs, clickhouse://ch/db 7 tokens "
              "in 1 jobs");
    // Without job counts, only tokens matter: acct_b's extra job is not a difference.
    EXPECT_EQ(compare_day_totals("ledger", records, "records", sink, false).size(), 2u);
}

}  // namespace
}  // namespace tollgate::app
