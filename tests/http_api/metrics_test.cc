// GET /metrics: the Prometheus text of what the gateway did, checked against
// jobs run through the real service and the ledger's own figures.
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <sstream>

#include "core/request_id.h"
#include "http_api/fixture.h"

namespace tollgate::http::testing_support {
namespace {

// The value of the sample `name{labels}` (labels as written, "" for none);
// -1 when absent.
double sample(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
}

class MetricsTest : public GatewayFixture {
  protected:
    std::string scrape() {
        Response r = call("GET", "/metrics", "", "admin-secret");
        EXPECT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
        return r.body;
    }
};

TEST_F(MetricsTest, CountsRequestsJobsAndTokensAsTheLedgerMovesThem) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(1'000), "t").ok());
    const std::string k = key();
    EXPECT_EQ(call("POST", "/v1/quote", png(800, 600), k, "workflow=person").status, 200);
    block();  // the first job stays on its worker
    Response posted = call("POST", "/v1/jobs", png(1600, 1200), k, "workflow=person");
    ASSERT_EQ(posted.status, 202) << posted.body;
    const std::string first = nlohmann::json::parse(posted.body)["job_id"];
    const std::int64_t held = jobs_->get(first).value()->tokens;

    std::string text = scrape();
    EXPECT_EQ(sample(text, "tollgate_jobs{state=\"in_flight\"}"), 1);
    EXPECT_EQ(sample(text, "tollgate_holds_open"), 1);
    EXPECT_EQ(sample(text, "tollgate_tokens_held"), static_cast<double>(held));
    EXPECT_EQ(sample(text, "tollgate_jobs_admitted_total"), 1);
    EXPECT_EQ(sample(text, "tollgate_tokens_total{movement=\"held\"}"), static_cast<double>(held));
    EXPECT_EQ(sample(text, "tollgate_quote_seconds_count"), 1);
    EXPECT_EQ(sample(text, "tollgate_reserve_seconds_count"), 1);
    EXPECT_EQ(sample(text,
                     "tollgate_http_requests_total{route=\"/v1/jobs\",method=\"POST\","
                     "status=\"202\"}"),
              1);

    release();
    wait_final(first);
    kind_ = dispatch::JobOutcomeKind::ExecutionFailed;
    auto failed = submit("person", 900, 700);
    ASSERT_TRUE(failed.ok());
    const std::int64_t released = jobs_->get(failed->job_id).value()->tokens;
    wait_final(failed->job_id);
    EXPECT_EQ(call("GET", "/v1/jobs/" + first, "", k).status, 200);
    EXPECT_EQ(call("GET", "/v1/jobs/job_nope", "", k).status, 404);
    // A job is final in the store a moment before its thread stops following it.
    for (int i = 0; i < 2000 && service_->jobs_in_flight() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));

    text = scrape();
    const ledger::Balance b = ledger_->balance(account_).value();
    EXPECT_EQ(sample(text, "tollgate_tokens_total{movement=\"captured\"}"),
              static_cast<double>(b.captured.value));
    EXPECT_EQ(sample(text, "tollgate_tokens_total{movement=\"released\"}"),
              static_cast<double>(released));
    EXPECT_EQ(sample(text, "tollgate_jobs_finished_total{state=\"succeeded\"}"), 1);
    EXPECT_EQ(sample(text, "tollgate_jobs_finished_total{state=\"failed\"}"), 1);
    EXPECT_EQ(sample(text, "tollgate_dispatch_seconds_count"), 2);
    EXPECT_EQ(sample(text, "tollgate_holds_open"), 0);
    EXPECT_EQ(sample(text, "tollgate_jobs{state=\"in_flight\"}"), 0);
    // Ids never become labels: both job reads count under one route.
    EXPECT_EQ(sample(text,
                     "tollgate_http_requests_total{route=\"/v1/jobs/{id}\",method=\"GET\","
                     "status=\"200\"}"),
              1);
    EXPECT_EQ(sample(text,
                     "tollgate_http_requests_total{route=\"/v1/jobs/{id}\",method=\"GET\","
                     "status=\"404\"}"),
              1);
    EXPECT_EQ(text.find(first), std::string::npos);
}

TEST_F(MetricsTest, NeedsTheAdminToken) {
    EXPECT_EQ(call("GET", "/metrics", "", "wrong").status, 401);
    EXPECT_EQ(call("GET", "/metrics", "", key()).status, 401);  // an account key is not enough
    EXPECT_EQ(call("POST", "/metrics", "", "admin-secret").status, 405);
}

// Keeps each log line with the request id its thread had when it logged.
class RequestIdSink final : public spdlog::sinks::base_sink<std::mutex> {
  public:
    std::vector<std::pair<std::string, std::string>> lines;  // id, message

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        lines.emplace_back(std::string(core::current_request_id()),
                           std::string(msg.payload.data(), msg.payload.size()));
    }
    void flush_() override {}
};

