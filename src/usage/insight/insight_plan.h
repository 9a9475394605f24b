// The calibration and forecast plans: what the usage records of a period say
// about prices and capacity, assembled from the insight arithmetic
// (calibration.h, shadow_price.h, forecast.h) over a report source
// (usage/reports.h). `tollgate calibrate` and `tollgate forecast`
// (app/insight_command.h) print them; /admin/reports/calibration and
// /admin/reports/forecast (http/api/admin_insight.cc) answer them as JSON.
//
// Plain C++ with no clock: the caller says what "now" is. Each call reads the
// source (which serialises its own calls) and shares nothing, so any thread
// may call it. Money in a plan is integer micro-tokens or whole tokens; the
// doubles are seconds, jobs and shares.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "pricing/price_book.h"
#include "usage/insight/calibration.h"
#include "usage/insight/forecast.h"
#include "usage/insight/shadow_price.h"
#include "usage/reports.h"

namespace tollgate::usage {

inline constexpr std::int64_t kInsightDaysMax = 366;
// Most affected accounts a calibration plan lists.
inline constexpr std::size_t kCalibrationAccountsMax = 10;
static_assert(kCalibrationAccountsMax <= kShadowAccountsMax);

struct CalibrateRequest {
    std::vector<std::string> workflows;  // empty: every workflow of the book
    std::int64_t now_ms = 0;
    std::int64_t days = 30;  // the history fitted and shadow-priced
    double target_tokens_per_gpu_second = 0;
};

// A workflow the plan could not fit, and why (fit_robust()'s message).
struct SkippedWorkflow {
    std::string workflow;
    std::string reason;
};

struct CalibrationPlan {
    std::vector<Calibration> fitted;
    std::vector<SkippedWorkflow> skipped;
    pricing::PriceBook suggested;  // the current book with the fitted prices
    ShadowPrice shadow;
    std::int64_t jobs = 0;  // the jobs fitted and shadow-priced
};

// Fits every requested workflow over [now - days, now) and shadow-prices its
// jobs under the suggested book. A workflow without enough (or with
// collinear) samples is skipped, not an error. Errors: "invalid_option" for
// days outside 1..kInsightDaysMax; "unknown_workflow" for a workflow the book
// lacks; calibrate()'s "invalid_target"; the source's and shadow_price()'s.
core::Result<CalibrationPlan> plan_calibration(UsageReportSource& source,
                                               const pricing::PriceBook& book,
                                               const CalibrateRequest& request);

// History a forecast reads: its last week is held out for the backtest, and
// the model needs two weeks before it.
inline constexpr std::int64_t kForecastWeeksMin =
    1 + static_cast<std::int64_t>(kForecastHistoryHoursMin / kHoursPerWeek);
inline constexpr std::int64_t kForecastWeeksMax = 52;
static_assert(kForecastWeeksMin == 3);

struct ForecastRequest {
    std::int64_t now_ms = 0;
    std::int64_t weeks = 8;  // history
    double target_utilization = 0.7;
    // Workers each workflow's pool has now, by workflow (for comparison).
    std::vector<std::pair<std::string, std::int64_t>> pools;
};

struct PoolForecast {
    std::string workflow;
    double gpu_seconds_per_job = 0;
    std::vector<double> jobs_per_hour;  // the next week, from first_hour
    CapacityPlan workers;               // per hour of that week
    std::int64_t workers_now = 0;
};

struct ForecastPlan {
    // Unix hour of jobs_per_hour[0]: the hour under way at now_ms, the first
    // one the history does not hold.
    std::int64_t first_hour = 0;
    Backtest backtest;                // all workflows' jobs, the last week held out
    std::vector<PoolForecast> pools;  // by workflow
};

// Forecasts the next kHoursPerWeek hours of each workflow that has jobs in
// the last `weeks` whole weeks of hours before the hour under way. Errors:
// "invalid_option" for weeks outside kForecastWeeksMin..kForecastWeeksMax or
// a utilization outside (0, 1]; the source's.
core::Result<ForecastPlan> plan_forecast(UsageReportSource& source, const ForecastRequest& request);

}  // namespace tollgate::usage
