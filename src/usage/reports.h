// Operator reports over the usage records: per workflow per hour (jobs,
// tokens, GPU time, failures, duplicates), the busy hours of the week,
// revenue against GPU cost, the top accounts and queue-wait percentiles.
//
// A UsageReportSource is what a usage store answers: a few sums grouped by
// workflow and UTC hour, a queue-wait histogram with fixed buckets, the top
// accounts and raw execution samples. Everything else is computed here from
// those, in plain integers, so every store (SQLite, ClickHouse, PostgreSQL)
// gives the same figures for the same records. Sources count each job once
// (ClickHouse reads FINAL).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace tollgate::usage {

inline constexpr std::int64_t kMsPerHour = 3'600'000;
inline constexpr std::int64_t kMsPerDay = 24 * kMsPerHour;
// One report covers at most this span, and a source returns at most this
// many rows for it (error "report_too_large" beyond).
inline constexpr std::int64_t kReportSpanMsMax = 400LL * 24 * kMsPerHour;
inline constexpr std::size_t kReportRowsMax = 100'000;
inline constexpr std::size_t kTopAccountsMax = 1'000;
inline constexpr std::size_t kExecutionSamplesMax = 100'000;

// Upper edges (exclusive) of the queue-wait histogram's buckets: bucket i
// holds waits in [edge[i-1], edge[i]), and bucket kQueueWaitEdgesMs.size()
// holds every wait at or above the last edge.
inline constexpr std::array<std::int64_t, 16> kQueueWaitEdgesMs = {
    10,    25,     50,     100,    250,    500,     1'000,   2'500,
    5'000, 10'000, 20'000, 30'000, 60'000, 120'000, 300'000, 600'000};
inline constexpr std::size_t kQueueWaitBuckets = kQueueWaitEdgesMs.size() + 1;

// [from_ms, to_ms) of finished_ms.
struct ReportRange {
    std::int64_t from_ms = 0;
    std::int64_t to_ms = 0;
};
// Error "invalid_range" unless 0 <= from_ms < to_ms and the span is at most kReportSpanMsMax.
core::Status check_report_range(const ReportRange& range);

// The jobs of one workflow that finished in one UTC hour.
struct HourCell {
    std::string workflow;
    std::int64_t hour = 0;  // hours since the Unix epoch of finished_ms
    std::int64_t jobs = 0;
    std::int64_t failures = 0;
    std::int64_t duplicates = 0;  // dedupe_kind exact or near
    std::int64_t tokens = 0;      // charged
    std::int64_t execution_ms = 0;
    std::int64_t queue_wait_ms = 0;
    bool operator==(const HourCell&) const = default;
};

struct WaitBucket {
    std::string workflow;
    std::size_t bucket = 0;  // < kQueueWaitBuckets
    std::int64_t jobs = 0;
    bool operator==(const WaitBucket&) const = default;
};

struct AccountTotal {
    std::string account_id;
    std::int64_t jobs = 0;
    std::int64_t tokens = 0;
    std::int64_t execution_ms = 0;
    bool operator==(const AccountTotal&) const = default;
};

// A succeeded job that ran (no duplicate), for calibration and shadow pricing.
struct ExecutionSample {
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::int64_t execution_ms = 0;
    std::string account_id;
    std::int64_t finished_ms = 0;
    // The reporting node's wall time (tollgate_meter); 0 or below when not
    // measured (-1, or 0 in ClickHouse rows shipped by an older instance).
    std::int64_t meter_wall_ms = -1;
    bool operator==(const ExecutionSample&) const = default;
};

// Threads: implementations serialise their own calls.
class UsageReportSource {
  public:
    virtual ~UsageReportSource() = default;
    // Ordered by workflow, then hour.
    virtual core::Result<std::vector<HourCell>> hourly(const ReportRange& range) = 0;
    // Ordered by workflow, then bucket; empty buckets left out.
    virtual core::Result<std::vector<WaitBucket>> queue_waits(const ReportRange& range) = 0;
    // The `limit` (<= kTopAccountsMax) accounts charged the most tokens, then
    // by most jobs, then by id.
    virtual core::Result<std::vector<AccountTotal>> top_accounts(const ReportRange& range,
                                                                 std::size_t limit) = 0;
    // The most recent `limit` (<= kExecutionSamplesMax) samples of the workflow.
    virtual core::Result<std::vector<ExecutionSample>> executions(const std::string& workflow,
                                                                  const ReportRange& range,
                                                                  std::size_t limit) = 0;
};

// What money a token and a GPU-second stand for, in millionths of the
// operator's currency ([reports] in the configuration).
struct ReportPrices {
    std::int64_t token_value_micros = 0;
    std::int64_t gpu_second_cost_micros = 0;
    std::string currency;
};
inline constexpr std::int64_t kReportPriceMicrosMax = 1'000'000'000'000;  // 10^6 per unit

// One workflow over the whole range.
struct WorkflowTotals {
    std::string workflow;
    std::int64_t jobs = 0;
    std::int64_t failures = 0;
    std::int64_t duplicates = 0;
    std::int64_t tokens = 0;
    std::int64_t execution_ms = 0;
    std::int64_t queue_wait_ms = 0;
    std::int64_t revenue_micros = 0;   // tokens × token_value_micros
    std::int64_t gpu_cost_micros = 0;  // execution_ms × gpu_second_cost_micros / 1000, rounded down
    bool operator==(const WorkflowTotals&) const = default;
};
// Per workflow, in the cells' order; figures saturate at INT64_MAX.
std::vector<WorkflowTotals> workflow_totals(const std::vector<HourCell>& cells,
                                            const ReportPrices& prices);

// Every workflow together (workflow ""); its GPU cost is rounded down once.
WorkflowTotals overall_totals(const std::vector<HourCell>& cells, const ReportPrices& prices);

// Jobs by UTC day of week (0 = Monday) and hour of day, over every workflow.
using WeekHeatmap = std::array<std::array<std::int64_t, 24>, 7>;
WeekHeatmap week_heatmap(const std::vector<HourCell>& cells);

struct WaitPercentiles {
    std::string workflow;
    std::int64_t jobs = 0;
    // The upper edge of the bucket holding the 50th, 90th and 99th
    // percentile (nearest rank); -1 when it lies past the last edge.
    std::int64_t p50_ms = 0;
    std::int64_t p90_ms = 0;
    std::int64_t p99_ms = 0;
    bool operator==(const WaitPercentiles&) const = default;
};
std::vector<WaitPercentiles> wait_percentiles(const std::vector<WaitBucket>& buckets);

// The histogram bucket of one wait (what sources compute in SQL).
std::size_t queue_wait_bucket(std::int64_t wait_ms);

}  // namespace tollgate::usage
