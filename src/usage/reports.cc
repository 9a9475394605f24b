// Operator reports computed from what a usage store sums (see reports.h).
#include "usage/reports.h"

#include <algorithm>
#include <limits>
#include <map>

#include "core/assert.h"
#include "usage/insight/forecast.h"

namespace tollgate::usage {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

std::int64_t add_saturated(std::int64_t a, std::int64_t b) {
    std::int64_t out = 0;
    return __builtin_add_overflow(a, b, &out) ? kInt64Max : out;
}

std::int64_t mul_saturated(std::int64_t a, std::int64_t b) {
    std::int64_t out = 0;
    return __builtin_mul_overflow(a, b, &out) ? kInt64Max : out;
}

// The bucket's upper edge, or -1 past the last one.
std::int64_t bucket_edge(std::size_t bucket) {
    return bucket < kQueueWaitEdgesMs.size() ? kQueueWaitEdgesMs[bucket] : -1;
}

}  // namespace

core::Status check_report_range(const ReportRange& range) {
    if (range.from_ms < 0 || range.to_ms <= range.from_ms) {
        return core::make_error("invalid_range", "a report needs 0 <= from < to");
    }
    if (range.to_ms - range.from_ms > kReportSpanMsMax) {
        return core::make_error("invalid_range", "a report covers at most 400 days");
    }
    return {};
}

std::vector<WorkflowTotals> workflow_totals(const std::vector<HourCell>& cells,
                                            const ReportPrices& prices) {
    TOLLGATE_ASSERT(prices.token_value_micros >= 0 && prices.gpu_second_cost_micros >= 0 &&
                    prices.gpu_second_cost_micros <= kReportPriceMicrosMax);
    std::vector<WorkflowTotals> out;
    std::map<std::string, std::size_t> index;
    for (const HourCell& c : cells) {
        auto [it, added] = index.try_emplace(c.workflow, out.size());
        if (added) out.push_back(WorkflowTotals{.workflow = c.workflow});
        WorkflowTotals& t = out[it->second];
        t.jobs = add_saturated(t.jobs, c.jobs);
        t.failures = add_saturated(t.failures, c.failures);
        t.duplicates = add_saturated(t.duplicates, c.duplicates);
        t.tokens = add_saturated(t.tokens, c.tokens);
        t.execution_ms = add_saturated(t.execution_ms, c.execution_ms);
        t.queue_wait_ms = add_saturated(t.queue_wait_ms, c.queue_wait_ms);
    }
    for (WorkflowTotals& t : out) {
        t.revenue_micros = mul_saturated(t.tokens, prices.token_value_micros);
        // Whole seconds and the rest apart, so the product overflows only when
        // the cost does: floor(ms × cost / 1000) exactly.
        const std::int64_t whole =
            mul_saturated(t.execution_ms / 1000, prices.gpu_second_cost_micros);
        const std::int64_t part = (t.execution_ms % 1000) * prices.gpu_second_cost_micros / 1000;
        t.gpu_cost_micros = add_saturated(whole, part);
    }
    return out;
}

WorkflowTotals overall_totals(const std::vector<HourCell>& cells, const ReportPrices& prices) {
    std::vector<HourCell> one = cells;
    for (HourCell& c : one) c.workflow.clear();
    std::vector<WorkflowTotals> totals = workflow_totals(one, prices);
    TOLLGATE_ASSERT(totals.size() <= 1);
    return totals.empty() ? WorkflowTotals{} : totals.front();
}

WeekHeatmap week_heatmap(const std::vector<HourCell>& cells) {
    WeekHeatmap out{};
    for (const HourCell& c : cells) {
        const int slot = hour_of_week(c.hour);
        TOLLGATE_ASSERT(slot >= 0 && slot < 168);
        std::int64_t& cell =
            out[static_cast<std::size_t>(slot / 24)][static_cast<std::size_t>(slot % 24)];
        cell = add_saturated(cell, c.jobs);
    }
    return out;
}

std::size_t queue_wait_bucket(std::int64_t wait_ms) {
    const auto* at = std::upper_bound(kQueueWaitEdgesMs.begin(), kQueueWaitEdgesMs.end(), wait_ms);
    return static_cast<std::size_t>(at - kQueueWaitEdgesMs.begin());
}

std::vector<WaitPercentiles> wait_percentiles(const std::vector<WaitBucket>& buckets) {
    std::map<std::string, std::array<std::int64_t, kQueueWaitBuckets>> counts;
    std::vector<std::string> order;
    for (const WaitBucket& b : buckets) {
        TOLLGATE_ASSERT(b.bucket < kQueueWaitBuckets && b.jobs >= 0);
        auto [it, added] = counts.try_emplace(b.workflow);
        if (added) {
            it->second.fill(0);
            order.push_back(b.workflow);
        }
        it->second[b.bucket] = add_saturated(it->second[b.bucket], b.jobs);
    }
    std::vector<WaitPercentiles> out;
    for (const std::string& workflow : order) {
        const auto& n = counts[workflow];
        WaitPercentiles p{.workflow = workflow};
        for (std::int64_t c : n) p.jobs = add_saturated(p.jobs, c);
        if (p.jobs == 0) continue;
        // Nearest rank: the smallest bucket whose running count reaches ceil(q × jobs).
        auto at = [&](std::int64_t per_hundred) {
            const std::int64_t rank =
                (p.jobs / 100) * per_hundred + ((p.jobs % 100) * per_hundred + 99) / 100;
            std::int64_t seen = 0;
            for (std::size_t i = 0; i < kQueueWaitBuckets; ++i) {
                seen = add_saturated(seen, n[i]);
                if (seen >= rank) return bucket_edge(i);
            }
            return bucket_edge(kQueueWaitBuckets - 1);
        };
        p.p50_ms = at(50);
        p.p90_ms = at(90);
        p.p99_ms = at(99);
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace tollgate::usage
