// Tests for the hourly demand forecast: the UTC hour of the week, fits to
// synthetic series whose true curve is known (seasonal with trend and noise,
// pure trend, constant, falling), the backtest, each refusal, and the worker
// count of a capacity plan.
#include "usage/insight/forecast.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace tollgate::usage {
namespace {

// 2026-11-30T00:00:00Z, a Monday (date -u -d @1795996800).
constexpr std::int64_t kMondayEpochSeconds = 1'795'996'800;
static_assert(kMondayEpochSeconds % 3600 == 0);
constexpr std::int64_t kMondayHour = kMondayEpochSeconds / 3600;

// Demand with a known shape: 100 jobs an hour rising by 0.05 an hour, plus an afternoon peak
// at 14:00 UTC whose height depends on the day (Wednesday highest, weekends low).
double true_demand(std::int64_t hour, std::int64_t start_hour) {
    static constexpr double kDayFactor[7] = {1.0, 1.1, 1.25, 1.1, 0.95, 0.5, 0.4};  // Monday first
    const int slot = hour_of_week(hour);
    const double hour_of_day = slot % 24;
    const double peak = 80 * std::exp(-std::pow(hour_of_day - 14, 2) / (2 * 2.0 * 2.0));
    return 100 + 0.05 * static_cast<double>(hour - start_hour) + kDayFactor[slot / 24] * peak;
}

HourlySeries seasonal_series(std::int64_t start_hour, std::size_t hours, double noise_sd) {
    std::mt19937_64 rng(2026);
    std::normal_distribution<double> noise(0.0, noise_sd);
    HourlySeries s{start_hour, {}};
    for (std::size_t i = 0; i < hours; ++i) {
        const std::int64_t hour = start_hour + static_cast<std::int64_t>(i);
        s.values.push_back(std::max(0.0, true_demand(hour, start_hour) + noise(rng)));
    }
    return s;
}

HourlySeries line(std::int64_t start_hour, std::size_t hours, double a, double b) {
    HourlySeries s{start_hour, {}};
    for (std::size_t i = 0; i < hours; ++i) s.values.push_back(a + b * static_cast<double>(i));
    return s;
}

void expect_error(const HourlySeries& s, const std::string& code) {
    auto r = fit_forecast(s);
    ASSERT_FALSE(r.ok()) << "expected " << code;
    EXPECT_EQ(r.error().code, code) << r.error().message;
}

TEST(ForecastTest, HourOfWeekIsCountedInUtcFromMonday) {
    EXPECT_EQ(hour_of_week(kMondayHour), 0);
    EXPECT_EQ(hour_of_week(kMondayHour + 14), 14);
    EXPECT_EQ(hour_of_week(kMondayHour + 2 * 24 + 14), 62);   // Wednesday 14:00
    EXPECT_EQ(hour_of_week(kMondayHour + 6 * 24 + 23), 167);  // Sunday 23:00
    EXPECT_EQ(hour_of_week(kMondayHour + 168), 0);
    EXPECT_EQ(hour_of_week(kMondayHour - 1), 167);
    EXPECT_EQ(hour_of_week(0), 72);   // 1970-01-01 was a Thursday
    EXPECT_EQ(hour_of_week(-1), 71);  // Wednesday 23:00 before the epoch
}

TEST(ForecastTest, SeasonalSeriesIsBacktestedAndForecastAlongItsCurve) {
    const std::int64_t start = kMondayHour - 6 * 168;
    const HourlySeries history = seasonal_series(start, 6 * 168, 2.0);
    auto score = backtest(history, 168);
    ASSERT_TRUE(score.ok()) << score.error().message;
    EXPECT_EQ(score->hours, 168u);
    EXPECT_EQ(score->mape_hours, 168u);
    EXPECT_LT(score->wape, 0.10);
    EXPECT_LT(score->mape, 0.10);
    RecordProperty("backtest_wape", std::to_string(score->wape));
    RecordProperty("backtest_mape", std::to_string(score->mape));

    auto model = fit_forecast(history);
    ASSERT_TRUE(model.ok()) << model.error().message;
    EXPECT_NEAR(model->slope_per_hour, 0.05, 0.01);
    const std::vector<double> next_week = predict(*model, kMondayHour, 168);
    ASSERT_EQ(next_week.size(), 168u);
    double worst = 0;
    for (std::size_t i = 0; i < next_week.size(); ++i) {
        const double truth = true_demand(kMondayHour + static_cast<std::int64_t>(i), start);
        EXPECT_NEAR(next_week[i], truth, 0.10 * truth) << "hour " << i;
        worst = std::max(worst, std::abs(next_week[i] - truth) / truth);
    }
    RecordProperty("next_week_worst_relative_error", std::to_string(worst));
    const auto peak = std::max_element(next_week.begin(), next_week.end()) - next_week.begin();
    EXPECT_EQ(peak, 2 * 24 + 14);  // Wednesday 14:00 UTC
    // Every day peaks at 14:00, weekends included.
    for (std::size_t day = 0; day < 7; ++day) {
        const auto begin = next_week.begin() + static_cast<std::ptrdiff_t>(day * 24);
        EXPECT_EQ(std::max_element(begin, begin + 24) - begin, 14) << "day " << day;
    }
}

TEST(ForecastTest, NoiselessSeasonAndTrendAreRecoveredFromPartialWeeks) {
    // Neither the start (a Thursday afternoon) nor the length is a whole week; the weekly shape
    // must not leak into the slope, or the error would grow with each week ahead.
    const std::int64_t start = kMondayHour + 3 * 24 + 15;
    const HourlySeries history = seasonal_series(start, 2 * 168 + 50, 0.0);
    auto model = fit_forecast(history);
    ASSERT_TRUE(model.ok()) << model.error().message;
    EXPECT_NEAR(model->slope_per_hour, 0.05, 1e-9);
    double season_sum = 0;
    for (double offset : model->season) season_sum += offset;
    EXPECT_NEAR(season_sum, 0, 1e-6);
    const std::int64_t from = start + 2 * 168 + 50 + 4 * 168;  // four weeks after the history
    const std::vector<double> ahead = predict(*model, from, kForecastHoursMax);
    for (std::size_t i = 0; i < ahead.size(); ++i) {
        EXPECT_NEAR(ahead[i], true_demand(from + static_cast<std::int64_t>(i), start), 1e-6);
    }
}

TEST(ForecastTest, PureTrendIsExtrapolated) {
    const std::int64_t start = kMondayHour + 5;
    auto model = fit_forecast(line(start, 3 * 168 + 7, 10, 0.5));
    ASSERT_TRUE(model.ok()) << model.error().message;
    EXPECT_NEAR(model->slope_per_hour, 0.5, 1e-9);
    EXPECT_NEAR(model->intercept, 10, 1e-6);
    for (double offset : model->season) EXPECT_NEAR(offset, 0, 1e-6);
    const std::int64_t end = start + 3 * 168 + 7;
    const std::vector<double> next = predict(*model, end, 48);
    for (std::size_t i = 0; i < next.size(); ++i) {
        EXPECT_NEAR(next[i], 10 + 0.5 * static_cast<double>(3 * 168 + 7 + i), 1e-6);
    }
}

TEST(ForecastTest, ConstantSeriesForecastsThatConstant) {
    auto model = fit_forecast(line(kMondayHour, kForecastHistoryHoursMin, 42, 0));
    ASSERT_TRUE(model.ok()) << model.error().message;
    EXPECT_NEAR(model->slope_per_hour, 0, 1e-12);
    for (double v : predict(*model, kMondayHour + 1000, 100)) EXPECT_NEAR(v, 42, 1e-9);
    auto score = backtest(line(kMondayHour, 3 * 168, 42, 0), 168);
    ASSERT_TRUE(score.ok()) << score.error().message;
    EXPECT_NEAR(score->wape, 0, 1e-12);
    EXPECT_NEAR(score->mape, 0, 1e-12);
}

TEST(ForecastTest, FallingTrendIsClampedAtZero) {
    auto model = fit_forecast(line(kMondayHour, 3 * 168, 500, -0.5));
    ASSERT_TRUE(model.ok()) << model.error().message;
    // From the end of the history the trend is 248 - 0.5·i: zero at i = 496, negative after.
    const std::vector<double> next = predict(*model, kMondayHour + 3 * 168, kForecastHoursMax);
    EXPECT_NEAR(next[0], 248, 1e-6);
    EXPECT_NEAR(next[400], 48, 1e-6);
    for (std::size_t i = 0; i < next.size(); ++i) {
        EXPECT_GE(next[i], 0) << i;
        if (i > 496) {
            EXPECT_EQ(next[i], 0) << i;
        }
    }
}

TEST(ForecastTest, ShortNegativeNonFiniteOrOversizedHistoryIsRefused) {
    ASSERT_TRUE(fit_forecast(line(kMondayHour, kForecastHistoryHoursMin, 1, 0)).ok());
    expect_error(line(kMondayHour, kForecastHistoryHoursMin - 1, 1, 0), "not_enough_data");
    expect_error(HourlySeries{}, "not_enough_data");
    HourlySeries negative = line(kMondayHour, 400, 1, 0);
    negative.values[123] = -1;
    expect_error(negative, "invalid_input");
    HourlySeries nan = line(kMondayHour, 400, 1, 0);
    nan.values[7] = std::numeric_limits<double>::quiet_NaN();
    expect_error(nan, "invalid_input");
    HourlySeries infinite = line(kMondayHour, 400, 1, 0);
    infinite.values[399] = std::numeric_limits<double>::infinity();
    expect_error(infinite, "invalid_input");
    expect_error(line(kMondayHour, kForecastHistoryHoursMax + 1, 1, 0), "invalid_input");
    expect_error(line(-1, 400, 1, 0), "invalid_input");
    expect_error(line(kUnixHourMax - 398, 400, 1, 0), "invalid_input");
    EXPECT_TRUE(fit_forecast(line(kUnixHourMax - 399, 400, 1, 0)).ok());
}

TEST(ForecastTest, BacktestNeedsTwoWeeksBeforeTheHoldout) {
    const HourlySeries history = line(kMondayHour, 2 * 168 + 100, 5, 0);
    EXPECT_TRUE(backtest(history, 100).ok());
    auto short_fit = backtest(history, 101);
    ASSERT_FALSE(short_fit.ok());
    EXPECT_EQ(short_fit.error().code, "not_enough_data");
    auto none = backtest(history, 0);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code, "invalid_input");
    HourlySeries bad_holdout = history;
    bad_holdout.values.back() = -3;  // in the holdout, which fit_forecast never sees
    auto refused = backtest(bad_holdout, 100);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, "invalid_input");
}

