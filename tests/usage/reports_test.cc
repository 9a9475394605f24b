// The report figures computed from a store's sums (usage/reports.h).
#include "usage/reports.h"

#include <gtest/gtest.h>

#include <limits>

namespace tollgate::usage {
namespace {

constexpr std::int64_t kMonday = 1'795'996'800'000 / kMsPerHour;  // 2026-11-30 00:00 UTC

HourCell cell(const std::string& workflow, std::int64_t hour, std::int64_t jobs,
              std::int64_t tokens, std::int64_t execution_ms) {
    return HourCell{workflow, hour, jobs, 1, 0, tokens, execution_ms, 10 * jobs};
}

TEST(ReportsTest, WorkflowTotalsSumEachWorkflowAndPriceItsTokensAndGpuTime) {
    const std::vector<HourCell> cells = {cell("person", kMonday, 3, 30, 2'500),
                                         cell("building", kMonday, 1, 15, 999),
                                         cell("person", kMonday + 5, 2, 22, 1'501)};
    const ReportPrices prices{1'000, 300, "USD"};
    const auto totals = workflow_totals(cells, prices);
    ASSERT_EQ(totals.size(), 2u);
    EXPECT_EQ(totals[0], (WorkflowTotals{"person", 5, 2, 0, 52, 4'001, 50, 52'000, 1'200}));
    // 999 ms at 300 micros a second is 299.7 micros: rounded down.
    EXPECT_EQ(totals[1], (WorkflowTotals{"building", 1, 1, 0, 15, 999, 10, 15'000, 299}));
    const WorkflowTotals all = overall_totals(cells, prices);
    EXPECT_EQ(all.workflow, "");
    EXPECT_EQ(all.jobs, 6);
    EXPECT_EQ(all.tokens, 67);
    EXPECT_EQ(all.gpu_cost_micros, 5'000 * 300 / 1000);  // rounded once, over 5,000 ms
    EXPECT_EQ(overall_totals({}, prices), WorkflowTotals{});
}

TEST(ReportsTest, FiguresThatWouldOverflowSaturate) {
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    const std::vector<HourCell> cells = {cell("person", kMonday, 1, kMax - 1, kMax),
                                         cell("person", kMonday + 1, 1, 5, 1)};
    const auto totals = workflow_totals(cells, {kReportPriceMicrosMax, kReportPriceMicrosMax, ""});
    ASSERT_EQ(totals.size(), 1u);
    EXPECT_EQ(totals[0].tokens, kMax);
    EXPECT_EQ(totals[0].execution_ms, kMax);
    EXPECT_EQ(totals[0].revenue_micros, kMax);
    EXPECT_EQ(totals[0].gpu_cost_micros, kMax);
}

TEST(ReportsTest, TheHeatmapCountsJobsByUtcDayOfWeekAndHour) {
    const WeekHeatmap map = week_heatmap({cell("person", kMonday + 14, 4, 0, 0),
                                          cell("building", kMonday + 14, 1, 0, 0),
                                          cell("person", kMonday + 6 * 24 + 23, 2, 0, 0),
                                          cell("person", kMonday + 7 * 24 + 14, 3, 0, 0)});
    EXPECT_EQ(map[0][14], 8);  // Mondays at 14:00, two weeks, both workflows
    EXPECT_EQ(map[6][23], 2);  // Sunday 23:00
    std::int64_t all = 0;
    for (const auto& day : map)
        for (std::int64_t n : day) all += n;
    EXPECT_EQ(all, 10);
}

TEST(ReportsTest, QueueWaitBucketsEndAtTheirEdges) {
    EXPECT_EQ(queue_wait_bucket(0), 0u);
    EXPECT_EQ(queue_wait_bucket(9), 0u);
    EXPECT_EQ(queue_wait_bucket(10), 1u);  // an edge opens the next bucket
    for (std::size_t i = 0; i < kQueueWaitEdgesMs.size(); ++i) {
        EXPECT_EQ(queue_wait_bucket(kQueueWaitEdgesMs[i] - 1), i);
        EXPECT_EQ(queue_wait_bucket(kQueueWaitEdgesMs[i]), i + 1);
    }
    EXPECT_EQ(queue_wait_bucket(std::numeric_limits<std::int64_t>::max()), kQueueWaitBuckets - 1);
}

TEST(ReportsTest, PercentilesAreTheUpperEdgeOfTheBucketReachingTheirRank) {
    // person: 50 jobs under 10 ms, 40 in [100, 250), 9 in [1000, 2500), 1 past the last edge.
    const std::vector<WaitBucket> buckets = {{"person", 0, 50},
                                             {"person", 4, 40},
                                             {"person", 7, 9},
                                             {"person", kQueueWaitBuckets - 1, 1},
                                             {"building", 3, 1}};
    const auto p = wait_percentiles(buckets);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0], (WaitPercentiles{"person", 100, 10, 250, 2'500}));
    EXPECT_EQ(p[1], (WaitPercentiles{"building", 1, 100, 100, 100}));
    // Rank 51 of 100 is past the first bucket; the 100th job alone is past every edge.
    const auto q = wait_percentiles({{"x", 0, 50}, {"x", 1, 1}, {"x", kQueueWaitBuckets - 1, 49}});
    EXPECT_EQ(q[0].p50_ms, 10);
    EXPECT_EQ(q[0].p90_ms, -1);
    EXPECT_TRUE(wait_percentiles({}).empty());
}

TEST(ReportsTest, ARangeMustRunForwardWithinTheLongestSpan) {
    EXPECT_TRUE(check_report_range({0, 1}).ok());
    EXPECT_TRUE(check_report_range({5, 5 + kReportSpanMsMax}).ok());
    EXPECT_EQ(check_report_range({5, 6 + kReportSpanMsMax}).error().code, "invalid_range");
    EXPECT_EQ(check_report_range({5, 5}).error().code, "invalid_range");
    EXPECT_EQ(check_report_range({-1, 5}).error().code, "invalid_range");
}

}  // namespace
}  // namespace tollgate::usage