std::string header_of(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) return v;
    }
    return "";
}

TEST_F(MetricsTest, EveryAnswerAndItsLogLinesCarryTheRequestId) {
    auto sink = std::make_shared<RequestIdSink>();
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("ids", sink));
    Request r;
    r.method = "GET";
    r.path = r.target = "/admin/workers";
    r.headers["authorization"] = "Bearer wrong";  // refused, and the refusal is logged
    r.headers["x-request-id"] = "proxy-42.a_b";
    Response kept = api_->handle(r);
    r.headers["x-request-id"] = "not a sane id";
    Response made = api_->handle(r);
    spdlog::set_default_logger(previous);
    EXPECT_EQ(kept.status, 401);
    EXPECT_EQ(header_of(kept, "X-Request-Id"), "proxy-42.a_b");
    const std::string fresh = header_of(made, "X-Request-Id");
    EXPECT_EQ(fresh.rfind("req_", 0), 0u);
    ASSERT_EQ(sink->lines.size(), 2u);
    EXPECT_EQ(sink->lines[0].first, "proxy-42.a_b");
    EXPECT_NE(sink->lines[0].second.find("no valid admin token"), std::string::npos);
    EXPECT_EQ(sink->lines[1].first, fresh);
    EXPECT_EQ(core::current_request_id(), "");  // nothing left behind on this thread
}

TEST(MetricsUnitTest, HistogramBucketsAreCumulativeWithTheSumInSeconds) {
    LatencyHistogram h;
    h.observe_us(500);         // 0.5 ms: the first bucket
    h.observe_us(1'000);       // exactly 1 ms: still the first (le is inclusive)
    h.observe_us(40'000);      // 40 ms: le 0.05
    h.observe_us(60'000'000);  // a minute: only +Inf
    h.observe_us(-5);          // a clock step back counts as 0
    const LatencyHistogram::Snapshot s = h.snapshot();
    EXPECT_EQ(s.le[0], 3u);
    EXPECT_EQ(s.le[4], 3u);  // le 0.025
    EXPECT_EQ(s.le[5], 4u);  // le 0.05
    EXPECT_EQ(s.le.back(), 4u);
    EXPECT_EQ(s.count, 5u);
    EXPECT_EQ(s.sum_us, 500 + 1'000 + 40'000 + 60'000'000);
    Metrics m;
    m.reserve.observe_us(40'000);
    const std::string text = m.render({});
    EXPECT_EQ(sample(text, "tollgate_reserve_seconds_bucket{le=\"0.025\"}"), 0);
    EXPECT_EQ(sample(text, "tollgate_reserve_seconds_bucket{le=\"0.05\"}"), 1);
    EXPECT_EQ(sample(text, "tollgate_reserve_seconds_bucket{le=\"+Inf\"}"), 1);
    EXPECT_EQ(sample(text, "tollgate_reserve_seconds_sum"), 0.04);
    EXPECT_NE(text.find("# TYPE tollgate_reserve_seconds histogram\n"), std::string::npos);
}

TEST(MetricsUnitTest, RoutesAreTemplatesAndTheTableIsBounded) {
    EXPECT_EQ(route_template("/v1/jobs/job_123/events"), "/v1/jobs/{id}/events");
    EXPECT_EQ(route_template("/admin/accounts/acct_1/keys/key_9"),
              "/admin/accounts/{id}/keys/{id}");
    EXPECT_EQ(route_template("/v1/quote"), "/v1/quote");
    EXPECT_EQ(route_template("//v1//quote/"), "/v1/quote");
    EXPECT_EQ(route_template("/wp-login.php"), "other");
    EXPECT_EQ(route_template("/v1/jobs/a/b/c"), "other");
    EXPECT_EQ(route_template(""), "other");
    // The ComfyUI facade's routes, with and without /api.
    EXPECT_EQ(route_template("/api/history/job_1"), "/api/history/{id}");
    EXPECT_EQ(route_template("/upload/image"), "/upload/image");
    EXPECT_EQ(route_template("/prompt"), "/prompt");
    EXPECT_EQ(route_template("/api/prompt/x"), "other");
    Metrics m;
    for (int i = 0; i < 3'000; ++i) m.count_request("/v1/jobs", "GET", i);
    const std::string text = m.render({});
    EXPECT_EQ(sample(text,
                     "tollgate_http_requests_total{route=\"other\",method=\"other\","
                     "status=\"0\"}"),
              3'000 - static_cast<double>(kRequestSeriesMax));
    // Worker and sink labels are escaped.
    LiveGauges live;
    live.workers.push_back({"http://w\"1", true, false, 1, 2, 0, 0, 0});
    EXPECT_NE(m.render(live).find("tollgate_worker_healthy{worker=\"http://w\\\"1\"} 1"),
              std::string::npos);
}

}  // namespace
}  // namespace tollgate::http::testing_support