TEST(ForecastCapacityTest, WorkersRoundUpButExactMultiplesDoNot) {
    EXPECT_EQ(workers_needed(0, 0.5), 0);
    EXPECT_EQ(workers_needed(1, 1), 1);
    EXPECT_EQ(workers_needed(3600, 1), 1);
    EXPECT_EQ(workers_needed(3601, 1), 2);
    EXPECT_EQ(workers_needed(7200, 0.5), 4);
    EXPECT_EQ(workers_needed(2880, 0.8), 1);
    EXPECT_EQ(workers_needed(2881, 0.8), 2);
    EXPECT_EQ(workers_needed(std::numeric_limits<double>::infinity(), 1), kWorkersMax);
    EXPECT_EQ(workers_needed(1e15, 0.5), kWorkersMax);
    // Whatever rounding k × u × 3600 suffers (252 s at 1% is 7.000000000000001 workers), k
    // workers' worth of work needs k workers, and a millionth more needs one more.
    for (int percent = 1; percent <= 100; ++percent) {
        const double u = percent / 100.0;
        for (std::int64_t k = 1; k <= 1000; ++k) {
            const double seconds = static_cast<double>(k) * u * 3600;
            ASSERT_EQ(workers_needed(seconds, u), k) << k << " at " << u;
            ASSERT_EQ(workers_needed(static_cast<double>(k) * 3600 * u, u), k) << k << " at " << u;
            ASSERT_EQ(workers_needed(seconds * (1 + 1e-6), u), k + 1) << k << " at " << u;
        }
    }
}

TEST(ForecastCapacityTest, PlanFindsThePeakHour) {
    const std::vector<double> seconds = {0, 3600, 9000, 7200, 9000};
    const CapacityPlan plan = plan_capacity(seconds, 1.0);
    EXPECT_EQ(plan.workers, (std::vector<std::int64_t>{0, 1, 3, 2, 3}));
    EXPECT_EQ(plan.workers_peak, 3);
    EXPECT_EQ(plan.peak_hour_index, 2u);
    EXPECT_EQ(plan_capacity(std::vector<double>{}, 0.5).workers_peak, 0);
}

TEST(ForecastDeathTest, UtilizationOutsideZeroToOneAborts) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH((void)workers_needed(100, 0), "target_utilization");
    EXPECT_DEATH((void)workers_needed(100, 1.5), "target_utilization");
    EXPECT_DEATH((void)workers_needed(-1, 0.5), "gpu_seconds_per_hour");
}

}  // namespace
}  // namespace tollgate::usage
