// GET /admin/reports/calibration and /admin/reports/forecast on generated
// usage records in the gateway's SQLite file, read back on the read-only
// connection the reports use: the fitted cost model, the suggested prices
// and their shadow totals, and the forecast of a weekly curve with the
// workers it needs.
#include <gtest/gtest.h>

#include <cmath>

#include "http/api/metrics.h"
#include "http_api/fixture.h"
#include "pricing/quote.h"
#include "usage/insight/forecast.h"
#include "usage/sample_record.h"

namespace tollgate::http::testing_support {
namespace {

constexpr std::int64_t kHourMs = usage::kMsPerHour;
constexpr std::int64_t kDayMs = 24 * kHourMs;

class InsightApiTest : public GatewayFixture {
  protected:
    // An Api over the fixture's service and report source with the options
    // the gateway wires from [reports] and [workflows].
    std::unique_ptr<Api> configured_api(double target,
                                        std::vector<std::pair<std::string, std::int64_t>> pools) {
        ApiOptions options;
        options.admin_token = "admin-secret";
        options.reports = reports_.get();
        options.calibration_tokens_per_gpu_second = target;
        options.pool_workers = std::move(pools);
        return std::make_unique<Api>(*service_, *ledger_, *jobs_, clock_, std::move(options));
    }

    static Response get(Api& api, const std::string& path, const std::string& query) {
        Request r;
        r.method = "GET";
        r.path = path;
        r.target = query.empty() ? path : path + "?" + query;
        r.query = query;
        r.headers["authorization"] = "Bearer admin-secret";
        return api.handle(r);
    }

    nlohmann::json report(const std::string& name, const std::string& query, int status = 200,
                          Api* api = nullptr) {
        Response r = get(api != nullptr ? *api : *api_, "/admin/reports/" + name, query);
        EXPECT_EQ(r.status, status) << r.body;
        return nlohmann::json::parse(r.body);
    }

    void write(const std::vector<usage::UsageRecord>& records) {
        ASSERT_TRUE(store::transact(*db_, [&]() -> core::Status {
                        for (const auto& r : records) {
                            if (core::Status s = usage_->write(r); !s.ok()) return s;
                        }
                        return {};
                    }).ok());
    }

    // `n` person jobs that took 0.8 s + 0.6 s per megapixel, of many sizes,
    // finished in the `days` before now (hours 1-18 UTC, outside the peak
    // window), split between two accounts; every 25th had a 4 s cold start.
    std::vector<usage::UsageRecord> measured_jobs(int n, int days, const std::string& prefix) {
        std::vector<usage::UsageRecord> out;
        for (int i = 0; i < n; ++i) {
            const std::int64_t finished =
                clock_.now_ms() - (i % days + 1) * kDayMs + (i % 18 - 11) * kHourMs;
            usage::UsageRecord r = usage::sample_record(prefix + std::to_string(i), 12,
                                                        i % 3 == 0 ? "acct_b" : "acct_a", finished);
            r.width = 400 + (i * 37) % 3000;
            r.height = 300 + (i * 91) % 2500;
            const double mp = static_cast<double>(r.width * r.height) / 1e6;
            r.execution_ms = std::llround(1000 * (0.8 + 0.6 * mp)) + (i % 25 == 0 ? 4000 : 0);
            // Every other job was timed by the reporting node, whose figure
            // leaves out the 0.7 s of saving the result that the worker counts.
            r.meter_wall_ms = -1;
            if (i % 2 == 0) {
                r.meter_wall_ms = r.execution_ms;
                r.execution_ms += 700;
            }
            out.push_back(r);
        }
        return out;
    }

