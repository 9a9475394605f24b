// The calibration and forecast plans (see insight_plan.h).
//
// Calibration fits each workflow on its own samples and builds the suggested
// book by replacing only the fitted workflows' base and per_megapixel, so a
// skipped workflow keeps its price and shadow pricing compares like with like.
// The forecast reads one hourly report for the whole history and fills every
// hour of it, zeros included: an hour without jobs is demand of 0, not a
// missing value the model may skip.
#include "usage/insight/insight_plan.h"

#include <map>

#include "core/assert.h"

namespace tollgate::usage {

core::Result<CalibrationPlan> plan_calibration(UsageReportSource& source,
                                               const pricing::PriceBook& book,
                                               const CalibrateRequest& request) {
    if (request.days < 1 || request.days > kInsightDaysMax) {
        return core::make_error("invalid_option", "--days is 1 to 366");
    }
    const ReportRange range{request.now_ms - request.days * kMsPerDay, request.now_ms};
    std::vector<std::string> workflows = request.workflows;
    if (workflows.empty()) {
        for (const auto& [name, price] : book.workflows) workflows.push_back(name);
    }
    CalibrationPlan plan;
    plan.suggested = book;
    std::map<std::string, std::vector<ExecutionSample>> jobs;
    for (const std::string& workflow : workflows) {
        auto price = plan.suggested.workflows.find(workflow);
        if (price == plan.suggested.workflows.end()) {
            return core::make_error("unknown_workflow",
                                    "the price book has no workflow " + workflow);
        }
        auto samples = source.executions(workflow, range, kExecutionSamplesMax);
        if (!samples.ok()) return samples.error();
        auto fitted = calibrate(workflow, *samples, request.target_tokens_per_gpu_second);
        if (!fitted.ok()) {
            if (fitted.error().code == "invalid_target") return fitted.error();
            plan.skipped.push_back({workflow, fitted.error().message});
            continue;
        }
        price->second.base_micro = fitted->suggested_base_micro;
        price->second.per_megapixel_micro = fitted->suggested_per_megapixel_micro;
        plan.jobs += static_cast<std::int64_t>(samples->size());
        jobs.emplace(workflow, std::move(samples).value());
        plan.fitted.push_back(std::move(fitted).value());
    }
    auto shadow = shadow_price(book, plan.suggested, jobs, kCalibrationAccountsMax);
    if (!shadow.ok()) return shadow.error();
    plan.shadow = std::move(shadow).value();
    return plan;
}

core::Result<ForecastPlan> plan_forecast(UsageReportSource& source,
                                         const ForecastRequest& request) {
    if (request.weeks < kForecastWeeksMin || request.weeks > kForecastWeeksMax) {
        return core::make_error("invalid_option", "--weeks is 3 to 52");
    }
    if (!(request.target_utilization > 0) || request.target_utilization > 1) {
        return core::make_error("invalid_option", "--utilization is above 0 and at most 1");
    }
    // Whole hours only: the one under way is not history yet.
    const std::int64_t end_hour = request.now_ms / kMsPerHour;
    const std::int64_t hours = request.weeks * static_cast<std::int64_t>(kHoursPerWeek);
    const std::int64_t start_hour = end_hour - hours;
    auto cells = source.hourly({start_hour * kMsPerHour, end_hour * kMsPerHour});
    if (!cells.ok()) return cells.error();
    // Jobs per hour per workflow, every hour present; and all workflows together.
    std::map<std::string, HourlySeries> by_workflow;
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> work;  // execution ms, jobs
    HourlySeries all{start_hour, std::vector<double>(static_cast<std::size_t>(hours), 0)};
    for (const HourCell& c : *cells) {
        HourlySeries& series = by_workflow[c.workflow];
        if (series.values.empty()) {
            series = {start_hour, std::vector<double>(static_cast<std::size_t>(hours), 0)};
        }
        const auto at = static_cast<std::size_t>(c.hour - start_hour);
        TOLLGATE_ASSERT(at < series.values.size());
        series.values[at] += static_cast<double>(c.jobs);
        all.values[at] += static_cast<double>(c.jobs);
        work[c.workflow].first += c.execution_ms;
        work[c.workflow].second += c.jobs - c.duplicates;  // duplicates ran nothing
    }
    ForecastPlan plan;
    plan.first_hour = end_hour;
    auto tested = backtest(all, kHoursPerWeek);
    if (!tested.ok()) return tested.error();
    plan.backtest = *tested;
    for (const auto& [workflow, series] : by_workflow) {
        auto model = fit_forecast(series);
        if (!model.ok()) return model.error();
        PoolForecast pool;
        pool.workflow = workflow;
        const auto [ms, ran] = work[workflow];
        pool.gpu_seconds_per_job =
            ran > 0 ? static_cast<double>(ms) / 1000.0 / static_cast<double>(ran) : 0.0;
        pool.jobs_per_hour = predict(*model, end_hour, kHoursPerWeek);
        std::vector<double> gpu_seconds;
        for (double jobs : pool.jobs_per_hour)
            gpu_seconds.push_back(jobs * pool.gpu_seconds_per_job);
        pool.workers = plan_capacity(gpu_seconds, request.target_utilization);
        for (const auto& [name, workers] : request.pools) {
            if (name == workflow) pool.workers_now = workers;
        }
        plan.pools.push_back(std::move(pool));
    }
    return plan;
}

}  // namespace tollgate::usage
