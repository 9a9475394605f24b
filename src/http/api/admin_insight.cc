// GET /admin/reports/calibration and /admin/reports/forecast: the plans of
// `tollgate calibrate` and `tollgate forecast` (usage/insight/insight_plan.h)
// as JSON, for the dashboard and operators' own tools (docs/api.md, Reports).
//
// Both compute their plan on the request's thread from the report source, as
// the other reports do. Query parameters are checked here, with messages that
// name them, so the plan's own checks (worded for the command line) never
// answer an HTTP request. Prices go out as exact decimal strings with their
// micro-token integers beside them; seconds, jobs and shares are numbers.
#include <charconv>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "http/api/api.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"
#include "http/codec/query.h"
#include "pricing/quote.h"
#include "usage/insight/insight_plan.h"

namespace tollgate::http {
namespace {

constexpr std::int64_t kCalibrationDaysDefault = 30;
constexpr std::int64_t kForecastWeeksDefault = 8;
constexpr double kForecastUtilizationDefault = 0.7;

// A whole number in [min, max] from a query parameter; `fallback` when empty.
std::optional<std::int64_t> parse_count(const std::string& text, std::int64_t min, std::int64_t max,
                                        std::int64_t fallback) {
    if (text.empty()) return fallback;
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    auto [at, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || at != end || value < min || value > max) return std::nullopt;
    return value;
}

// A decimal number in (0, max] from a query parameter; `fallback` when empty.
std::optional<double> parse_positive(const std::string& text, double max, double fallback) {
    if (text.empty()) return fallback;
    double value = 0;
    const char* end = text.data() + text.size();
    auto [at, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
    if (ec != std::errc() || at != end || !std::isfinite(value) || !(value > 0) || value > max)
        return std::nullopt;
    return value;
}

nlohmann::json prices_json(std::int64_t base_micro, std::int64_t per_megapixel_micro) {
    return {{"base", pricing::format_micro_tokens(base_micro)},
            {"base_micro", base_micro},
            {"per_megapixel", pricing::format_micro_tokens(per_megapixel_micro)},
            {"per_megapixel_micro", per_megapixel_micro}};
}

nlohmann::json shadow_json(const usage::ShadowLine& l, const char* name_field) {
    nlohmann::json out = {{"jobs", l.jobs},
                          {"current_tokens", l.current_tokens},
                          {"suggested_tokens", l.suggested_tokens}};
    if (name_field != nullptr) out[name_field] = l.name;
    return out;
}

nlohmann::json fitted_json(const usage::Calibration& c, const pricing::WorkflowPrice& now,
                           const usage::ShadowPrice& shadow) {
    const usage::FitResult& f = c.fit;
    nlohmann::json out = {
        {"workflow", c.workflow},
        {"samples", f.rows},
        {"metered_samples", c.metered_jobs},
        {"a_seconds", f.coefficients[0]},
        {"b_seconds_per_megapixel", f.coefficients[1]},
        {"r_squared", f.r_squared},
        {"residual_mad_seconds", f.residual_mad},
        {"residual_p90_abs_seconds", f.residual_p90_abs},
        {"outliers", f.outliers},
        {"converged", f.converged},
        {"current", prices_json(now.base_micro, now.per_megapixel_micro)},
        {"suggested", prices_json(c.suggested_base_micro, c.suggested_per_megapixel_micro)}};
    for (const usage::ShadowLine& l : shadow.workflows) {
        if (l.name == c.workflow) out["shadow"] = shadow_json(l, nullptr);
    }
    return out;
}

nlohmann::json pool_json(const usage::PoolForecast& p, std::int64_t first_hour) {
    const std::int64_t peak_hour =
        first_hour + static_cast<std::int64_t>(p.workers.peak_hour_index);
    return {{"workflow", p.workflow},
            {"gpu_seconds_per_job", p.gpu_seconds_per_job},
            {"jobs_per_hour", p.jobs_per_hour},
            {"workers_per_hour", p.workers.workers},
            {"workers_peak", p.workers.workers_peak},
            {"peak_hour_ms", peak_hour * usage::kMsPerHour},
            {"workers_now", p.workers_now}};
}

}  // namespace

Response Api::admin_calibration(const Request& request) {
    auto query = parse_query(request.query);
    const auto days =
        parse_count(query["days"], 1, usage::kInsightDaysMax, kCalibrationDaysDefault);
    if (!days) return error_response("bad_request", "days is 1 to 366");
    const auto target = parse_positive(query["target"], usage::kCalibrationTargetMax,
                                       options_.calibration_tokens_per_gpu_second);
    if (!target) {
        return error_response("bad_request",
                              "target is a number of tokens per GPU-second above 0 and at most "
                              "1000000");
    }
    if (*target == 0) {
        return error_response("bad_request",
                              "no target: pass target= or set [reports] "
                              "calibration_tokens_per_gpu_second");
    }
    usage::CalibrateRequest ask;
    if (const std::string& only = query["workflow"]; !only.empty()) ask.workflows = {only};
    ask.now_ms = clock_.now_ms() + 1;  // jobs finished at `now` too, as the other reports
    ask.days = *days;
    ask.target_tokens_per_gpu_second = *target;
    const std::shared_ptr<const pricing::PriceBook> book = service_.books().current();
    auto plan = usage::plan_calibration(*options_.reports, *book, ask);
    if (!plan.ok()) return error_response(plan.error());

    nlohmann::json fitted = nlohmann::json::array();
    for (const usage::Calibration& c : plan->fitted)
        fitted.push_back(fitted_json(c, book->workflows.at(c.workflow), plan->shadow));
    nlohmann::json skipped = nlohmann::json::array();
    for (const usage::SkippedWorkflow& s : plan->skipped)
        skipped.push_back({{"workflow", s.workflow}, {"reason", s.reason}});
    nlohmann::json workflows = nlohmann::json::array();
    for (const usage::ShadowLine& l : plan->shadow.workflows)
        workflows.push_back(shadow_json(l, "workflow"));
    nlohmann::json accounts = nlohmann::json::array();
    for (const usage::ShadowLine& l : plan->shadow.accounts)
        accounts.push_back(shadow_json(l, "account_id"));
    return json_response(200, {{"from_ms", ask.now_ms - ask.days * 24 * usage::kMsPerHour},
                               {"to_ms", ask.now_ms},
                               {"days", ask.days},
                               {"target_tokens_per_gpu_second", ask.target_tokens_per_gpu_second},
                               {"book_version", book->version},
                               {"jobs", plan->jobs},
                               {"workflows", std::move(fitted)},
                               {"skipped", std::move(skipped)},
                               {"shadow",
                                {{"total", shadow_json(plan->shadow.total, nullptr)},
                                 {"workflows", std::move(workflows)},
                                 {"accounts", std::move(accounts)}}}});
}

Response Api::admin_forecast(const Request& request) {
    auto query = parse_query(request.query);
    const auto weeks = parse_count(query["weeks"], usage::kForecastWeeksMin,
                                   usage::kForecastWeeksMax, kForecastWeeksDefault);
    if (!weeks) return error_response("bad_request", "weeks is 3 to 52");
    const auto utilization = parse_positive(query["utilization"], 1.0, kForecastUtilizationDefault);
    if (!utilization) return error_response("bad_request", "utilization is above 0 and at most 1");
    usage::ForecastRequest ask;
    ask.now_ms = clock_.now_ms();
    ask.weeks = *weeks;
    ask.target_utilization = *utilization;
    ask.pools = options_.pool_workers;
    auto plan = usage::plan_forecast(*options_.reports, ask);
    if (!plan.ok()) return error_response(plan.error());

    nlohmann::json pools = nlohmann::json::array();
    for (const usage::PoolForecast& p : plan->pools)
        pools.push_back(pool_json(p, plan->first_hour));
    const usage::Backtest& b = plan->backtest;
    return json_response(
        200,
        {{"weeks", ask.weeks},
         {"target_utilization", ask.target_utilization},
         {"first_hour_ms", plan->first_hour * usage::kMsPerHour},
         {"hours", usage::kHoursPerWeek},
         {"backtest",
          {{"wape", b.wape}, {"mape", b.mape}, {"hours", b.hours}, {"mape_hours", b.mape_hours}}},
         {"pools", std::move(pools)}});
}

}  // namespace tollgate::http
