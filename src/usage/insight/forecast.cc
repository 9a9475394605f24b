// fit_forecast(): a linear trend plus an additive hour-of-week season, fitted
// jointly by least squares in closed form.
//
// The slope comes from the variation within each hour-of-week slot (every
// value minus the mean of its slot, against the hour minus the slot's mean
// hour): the least-squares slope of the model with one level per slot. Each
// slot's level is then the mean of its detrended values; their average is the
// intercept and the rest is the season. Rejected: fitting the trend to the raw
// series first, then averaging the detrended values per slot. The weekly shape
// leaks into that slope (a week that is busier early than late tilts it) and
// the error grows with every week forecast ahead. Also rejected: exponential
// smoothing (Holt-Winters), which needs tuned smoothing constants and state
// where two closed-form passes are enough for capacity planning, and
// multiplicative seasons, which are undefined for hours without demand.
#include "usage/insight/forecast.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/assert.h"

namespace tollgate::usage {
namespace {

core::Error invalid_history(const std::string& why) {
    return core::make_error("invalid_input", why);
}

core::Status validate(const HourlySeries& history) {
    const std::size_t n = history.values.size();
    if (n > kForecastHistoryHoursMax)
        return invalid_history(std::to_string(n) + " hours is too many");
    if (n < kForecastHistoryHoursMin) {
        return core::make_error("not_enough_data",
                                std::to_string(n) + " hours of history; " + "two weeks are needed");
    }
    const std::int64_t last_start_hour = kUnixHourMax - static_cast<std::int64_t>(n) + 1;
    if (history.start_hour < 0 || history.start_hour > last_start_hour) {
        return invalid_history("start hour " + std::to_string(history.start_hour) +
                               " is out of range");
    }
    for (std::size_t i = 0; i < n; ++i) {
        const double v = history.values[i];
        if (!(v >= 0 && v <= kForecastValueMax)) {
            return invalid_history("hour " + std::to_string(i) +
                                   " is negative, too large or not finite");
        }
    }
    return {};
}

}  // namespace

int hour_of_week(std::int64_t unix_hour) {
    std::int64_t day = unix_hour / 24;
    std::int64_t hour = unix_hour % 24;
    if (hour < 0) {
        hour += 24;
        day -= 1;
    }
    const std::int64_t weekday = ((day + 3) % 7 + 7) % 7;  // Monday 0; 1970-01-01 a Thursday
    return static_cast<int>(weekday * 24 + hour);
}

core::Result<ForecastModel> fit_forecast(const HourlySeries& history) {
    if (core::Status valid = validate(history); !valid.ok()) return valid.error();
    const std::vector<double>& y = history.values;
    const std::size_t n = y.size();
    std::vector<std::size_t> slot_of(n);
    std::array<double, kHoursPerWeek> count{};
    std::array<double, kHoursPerWeek> t_mean{};
    std::array<double, kHoursPerWeek> y_mean{};
    for (std::size_t i = 0; i < n; ++i) {
        const auto slot = static_cast<std::size_t>(
            hour_of_week(history.start_hour + static_cast<std::int64_t>(i)));
        slot_of[i] = slot;
        count[slot] += 1;
        t_mean[slot] += static_cast<double>(i);
        y_mean[slot] += y[i];
    }
    for (std::size_t s = 0; s < kHoursPerWeek; ++s) {
        TOLLGATE_ASSERT(count[s] >= 2);  // two weeks of history fill every slot twice
        t_mean[s] /= count[s];
        y_mean[s] /= count[s];
    }
    double cross = 0;
    double squares = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double dt = static_cast<double>(i) - t_mean[slot_of[i]];
        cross += dt * (y[i] - y_mean[slot_of[i]]);
        squares += dt * dt;
    }
    TOLLGATE_ASSERT(squares > 0);
    ForecastModel model;
    model.start_hour = history.start_hour;
    model.slope_per_hour = cross / squares;
    // A slot's level is the mean of its detrended values: y_mean - slope × t_mean.
    double level_sum = 0;
    for (std::size_t s = 0; s < kHoursPerWeek; ++s) {
        model.season[s] = y_mean[s] - model.slope_per_hour * t_mean[s];
        level_sum += model.season[s];
    }
    model.intercept = level_sum / static_cast<double>(kHoursPerWeek);
    for (double& offset : model.season) offset -= model.intercept;
    return model;
}

