// Hourly demand forecast for capacity planning: how many jobs (or GPU
// seconds) each hour of the coming weeks is likely to bring, learnt from the
// hourly history. Pure arithmetic on doubles with no I/O and no clock: the
// caller says which hours it has and which it wants. Any thread may call it.
//
// The model is additive: a linear trend plus one seasonal offset for each of
// the 168 hours of the week. Hours are counted from the Unix epoch and the
// hours of the week are UTC: slot 0 is Monday 00:00–01:00 UTC. Demand that
// follows a local clock with daylight saving time therefore shifts by a slot
// twice a year, and the model learns the blend of both until it has seen
// enough weeks of each.
//
// Key invariants: a fitted model's season sums to zero, so intercept +
// slope × t is the mean level of the week around hour t; a prediction is never
// negative.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/result.h"

namespace tollgate::usage {

inline constexpr std::size_t kHoursPerWeek = 168;
inline constexpr std::size_t kForecastHistoryHoursMin = 2 * kHoursPerWeek;
inline constexpr std::size_t kForecastHistoryHoursMax = 5 * 366 * 24;  // five years
inline constexpr std::size_t kForecastHoursMax = 8 * kHoursPerWeek;
// The last hour of the year 9999 UTC, as hours since the Unix epoch.
inline constexpr std::int64_t kUnixHourMax = 253'402'300'799 / 3600;
// No hour of demand is above this, so sums over kForecastHistoryHoursMax stay finite.
inline constexpr double kForecastValueMax = 1e12;

// Hour `start_hour + i` (hours since 1970-01-01T00:00Z) held values[i].
struct HourlySeries {
    std::int64_t start_hour = 0;
    std::vector<double> values;
};

// value(hour) = max(0, intercept + slope_per_hour × (hour - start_hour)
//                      + season[hour_of_week(hour)])
struct ForecastModel {
    double intercept = 0;
    double slope_per_hour = 0;
    std::array<double, kHoursPerWeek> season{};  // sums to zero
    std::int64_t start_hour = 0;                 // the first hour of the history it was fitted on
};

// The UTC hour of the week of a Unix hour: Monday 00:00 is 0, Sunday 23:00 is 167. The epoch
// fell on a Thursday, so hour 0 is slot 72. Hours before the epoch count back the same way.
int hour_of_week(std::int64_t unix_hour);

// Fits the model to the history. Errors (core::Error::code):
//   "not_enough_data" fewer than kForecastHistoryHoursMin hours (every slot needs two weeks);
//   "invalid_input"   more than kForecastHistoryHoursMax hours, a value that is negative, not
//                     finite or above kForecastValueMax, or hours outside 0..kUnixHourMax.
[[nodiscard]] core::Result<ForecastModel> fit_forecast(const HourlySeries& history);

// The forecast for `hours` consecutive hours from `from_hour`, each at least 0.
// Preconditions (asserted): hours ≤ kForecastHoursMax and 0 ≤ from_hour ≤ kUnixHourMax; a
// horizon that comes from a request is checked against kForecastHoursMax by the caller.
std::vector<double> predict(const ForecastModel& model, std::int64_t from_hour, std::size_t hours);

struct Backtest {
    double mape = 0;  // mean |error| / actual over the hours whose actual > 0; 0 when none
    double wape = 0;  // Σ|error| / Σ actual; 0 when both are 0, infinity when only Σ actual is
    std::size_t hours = 0;       // hours compared (the holdout)
    std::size_t mape_hours = 0;  // of which had actual > 0 and so count in mape
};

// Fits on all but the last holdout_hours of the history and scores the forecast of those.
// Errors: "invalid_input" for holdout_hours outside 1..kForecastHoursMax or a history that
// fit_forecast() refuses; "not_enough_data" when fewer than kForecastHistoryHoursMin hours
// remain to fit on.
[[nodiscard]] core::Result<Backtest> backtest(const HourlySeries& history,
                                              std::size_t holdout_hours);

inline constexpr double kSecondsPerHour = 3600;
// A plan never asks for more workers than this; larger demand saturates here.
inline constexpr std::int64_t kWorkersMax = 100'000;

// Workers that serve gpu_seconds_per_hour of work busy target_utilization of the time:
// ceil(gpu_seconds_per_hour / (3600 × target_utilization)), at most kWorkersMax. A quotient
// within rounding error of a whole number is that number. Preconditions (asserted):
// gpu_seconds_per_hour ≥ 0 (infinity saturates), 0 < target_utilization ≤ 1.
std::int64_t workers_needed(double gpu_seconds_per_hour, double target_utilization);

struct CapacityPlan {
    std::vector<std::int64_t> workers;  // workers_needed() for each hour of the forecast
    std::int64_t workers_peak = 0;
    std::size_t peak_hour_index = 0;  // the first hour that needs workers_peak
};

// The plan for a forecast of GPU seconds per hour (same preconditions as workers_needed()).
CapacityPlan plan_capacity(std::span<const double> gpu_seconds_per_hour, double target_utilization);

}  // namespace tollgate::usage
