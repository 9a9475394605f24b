// GET /admin/reports/{hourly,heatmap,economics,top-accounts,queue-wait}:
// what the usage records say per workflow and hour, for the dashboard and for
// operators' own tools (docs/api.md, Reports); calibration and forecast are
// routed from here to admin_insight.cc. The figures come from the
// usage store's sums (usage/reports.h), so every store gives the same ones.
//
// Every report takes ?from= and ?to= (unix ms, or a date/time on the price
// book's clock; the last 7 days up to now by default); hours and the heatmap
// are UTC.
#include <nlohmann/json.hpp>

#include "http/api/api.h"
#include "http/api/api_helpers.h"
#include "http/api/error_map.h"
#include "http/codec/query.h"

namespace tollgate::http {
namespace {

constexpr std::int64_t kDefaultSpanMs = 7LL * 24 * usage::kMsPerHour;
constexpr std::size_t kTopAccountsDefault = 20;

double seconds(std::int64_t ms) { return static_cast<double>(ms) / 1000.0; }

double ratio(std::int64_t part, std::int64_t whole) {
    return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

nlohmann::json percentile(std::int64_t ms) {
    return ms < 0 ? nlohmann::json(nullptr) : nlohmann::json(ms);
}

nlohmann::json totals_json(const usage::WorkflowTotals& t) {
    return {{"workflow", t.workflow},
            {"jobs", t.jobs},
            {"failures", t.failures},
            {"duplicates", t.duplicates},
            {"tokens", t.tokens},
            {"average_tokens", ratio(t.tokens, t.jobs)},
            {"gpu_seconds", seconds(t.execution_ms)},
            {"average_queue_wait_ms", ratio(t.queue_wait_ms, t.jobs)},
            {"revenue_micros", t.revenue_micros},
            {"gpu_cost_micros", t.gpu_cost_micros},
            {"margin_micros", t.revenue_micros - t.gpu_cost_micros}};
}

}  // namespace

Response Api::admin_report(const Request& request, const std::string& name) {
    if (request.method != "GET") return error_response("method_not_allowed", "use GET");
    if (options_.reports == nullptr) {
        return error_response("reports_unsupported",
                              "reports need the embedded store or a SQL usage sink "
                              "([usage] export_to)");
    }
    if (name == "calibration") return admin_calibration(request);
    if (name == "forecast") return admin_forecast(request);
    auto query = parse_query(request.query);
    const core::TimeZone& zone = service_.books().current()->time_zone;
    const std::int64_t now = clock_.now_ms();
    auto to = parse_instant_ms(query["to"], now + 1, zone);  // jobs finished at `now` too
    if (!to.ok()) return error_response(to.error());
    auto from = parse_instant_ms(query["from"], *to - kDefaultSpanMs, zone);
    if (!from.ok()) return error_response(from.error());
    const usage::ReportRange range{*from, *to};
    if (core::Status s = usage::check_report_range(range); !s.ok())
        return error_response(s.error());
    nlohmann::json out = {{"from_ms", range.from_ms}, {"to_ms", range.to_ms}};
    usage::UsageReportSource& source = *options_.reports;

    if (name == "hourly" || name == "heatmap" || name == "economics") {
        auto cells = source.hourly(range);
        if (!cells.ok()) return error_response(cells.error());
        const std::string& only = query["workflow"];
        if (name == "hourly") {
            nlohmann::json hours = nlohmann::json::array();
            for (const usage::HourCell& c : *cells) {
                if (!only.empty() && c.workflow != only) continue;
                hours.push_back({{"workflow", c.workflow},
                                 {"hour_start_ms", c.hour * usage::kMsPerHour},
                                 {"jobs", c.jobs},
                                 {"failures", c.failures},
                                 {"duplicates", c.duplicates},
                                 {"tokens", c.tokens},
                                 {"average_tokens", ratio(c.tokens, c.jobs)},
                                 {"gpu_seconds", seconds(c.execution_ms)},
                                 {"average_queue_wait_ms", ratio(c.queue_wait_ms, c.jobs)}});
            }
            out["hours"] = std::move(hours);
        } else if (name == "heatmap") {
            const usage::WeekHeatmap map = usage::week_heatmap(*cells);
            out["days"] = {"monday", "tuesday",  "wednesday", "thursday",
                           "friday", "saturday", "sunday"};
            out["jobs"] = map;
        } else {
            const usage::ReportPrices& prices = options_.report_prices;
            nlohmann::json workflows = nlohmann::json::array();
            for (const usage::WorkflowTotals& t : usage::workflow_totals(*cells, prices))
                workflows.push_back(totals_json(t));
            out["currency"] = prices.currency;
            out["token_value_micros"] = prices.token_value_micros;
            out["gpu_second_cost_micros"] = prices.gpu_second_cost_micros;
            out["workflows"] = std::move(workflows);
            nlohmann::json total = totals_json(usage::overall_totals(*cells, prices));
            total.erase("workflow");
            out["total"] = std::move(total);
        }
        return json_response(200, out);
    }
    if (name == "top-accounts") {
        std::size_t limit = kTopAccountsDefault;
        if (const std::string& text = query["limit"]; !text.empty()) {
            if (text.size() > 4 || text.find_first_not_of("0123456789") != std::string::npos ||
                std::stoul(text) < 1 || std::stoul(text) > usage::kTopAccountsMax) {
                return error_response("bad_request", "limit is 1 to 1000");
            }
            limit = std::stoul(text);
        }
        auto top = source.top_accounts(range, limit);
        if (!top.ok()) return error_response(top.error());
        nlohmann::json accounts = nlohmann::json::array();
        for (const usage::AccountTotal& a : *top) {
            accounts.push_back({{"account_id", a.account_id},
                                {"jobs", a.jobs},
                                {"tokens", a.tokens},
                                {"gpu_seconds", seconds(a.execution_ms)}});
        }
        out["accounts"] = std::move(accounts);
        return json_response(200, out);
    }
    if (name == "queue-wait") {
        auto buckets = source.queue_waits(range);
        if (!buckets.ok()) return error_response(buckets.error());
        nlohmann::json workflows = nlohmann::json::array();
        for (const usage::WaitPercentiles& p : usage::wait_percentiles(*buckets)) {
            workflows.push_back({{"workflow", p.workflow},
                                 {"jobs", p.jobs},
                                 {"p50_ms", percentile(p.p50_ms)},
                                 {"p90_ms", percentile(p.p90_ms)},
                                 {"p99_ms", percentile(p.p99_ms)}});
        }
        out["bucket_edges_ms"] = usage::kQueueWaitEdgesMs;
        out["workflows"] = std::move(workflows);
        return json_response(200, out);
    }
    return not_found();
}

}  // namespace tollgate::http