    // The list price of `r` under `book` (what shadow pricing computes).
    static std::int64_t list_tokens(const pricing::PriceBook& book, const usage::UsageRecord& r) {
        pricing::QuoteRequest q;
        q.workflow = r.workflow;
        q.width = r.width;
        q.height = r.height;
        q.at_unix_ms = r.finished_ms;
        return pricing::quote(book, q).value().tokens.value;
    }
};

TEST_F(InsightApiTest, CalibrationRecoversTheCostModelAndPricesItAtTheTarget) {
    const std::vector<usage::UsageRecord> recent = measured_jobs(300, 20, "job_");
    ASSERT_NO_FATAL_FAILURE(write(recent));
    // Older than the default 30 days: slow enough to move the fit if they counted.
    std::vector<usage::UsageRecord> old = measured_jobs(40, 5, "old_");
    for (usage::UsageRecord& r : old) {
        r.finished_ms -= 40 * kDayMs;
        r.execution_ms += 30'000;
        if (r.meter_wall_ms > 0) r.meter_wall_ms += 30'000;
    }
    ASSERT_NO_FATAL_FAILURE(write(old));

    auto api = configured_api(5.0, {});
    nlohmann::json c = report("calibration", "", 200, api.get());
    EXPECT_EQ(c["days"], 30);
    EXPECT_EQ(c["target_tokens_per_gpu_second"], 5.0);
    EXPECT_EQ(c["to_ms"], clock_.now_ms() + 1);
    EXPECT_EQ(c["from_ms"], clock_.now_ms() + 1 - 30 * kDayMs);
    EXPECT_EQ(c["book_version"], "t1");
    EXPECT_EQ(c["jobs"], 300);
    EXPECT_EQ(c["skipped"].size(), 0u);
    ASSERT_EQ(c["workflows"].size(), 1u);
    const nlohmann::json& w = c["workflows"][0];
    EXPECT_EQ(w["workflow"], "person");
    EXPECT_EQ(w["samples"], 300);
    EXPECT_EQ(w["metered_samples"], 150);
    const double a = w["a_seconds"], b = w["b_seconds_per_megapixel"];
    EXPECT_NEAR(a, 0.8, 0.001);
    EXPECT_NEAR(b, 0.6, 0.001);
    // The cold starts count in R² unweighted, so it is well below 1.
    EXPECT_GT(w["r_squared"].get<double>(), 0.5);
    EXPECT_LT(w["r_squared"].get<double>(), 1.0);
    EXPECT_LT(w["residual_mad_seconds"].get<double>(), 0.01);
    EXPECT_GE(w["outliers"].get<int>(), 12);  // the cold starts, at least
    EXPECT_EQ(w["current"], (nlohmann::json{{"base", "10"},
                                            {"base_micro", 10'000'000},
                                            {"per_megapixel", "2"},
                                            {"per_megapixel_micro", 2'000'000}}));
    // target·a and target·b to the nearest hundredth of a token (calibration.h).
    const auto step = [](double tokens) { return std::llround(tokens * 100) * 10'000; };
    EXPECT_EQ(w["suggested"]["base_micro"], step(5.0 * a));
    EXPECT_EQ(w["suggested"]["per_megapixel_micro"], step(5.0 * b));
    EXPECT_EQ(w["suggested"], (nlohmann::json{{"base", "4"},
                                              {"base_micro", 4'000'000},
                                              {"per_megapixel", "3"},
                                              {"per_megapixel_micro", 3'000'000}}));

    // Shadow pricing: each job's list price under the book in force and under
    // the same book with the suggested prices.
    pricing::PriceBook suggested = *books_->current();
    suggested.workflows.at("person").base_micro = 4'000'000;
    suggested.workflows.at("person").per_megapixel_micro = 3'000'000;
    std::int64_t current_total = 0, suggested_total = 0, current_b = 0, suggested_b = 0;
    for (const usage::UsageRecord& r : recent) {
        current_total += list_tokens(*books_->current(), r);
        suggested_total += list_tokens(suggested, r);
        if (r.account_id == "acct_b") {
            current_b += list_tokens(*books_->current(), r);
            suggested_b += list_tokens(suggested, r);
        }
    }
    const nlohmann::json total = {
        {"jobs", 300}, {"current_tokens", current_total}, {"suggested_tokens", suggested_total}};
    EXPECT_EQ(c["shadow"]["total"], total);
    EXPECT_EQ(w["shadow"], total);
    ASSERT_EQ(c["shadow"]["workflows"].size(), 1u);
    EXPECT_EQ(c["shadow"]["workflows"][0]["workflow"], "person");
    ASSERT_EQ(c["shadow"]["accounts"].size(), 2u);
    for (const nlohmann::json& line : c["shadow"]["accounts"]) {
        if (line["account_id"] != "acct_b") continue;
        EXPECT_EQ(line["jobs"], 100);
        EXPECT_EQ(line["current_tokens"], current_b);
        EXPECT_EQ(line["suggested_tokens"], suggested_b);
    }

    // A target in the request wins over the configured one; a longer history
    // takes the old, slower jobs in.
    nlohmann::json eight = report("calibration", "target=8&workflow=person", 200, api.get());
    EXPECT_EQ(eight["workflows"][0]["suggested"]["base_micro"], step(8.0 * a));
    EXPECT_EQ(eight["workflows"][0]["suggested"]["base"], "6.4");
    nlohmann::json longer = report("calibration", "days=60", 200, api.get());
    EXPECT_EQ(longer["jobs"], 340);
    EXPECT_EQ(longer["workflows"][0]["samples"], 340);
}

TEST_F(InsightApiTest, AWorkflowWithoutEnoughJobsIsSkippedWithItsReason) {
    nlohmann::json c = report("calibration", "target=8");
    EXPECT_EQ(c["jobs"], 0);
    EXPECT_EQ(c["workflows"].size(), 0u);
    ASSERT_EQ(c["skipped"].size(), 1u);
    EXPECT_EQ(c["skipped"][0]["workflow"], "person");
    EXPECT_FALSE(c["skipped"][0]["reason"].get<std::string>().empty());
    EXPECT_EQ(c["shadow"]["total"]["jobs"], 0);
    EXPECT_EQ(c["shadow"]["accounts"].size(), 0u);
}

TEST_F(InsightApiTest, TheForecastFollowsTheWeeklyCurveAndSizesThePool) {
    // Four weeks of person jobs of 10 GPU-minutes each: 5 an hour on weekdays
    // 09:00-18:00 UTC, 1 an hour otherwise, up to the hour under way.
    const auto jobs_in = [](std::int64_t hour) {
        const int slot = usage::hour_of_week(hour);
        return slot / 24 < 5 && slot % 24 >= 9 && slot % 24 < 18 ? 5 : 1;
    };
    const std::int64_t now_hour = clock_.now_ms() / kHourMs;
    std::vector<usage::UsageRecord> records;
    for (std::int64_t h = now_hour - 4 * 168; h < now_hour; ++h) {
        for (int j = 0; j < jobs_in(h); ++j) {
            usage::UsageRecord r =
                usage::sample_record("job_" + std::to_string(h) + "_" + std::to_string(j), 12,
                                     "acct_a", h * kHourMs + j * 60'000);
            r.execution_ms = 600'000;
            records.push_back(r);
        }
    }
    ASSERT_NO_FATAL_FAILURE(write(records));

    auto api = configured_api(0, {{"building", 1}, {"person", 3}});
    nlohmann::json f = report("forecast", "weeks=4&utilization=0.5", 200, api.get());
    EXPECT_EQ(f["weeks"], 4);
    EXPECT_EQ(f["target_utilization"], 0.5);
    EXPECT_EQ(f["first_hour_ms"], now_hour * kHourMs);
    EXPECT_EQ(f["hours"], 168);
    EXPECT_EQ(f["backtest"]["hours"], 168);
    EXPECT_LT(f["backtest"]["wape"].get<double>(), 1e-6);
    ASSERT_EQ(f["pools"].size(), 1u);  // building ran nothing: no pool to forecast
    const nlohmann::json& p = f["pools"][0];
    EXPECT_EQ(p["workflow"], "person");
    EXPECT_NEAR(p["gpu_seconds_per_job"].get<double>(), 600.0, 1e-9);
    ASSERT_EQ(p["jobs_per_hour"].size(), 168u);
    ASSERT_EQ(p["workers_per_hour"].size(), 168u);
    for (std::size_t i = 0; i < 168; ++i) {
        const int expected = jobs_in(now_hour + static_cast<std::int64_t>(i));
        EXPECT_NEAR(p["jobs_per_hour"][i].get<double>(), expected, 1e-6) << i;
        // 5 × 600 s in an hour at 50% busy is 1.7 workers: 2; 1 × 600 s is 1.
        EXPECT_EQ(p["workers_per_hour"][i], expected == 5 ? 2 : 1) << i;
    }
    EXPECT_EQ(p["workers_peak"], 2);
    // Now is Saturday 12:00: the first busy hour is Monday 09:00.
    EXPECT_EQ(p["peak_hour_ms"], utc_ms(2026, 11, 30, 9, 0));
    EXPECT_EQ(p["workers_now"], 3);

    nlohmann::json defaults = report("forecast", "", 200, api.get());
    EXPECT_EQ(defaults["weeks"], 8);
    EXPECT_EQ(defaults["target_utilization"], 0.7);
}

TEST_F(InsightApiTest, BadParametersAreRefusedWithClearErrors) {
    const auto code = [&](const std::string& name, const std::string& query) {
        return report(name, query, 400)["error"]["code"].get<std::string>();
    };
    // The fixture's Api has no configured target: the request must name one.
    EXPECT_EQ(code("calibration", ""), "bad_request");
    for (const char* query : {"target=0", "target=-1", "target=abc", "target=1000001",
                              "target=8&days=0", "target=8&days=367", "target=8&days=3x"}) {
        EXPECT_EQ(code("calibration", query), "bad_request") << query;
    }
    EXPECT_EQ(code("calibration", "target=8&workflow=portrait"), "unknown_workflow");
    for (const char* query : {"weeks=2", "weeks=53", "weeks=four", "utilization=0",
                              "utilization=1.5", "utilization=nan", "utilization=-0.5"}) {
        EXPECT_EQ(code("forecast", query), "bad_request") << query;
    }
    EXPECT_EQ(call("POST", "/admin/reports/forecast", "", "admin-secret").status, 405);
    EXPECT_EQ(call("GET", "/admin/reports/calibration", "", "wrong").status, 401);
}

TEST_F(InsightApiTest, WithoutAStoreThatAnswersReportsTheyAreNotImplemented) {
    ApiOptions options;
    options.admin_token = "admin-secret";
    options.calibration_tokens_per_gpu_second = 8;
    Api bare(*service_, *ledger_, *jobs_, clock_, std::move(options));
    for (const char* name : {"calibration", "forecast"}) {
        Response answer = get(bare, std::string("/admin/reports/") + name, "");
        EXPECT_EQ(answer.status, 501) << name;
        EXPECT_EQ(nlohmann::json::parse(answer.body)["error"]["code"], "reports_unsupported");
    }
}

TEST_F(InsightApiTest, MetricsNameBothRoutes) {
    EXPECT_EQ(route_template("/admin/reports/calibration"), "/admin/reports/calibration");
    EXPECT_EQ(route_template("/admin/reports/forecast"), "/admin/reports/forecast");
}

}  // namespace
}  // namespace tollgate::http::testing_support
