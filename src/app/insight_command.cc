// `tollgate calibrate` and `tollgate forecast` (see insight_command.h).
#include "app/insight_command.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "app/report_source.h"
#include "core/clock.h"
#include "pricing/quote.h"
#include "usage/insight/suggested_book.h"

namespace tollgate::app {
namespace {

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

std::vector<std::pair<std::string, std::int64_t>> configured_pools(const Config& config) {
    std::vector<std::pair<std::string, std::int64_t>> pools;
    for (const WorkflowConfig& w : config.workflows)
        pools.emplace_back(w.name, static_cast<std::int64_t>(w.workers.size()));
    return pools;
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
    auto plan = usage::plan_calibration(*store->source, config.price_book, request);
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
            "%s: %zu jobs (%zu timed by the reporting node); execution seconds = %.3f + %.3f x "
            "MP; R^2 %.3f, residual spread (MAD) %.3f s, p90 |residual| %.3f s, %zu outliers\n",
            c.workflow.c_str(), f.rows, c.metered_jobs, f.coefficients[0], f.coefficients[1],
            f.r_squared, f.residual_mad, f.residual_p90_abs, f.outliers);
        std::printf("  suggested base %s (now %s), per_megapixel %s (now %s)\n",
                    pricing::format_micro_tokens(c.suggested_base_micro).c_str(),
                    pricing::format_micro_tokens(now.base_micro).c_str(),
                    pricing::format_micro_tokens(c.suggested_per_megapixel_micro).c_str(),
                    pricing::format_micro_tokens(now.per_megapixel_micro).c_str());
    }
    for (const usage::SkippedWorkflow& skip : plan->skipped)
        std::printf("skipped %s: %s\n", skip.workflow.c_str(), skip.reason.c_str());
    std::printf("shadow pricing, list prices of the charged jobs:\n  total: %s\n",
                change(plan->shadow.total).c_str());
    for (const usage::ShadowLine& l : plan->shadow.workflows)
        std::printf("  %s: %s\n", l.name.c_str(), change(l).c_str());
    std::printf("most affected accounts:\n");
    for (const usage::ShadowLine& l : plan->shadow.accounts)
        std::printf("  %s: %s\n", l.name.c_str(), change(l).c_str());
    if (!write_path.empty() && !plan->fitted.empty()) {
        auto text = usage::suggested_book_toml(config.price_book_path, *plan);
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
    request.pools = configured_pools(config);
    auto store = reports_for(config, where);
    if (!store.ok()) {
        std::fprintf(stderr, "tollgate: %s\n", store.error().message.c_str());
        return 2;
    }
    auto plan = usage::plan_forecast(*store->source, request);
    if (!plan.ok()) {
        std::fprintf(stderr, "tollgate: %s\n", plan.error().message.c_str());
        return 2;
    }
    std::printf("forecast of the next 7 days from %lld weeks of %s (hours in UTC)\n",
                static_cast<long long>(request.weeks), store->name.c_str());
    std::printf("backtest on the last week: WAPE %.1f%%, MAPE %.1f%% over %zu hours\n",
                100 * plan->backtest.wape, 100 * plan->backtest.mape, plan->backtest.hours);
    for (const usage::PoolForecast& p : plan->pools) {
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
