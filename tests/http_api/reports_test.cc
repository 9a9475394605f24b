// GET /admin/reports/*: jobs run through the real service (SQLite ledger and
// usage records, read back on a read-only connection), and the reports'
// figures are the ledger's and the jobs' own.
#include <gtest/gtest.h>

#include "http_api/fixture.h"

namespace tollgate::http::testing_support {
namespace {

class ReportsApiTest : public GatewayFixture {
  protected:
    nlohmann::json report(const std::string& name, const std::string& query, int status = 200) {
        Response r = call("GET", "/admin/reports/" + name, "", "admin-secret", query);
        EXPECT_EQ(r.status, status) << r.body;
        return nlohmann::json::parse(r.body);
    }

    // Runs `n` jobs of `workflow` at `width`×`height` to their end; their ids.
    std::vector<std::string> run_jobs(int n, const std::string& workflow, int width, int height) {
        std::vector<std::string> ids;
        for (int i = 0; i < n; ++i) {
            auto r = submit(workflow, width + i, height);  // distinct bytes: no duplicates
            EXPECT_TRUE(r.ok());
            EXPECT_EQ(r->outcome, SubmitOutcome::Accepted);
            ids.push_back(r->job_id);
            wait_final(r->job_id);
        }
        return ids;
    }

    const std::string range_ = "from=" + std::to_string(utc_ms(2026, 11, 28, 0, 0)) +
                               "&to=" + std::to_string(utc_ms(2026, 11, 29, 0, 0));
};

TEST_F(ReportsApiTest, HourlyAndEconomicsFiguresAreTheLedgersAndTheJobs) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(10'000), "t").ok());
    const auto ok = run_jobs(3, "person", 2000, 1500);
    kind_ = dispatch::JobOutcomeKind::ExecutionFailed;
    const auto failed = run_jobs(1, "person", 1000, 1000);
    kind_ = dispatch::JobOutcomeKind::Succeeded;
    clock_.advance_ms(2 * usage::kMsPerHour);  // the next jobs finish two hours later
    const auto later = run_jobs(2, "person", 3000, 2000);

    std::int64_t charged = 0;
    for (const auto& ids : {ok, later}) {
        for (const std::string& id : ids) charged += jobs_->get(id).value()->tokens;
    }
    const ledger::Balance balance = ledger_->balance(account_).value();
    ASSERT_EQ(balance.captured.value, charged);

    nlohmann::json hourly = report("hourly", range_);
    ASSERT_EQ(hourly["hours"].size(), 2u);
    const nlohmann::json& first = hourly["hours"][0];
    EXPECT_EQ(first["workflow"], "person");
    EXPECT_EQ(first["hour_start_ms"], utc_ms(2026, 11, 28, 12, 0));
    EXPECT_EQ(first["jobs"], 4);
    EXPECT_EQ(first["failures"], 1);
    EXPECT_EQ(first["gpu_seconds"], 6.0);  // 1.5 s each, the failed one too
    const nlohmann::json& second = hourly["hours"][1];
    EXPECT_EQ(second["hour_start_ms"], utc_ms(2026, 11, 28, 14, 0));
    EXPECT_EQ(second["jobs"], 2);
    EXPECT_EQ(second["failures"], 0);
    std::int64_t later_tokens = 0;
    for (const std::string& id : later) later_tokens += jobs_->get(id).value()->tokens;
    EXPECT_EQ(second["tokens"], later_tokens);
    EXPECT_EQ(first["tokens"].get<std::int64_t>() + second["tokens"].get<std::int64_t>(), charged);
    EXPECT_EQ(second["average_tokens"], static_cast<double>(later_tokens) / 2);

    nlohmann::json money = report("economics", range_);
    EXPECT_EQ(money["total"]["tokens"], charged);
    EXPECT_EQ(money["total"]["jobs"], 6);
    EXPECT_EQ(money["total"]["revenue_micros"], charged * 1'000);
    EXPECT_EQ(money["total"]["gpu_cost_micros"], 9'000 * 300 / 1000);
    EXPECT_EQ(money["total"]["margin_micros"], charged * 1'000 - 2'700);
    EXPECT_EQ(money["currency"], "USD");
    ASSERT_EQ(money["workflows"].size(), 1u);
    EXPECT_EQ(money["workflows"][0]["tokens"], charged);

    EXPECT_EQ(report("hourly", range_ + "&workflow=person")["hours"].size(), 2u);
    EXPECT_EQ(report("hourly", range_ + "&workflow=building")["hours"].size(), 0u);

    nlohmann::json heat = report("heatmap", range_);
    EXPECT_EQ(heat["jobs"][5][12], 4);  // Saturday 2026-11-28, 12:00 UTC
    EXPECT_EQ(heat["jobs"][5][14], 2);

    nlohmann::json top = report("top-accounts", range_ + "&limit=5");
    ASSERT_EQ(top["accounts"].size(), 1u);
    EXPECT_EQ(top["accounts"][0]["account_id"], account_);
    EXPECT_EQ(top["accounts"][0]["tokens"], charged);

    nlohmann::json waits = report("queue-wait", range_);
    ASSERT_EQ(waits["workflows"].size(), 1u);
    EXPECT_EQ(waits["workflows"][0]["jobs"], 6);
    EXPECT_EQ(waits["bucket_edges_ms"].size(), usage::kQueueWaitEdgesMs.size());
}

TEST_F(ReportsApiTest, TheDefaultRangeIsTheLastSevenDays) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(1'000), "t").ok());
    run_jobs(1, "person", 800, 600);
    nlohmann::json r = report("hourly", "");
    EXPECT_EQ(r["to_ms"], clock_.now_ms() + 1);  // a job that finished just now counts
    EXPECT_EQ(r["from_ms"], clock_.now_ms() + 1 - 7 * 24 * usage::kMsPerHour);
    EXPECT_EQ(r["hours"].size(), 1u);
    clock_.advance_ms(8 * 24 * usage::kMsPerHour);
    EXPECT_EQ(report("hourly", "")["hours"].size(), 0u);
}

TEST_F(ReportsApiTest, BadRequestsAreRefusedWithClearErrors) {
    EXPECT_EQ(report("hourly", "from=20&to=10", 400)["error"]["code"], "invalid_range");
    EXPECT_EQ(report("hourly", "from=yesterday", 400)["error"]["code"], "invalid_time");
    EXPECT_EQ(report("top-accounts", "limit=0", 400)["error"]["code"], "bad_request");
    EXPECT_EQ(report("top-accounts", "limit=1001", 400)["error"]["code"], "bad_request");
    EXPECT_EQ(report("nothing", "", 404)["error"]["code"], "not_found");
    EXPECT_EQ(call("POST", "/admin/reports/hourly", "", "admin-secret").status, 405);
    EXPECT_EQ(call("GET", "/admin/reports/hourly", "", "wrong").status, 401);
}

TEST_F(ReportsApiTest, WithoutAStoreThatAnswersReportsTheyAreNotImplemented) {
    ApiOptions options;
    options.admin_token = "admin-secret";
    Api bare(*service_, *ledger_, *jobs_, clock_, std::move(options));
    Request r;
    r.method = "GET";
    r.path = r.target = "/admin/reports/hourly";
    r.headers["authorization"] = "Bearer admin-secret";
    Response answer = bare.handle(r);
    EXPECT_EQ(answer.status, 501);
    EXPECT_EQ(nlohmann::json::parse(answer.body)["error"]["code"], "reports_unsupported");
}

}  // namespace
}  // namespace tollgate::http::testing_support