std::vector<double> predict(const ForecastModel& model, std::int64_t from_hour, std::size_t hours) {
    TOLLGATE_ASSERT(hours <= kForecastHoursMax);
    TOLLGATE_ASSERT(from_hour >= 0 && from_hour <= kUnixHourMax);
    std::vector<double> out(hours);
    for (std::size_t i = 0; i < hours; ++i) {
        const std::int64_t hour = from_hour + static_cast<std::int64_t>(i);
        const double t = static_cast<double>(hour - model.start_hour);
        const double value = model.intercept + model.slope_per_hour * t +
                             model.season[static_cast<std::size_t>(hour_of_week(hour))];
        out[i] = std::max(0.0, value);
    }
    return out;
}

core::Result<Backtest> backtest(const HourlySeries& history, std::size_t holdout_hours) {
    if (holdout_hours == 0 || holdout_hours > kForecastHoursMax) {
        return invalid_history("holdout of " + std::to_string(holdout_hours) +
                               " hours is out of range");
    }
    if (history.values.size() < holdout_hours + kForecastHistoryHoursMin) {
        return core::make_error("not_enough_data",
                                "less than two weeks of history remain before the holdout");
    }
    if (core::Status valid = validate(history); !valid.ok()) return valid.error();
    const std::size_t fit_hours = history.values.size() - holdout_hours;
    HourlySeries fit_part{
        history.start_hour,
        {history.values.begin(), history.values.begin() + static_cast<std::ptrdiff_t>(fit_hours)}};
    core::Result<ForecastModel> model = fit_forecast(fit_part);
    if (!model.ok()) return model.error();
    const std::int64_t from_hour = history.start_hour + static_cast<std::int64_t>(fit_hours);
    const std::vector<double> forecast = predict(*model, from_hour, holdout_hours);
    Backtest result;
    result.hours = holdout_hours;
    double error_sum = 0;
    double actual_sum = 0;
    double percentage_sum = 0;
    for (std::size_t i = 0; i < holdout_hours; ++i) {
        const double actual = history.values[fit_hours + i];
        const double error = std::abs(forecast[i] - actual);
        error_sum += error;
        actual_sum += actual;
        if (actual > 0) {
            percentage_sum += error / actual;
            ++result.mape_hours;
        }
    }
    if (result.mape_hours > 0)
        result.mape = percentage_sum / static_cast<double>(result.mape_hours);
    if (actual_sum > 0) {
        result.wape = error_sum / actual_sum;
    } else if (error_sum > 0) {
        result.wape = std::numeric_limits<double>::infinity();
    }
    return result;
}

std::int64_t workers_needed(double gpu_seconds_per_hour, double target_utilization) {
    TOLLGATE_ASSERT(target_utilization > 0 && target_utilization <= 1);
    TOLLGATE_ASSERT(gpu_seconds_per_hour >= 0);
    const double workers = gpu_seconds_per_hour / (kSecondsPerHour * target_utilization);
    if (workers >= static_cast<double>(kWorkersMax)) return kWorkersMax;
    // 2880 s at 0.8 is exactly one worker, even when 3600 × 0.8 rounds a hair below 2880.
    const double whole = std::round(workers);
    if (std::abs(workers - whole) <= 1e-9 * std::max(1.0, whole)) {
        return static_cast<std::int64_t>(whole);
    }
    return static_cast<std::int64_t>(std::ceil(workers));
}

CapacityPlan plan_capacity(std::span<const double> gpu_seconds_per_hour,
                           double target_utilization) {
    CapacityPlan plan;
    plan.workers.reserve(gpu_seconds_per_hour.size());
    for (std::size_t i = 0; i < gpu_seconds_per_hour.size(); ++i) {
        plan.workers.push_back(workers_needed(gpu_seconds_per_hour[i], target_utilization));
        if (plan.workers.back() > plan.workers_peak) {
            plan.workers_peak = plan.workers.back();
            plan.peak_hour_index = i;
        }
    }
    return plan;
}

}  // namespace tollgate::usage
