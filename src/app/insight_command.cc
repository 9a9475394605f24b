// `tollgate calibrate` and `tollgate forecast` (see insight_command.h).
#include "app/insight_command.h"

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "app/report_source.h"
#include "core/assert.h"
#include "core/clock.h"
#include "pricing/quote.h"

namespace tollgate::app {
namespace {

constexpr std::int64_t kMsPerDay = 24 * usage::kMsPerHour;

std::string change(const usage::ShadowLine& l) {
    char out[96];
    const double pct = l.current_tokens == 0
                           ? 0.0
                           : 100.0 * static_cast<double>(l.suggested_tokens - l.current_tokens) /
                                 static_cast<double>(l.current_tokens);
    std::snprintf(out, sizeof out, "%lld jobs: %lld -> %lld tokens (%+.1f%%)",
                  static_cast<long long>(l.jobs), static_cast<long long>(l.current_tokens),
                  static_cast<long long>(l.suggested_tokens), pct);
    return out;
}

// The report store, or the exit code 2 with a message.
core::Result<ReportStore> reports_for(const Config& config, const StoreLocation& where) {
    auto store = open_report_store(where, config.usage_export_to);
    if (!store.ok()) return store.error();
    if (!store->source) {
        return core::make_error("reports_unsupported",
                                "no usage store answers reports: set [usage] export_to");
    }
    return store;
}

}  // namespace

core::Result<CalibrationPlan> plan_calibration(usage::UsageReportSource& source,
                                               const pricing::PriceBook& book,
                                               const CalibrateRequest& request) {
    if (request.days < 1 || request.days > kInsightDaysMax) {
        return core::make_error("invalid_option", "--days is 1 to 366");
    }
    const usage::ReportRange range{request.now_ms - request.days * kMsPerDay, request.now_ms};
    std::vector<std::string> workflows = request.workflows;
    if (workflows.empty()) {
        for (const auto& [name, price] : book.workflows) workflows.push_back(name);
    }
    CalibrationPlan plan;
    plan.suggested = book;
    std::map<std::string, std::vector<usage::ExecutionSample>> jobs;
    for (const std::string& workflow : workflows) {
        auto price = plan.suggested.workflows.find(workflow);
        if (price == plan.suggested.workflows.end()) {
            return core::make_error("unknown_workflow",
                                    "the price book has no workflow " + workflow);
        }
        auto samples = source.executions(workflow, range, usage::kExecutionSamplesMax);
        if (!samples.ok()) return samples.error();
        auto fitted = usage::calibrate(workflow, *samples, request.target_tokens_per_gpu_second);
        if (!fitted.ok()) {
            if (fitted.error().code == "invalid_target") return fitted.error();
            plan.skipped.push_back(workflow + ": " + fitted.error().message);
            continue;
        }
        price->second.base_micro = fitted->suggested_base_micro;
        price->second.per_megapixel_micro = fitted->suggested_per_megapixel_micro;
        plan.jobs += static_cast<std::int64_t>(samples->size());
        jobs.emplace(workflow, std::move(samples).value());
        plan.fitted.push_back(std::move(fitted).value());
    }
    auto shadow = usage::shadow_price(book, plan.suggested, jobs, 10);
    if (!shadow.ok()) return shadow.error();
    plan.shadow = std::move(shadow).value();
    return plan;
}

core::Result<std::string> suggested_book_toml(const std::string& book_path,
                                              const CalibrationPlan& plan) {
    toml::table root;
    try {
        root = toml::parse_file(book_path);
    } catch (const toml::parse_error& e) {
        return core::make_error("invalid_price_book",
                                book_path + ": " + std::string(e.description()));
    }
    for (const usage::Calibration& c : plan.fitted) {
        toml::table* w = root["workflows"][c.workflow].as_table();
        TOLLGATE_ASSERT(w != nullptr);  // the plan's workflows come from this book
        // Hundredths of a token: exact as decimals with two places.
        w->insert_or_assign("base", static_cast<double>(c.suggested_base_micro) / 1e6);
        w->insert_or_assign("per_megapixel",
                            static_cast<double>(c.suggested_per_megapixel_micro) / 1e6);
    }
    const std::string version = root["version"].value_or(std::string("book"));
    root.insert_or_assign("version", version + "-calibrated");
    std::ostringstream text;
    text << root << "\n";
    auto check = pricing::parse_price_book(text.str(), "suggested book");
    if (!check.ok()) return check.error();
    for (const usage::Calibration& c : plan.fitted) {
        const pricing::WorkflowPrice& p = check->workflows.at(c.workflow);
        if (p.base_micro != c.suggested_base_micro ||
            p.per_megapixel_micro != c.suggested_per_megapixel_micro) {
            return core::make_error("invalid_price_book", "the suggested prices of " + c.workflow +
                                                              " do not read back as written");
        }
    }
    return text.str();
}

core::Result<ForecastPlan> plan_forecast(usage::UsageReportSource& source,
                                         const ForecastRequest& request) {
    if (request.weeks < 2 || request.weeks > 52) {
        return core::make_error("invalid_option", "--weeks is 2 to 52");
    }
    if (!(request.target_utilization > 0) || request.target_utilization > 1) {
        return core::make_error("invalid_option", "--utilization is above 0 and at most 1");
    }
    // Whole hours only: the one under way is not history yet.
    const std::int64_t end_hour = request.now_ms / usage::kMsPerHour;
    const std::int64_t hours = request.weeks * static_cast<std::int64_t>(usage::kHoursPerWeek);
    const std::int64_t start_hour = end_hour - hours;
    auto cells = source.hourly({start_hour * usage::kMsPerHour, end_hour * usage::kMsPerHour});
    if (!cells.ok()) return cells.error();
    // Jobs per hour per workflow, every hour present; and all workflows together.
    std::map<std::string, usage::HourlySeries> by_workflow;
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> work;  // execution ms, jobs
    usage::HourlySeries all{start_hour, std::vector<double>(static_cast<std::size_t>(hours), 0)};
    for (const usage::HourCell& c : *cells) {
        usage::HourlySeries& series = by_workflow[c.workflow];
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
    auto tested = usage::backtest(all, usage::kHoursPerWeek);
    if (!tested.ok()) return tested.error();
    plan.backtest = *tested;
    for (const auto& [workflow, series] : by_workflow) {
        auto model = usage::fit_forecast(series);
        if (!model.ok()) return model.error();
        PoolForecast pool;
        pool.workflow = workflow;
        const auto [ms, ran] = work[workflow];
        pool.gpu_seconds_per_job =
            ran > 0 ? static_cast<double>(ms) / 1000.0 / static_cast<double>(ran) : 0.0;
        pool.jobs_per_hour = usage::predict(*model, end_hour, usage::kHoursPerWeek);
        std::vector<double> gpu_seconds;
        for (double jobs : pool.jobs_per_hour)
            gpu_seconds.push_back(jobs * pool.gpu_seconds_per_job);
        pool.workers = usage::plan_capacity(gpu_seconds, request.target_utilization);
        for (const auto& [name, workers] : request.pools) {
            if (name == workflow) pool.workers_now = workers;
        }
        plan.pools.push_back(std::move(pool));
    }
    return plan;
}

int run_calibrate(const Config& config, const StoreLocation& where, CalibrateRequest request,
                  const std::string& write_path) {
    if (request.target_tokens_per_gpu_second == 0) {
        request.target_tokens_per_gpu_second = config.calibration_tokens_per_gpu_second;
    }
    if (request.target_tokens_per_gpu_second == 0) {
        std::fprintf(stderr,
                     "tollgate: no target: pass --target or set "
                     "[reports] calibration_tokens_per_gpu_second\n");
        return 2;
    }
    request.now_ms = core::SystemClock().now_ms();
    auto store = reports_for(config, where);
    if (!store.ok()) {
        std::fprintf(stderr, "tollgate: %s\n", store.error().message.c_str());
        return 2;
    }
    auto plan = plan_calibration(*store->source, config.price_book, request);
    if (!plan.ok()) {
        std::fprintf(stderr, "tollgate: %s\n", plan.error().message.c_str());
        return 2;
    }
    std::printf("calibration over the last %lld days of %s, at %.2f tokens per GPU-second\n",
                static_cast<long long>(request.days), store->name.c_str(),
                request.target_tokens_per_gpu_second);
    for (const usage::Calibration& c : plan->fitted) {
        const pricing::WorkflowPrice& now = config.price_book.workflows.at(c.workflow);
        const usage::FitResult& f = c.fit;
        std::printf(
            "%s: %zu jobs; execution seconds = %.3f + %.3f x MP; R^2 %.3f, residual "
            "spread (MAD) %.3f s, p90 |residual| %.3f s, %zu outliers\n",
            c.workflow.c_str(), f.rows, f.coefficients[0], f.coefficients[1], f.r_squared,
            f.residual_mad, f.residual_p90_abs, f.outliers);
        std::printf("  suggested base %s (now %s), per_megapixel %s (now %s)\n",
                    pricing::format_micro_tokens(c.suggested_base_micro).c_str(),
                    pricing::format_micro_tokens(now.base_micro).c_str(),
                    pricing::format_micro_tokens(c.suggested_per_megapixel_micro).c_str(),
                    pricing::format_micro_tokens(now.per_megapixel_micro).c_str());
    }
    for (const std::string& why : plan->skipped) std::printf("skipped %s\n", why.c_str());
    std::printf("shadow pricing, list prices of the charged jobs:\n  total: %s\n",
                change(plan->shadow.total).c_str());
    for (const usage::ShadowLine& l : plan->shadow.workflows)
        std::printf("  %s: %s\n", l.name.c_str(), change(l).c_str());
    std::printf("most affected accounts:\n");
    for (const usage::ShadowLine& l : plan->shadow.accounts)
        std::printf("  %s: %s\n", l.name.c_str(), change(l).c_str());
    if (!write_path.empty() && !plan->fitted.empty()) {
        auto text = suggested_book_toml(config.price_book_path, *plan);
        if (!text.ok()) {
            std::fprintf(stderr, "tollgate: %s\n", text.error().message.c_str());
            return 2;
        }
        std::ofstream out(write_path, std::ios::binary | std::ios::trunc);
        out << *text;
        if (!out.flush()) {
            std::fprintf(stderr, "tollgate: cannot write %s\n", write_path.c_str());
            return 2;
        }
        std::printf("suggested book written to %s, for review\n", write_path.c_str());
    }
    return 0;
}

int run_forecast(const Config& config, const StoreLocation& where, ForecastRequest request) {
    request.now_ms = core::SystemClock().now_ms();
    for (const WorkflowConfig& w : config.workflows)
        request.pools.emplace_back(w.name, static_cast<std::int64_t>(w.workers.size()));
    auto store = reports_for(config, where);
    if (!store.ok()) {
        std::fprintf(stderr, "tollgate: %s\n", store.error().message.c_str());
        return 2;
    }
    auto plan = plan_forecast(*store->source, request);
    if (!plan.ok()) {
        std::fprintf(stderr, "tollgate: %s\n", plan.error().message.c_str());
        return 2;
    }
    std::printf("forecast of the next 7 days from %lld weeks of %s (hours in UTC)\n",
                static_cast<long long>(request.weeks), store->name.c_str());
    std::printf("backtest on the last week: WAPE %.1f%%, MAPE %.1f%% over %zu hours\n",
                100 * plan->backtest.wape, 100 * plan->backtest.mape, plan->backtest.hours);
    for (const PoolForecast& p : plan->pools) {
        double total = 0, peak = 0;
        for (double jobs : p.jobs_per_hour) {
            total += jobs;
            peak = std::max(peak, jobs);
        }
        const std::int64_t peak_hour =
            plan->first_hour + static_cast<std::int64_t>(p.workers.peak_hour_index);
        std::printf(
            "%s: %.0f jobs in the week, at most %.1f an hour; %.2f GPU-seconds a job; "
            "%lld workers at the peak (hour of week %d) at %.0f%% busy, %lld now\n",
            p.workflow.c_str(), total, peak, p.gpu_seconds_per_job,
            static_cast<long long>(p.workers.workers_peak), usage::hour_of_week(peak_hour),
            100 * request.target_utilization, static_cast<long long>(p.workers_now));
    }
    return 0;
}

}  // namespace tollgate::app
