// `tollgate calibrate` and `tollgate forecast`: prices learnt from measured
// GPU time, and the demand and workers of the coming week, from the usage
// records the reports read (app/report_source.h).
//
// Each is a plan (what the numbers say, for tests and the dashboard) and a
// printer. Exit codes as the other commands': 0 done, 2 nothing could be
// read or computed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/store_open.h"
#include "pricing/price_book.h"
#include "usage/insight/calibration.h"
#include "usage/insight/forecast.h"
#include "usage/insight/shadow_price.h"
#include "usage/reports.h"

namespace tollgate::app {

inline constexpr std::int64_t kInsightDaysMax = 366;

struct CalibrateRequest {
    std::vector<std::string> workflows;  // empty: every workflow of the book
    std::int64_t now_ms = 0;
    std::int64_t days = 30;  // the history fitted and shadow-priced
    double target_tokens_per_gpu_second = 0;
};

struct CalibrationPlan {
    std::vector<usage::Calibration> fitted;
    std::vector<std::string> skipped;  // "<workflow>: <why>"
    pricing::PriceBook suggested;      // the current book with the fitted prices
    usage::ShadowPrice shadow;
    std::int64_t jobs = 0;  // the jobs fitted and shadow-priced
};

core::Result<CalibrationPlan> plan_calibration(usage::UsageReportSource& source,
                                               const pricing::PriceBook& book,
                                               const CalibrateRequest& request);

// The book file at `book_path` with the plan's prices in place of the fitted
// workflows' base and per_megapixel, and version "<version>-calibrated", as
// TOML (comments are not kept). Checked by parsing it back.
core::Result<std::string> suggested_book_toml(const std::string& book_path,
                                              const CalibrationPlan& plan);

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
    std::vector<double> jobs_per_hour;  // the next week, from the next whole hour
    usage::CapacityPlan workers;        // per hour of that week
    std::int64_t workers_now = 0;
};

struct ForecastPlan {
    std::int64_t first_hour = 0;  // unix hour of jobs_per_hour[0]
    usage::Backtest backtest;     // all workflows' jobs, the last week held out
    std::vector<PoolForecast> pools;
};

core::Result<ForecastPlan> plan_forecast(usage::UsageReportSource& source,
                                         const ForecastRequest& request);

// The commands: read the store `where` (and [usage] export_to), print the
// plan on stdout; calibrate writes the suggested book to `write_path` too
// when it is not empty.
int run_calibrate(const Config& config, const StoreLocation& where, CalibrateRequest request,
                  const std::string& write_path);
int run_forecast(const Config& config, const StoreLocation& where, ForecastRequest request);

}  // namespace tollgate::app
