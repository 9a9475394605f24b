// Idempotency-Key on POST /v1/jobs: one job and one charge per key, the same
// response on every replay, and a clear refusal when a key is reused for
// another request.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;

class IdempotencyTest : public testing_support::GatewayFixture {
  protected:
    Response post(const std::string& key, const std::string& body,
                  const std::string& query = "workflow=person") {
        Request r;
        r.method = "POST";
        r.path = "/v1/jobs";
        r.query = query;
        r.target = "/v1/jobs?" + query;
        r.body = body;
        r.headers["authorization"] = "Bearer " + api_key_;
        if (!key.empty()) r.headers["idempotency-key"] = key;
        return api_->handle(r);
    }
    void SetUp() override {
        GatewayFixture::SetUp();
        api_key_ = ledger_->create_api_key(account_).value();
        ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "").ok());
    }
    std::string api_key_;
};

TEST_F(IdempotencyTest, ReplayGetsTheSameJobAndResponseAndNoNewHold) {
    const std::string image = testing_support::png(800, 600);
    Response first = post("order-17", image);
    ASSERT_EQ(first.status, 202) << first.body;
    const std::string job_id = json::parse(first.body)["job_id"];
    wait_final(job_id);

    Response again = post("order-17", image);
    EXPECT_EQ(again.status, 202);
    EXPECT_EQ(again.body, first.body);
    bool replayed = false;
    for (const auto& [name, value] : again.headers) replayed |= name == "Idempotent-Replayed";
    EXPECT_TRUE(replayed);
    EXPECT_EQ(balance().captured, core::Tokens(10));
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_EQ(jobs_->recent(account_, 0).value().count, 1);

    // Another key is another job.
    Response other = post("order-18", image);
    ASSERT_EQ(other.status, 202);
    EXPECT_NE(json::parse(other.body)["job_id"], job_id);
    wait_final(json::parse(other.body)["job_id"]);
    EXPECT_EQ(balance().captured, core::Tokens(20));
}

TEST_F(IdempotencyTest, SameKeyWithAnotherRequestIs422AndChargesNothing) {
    ASSERT_EQ(post("k1", testing_support::png(800, 600)).status, 202);
    Response other_image = post("k1", testing_support::png(801, 600));
    EXPECT_EQ(other_image.status, 422) << other_image.body;
    EXPECT_EQ(json::parse(other_image.body)["error"]["code"], "idempotency_key_reused");
    Response other_option =
        post("k1", testing_support::png(800, 600), "workflow=person&rounding=ceil");
    EXPECT_EQ(other_option.status, 422);
    EXPECT_EQ(jobs_->recent(account_, 0).value().count, 1);
}

TEST_F(IdempotencyTest, ConcurrentRequestsWithOneKeyAdmitOneJob) {
    const std::string image = testing_support::png(800, 600);
    block();
    std::vector<std::thread> threads;
    std::vector<Response> answers(8);
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] { answers[i] = post("same", image); });
    }
    for (auto& t : threads) t.join();
    std::set<std::string> ids;
    for (const Response& r : answers) {
        ASSERT_EQ(r.status, 202) << r.body;
        ids.insert(json::parse(r.body)["job_id"].get<std::string>());
    }
    EXPECT_EQ(ids.size(), 1u);
    EXPECT_EQ(balance().held, core::Tokens(10));
    release();
    wait_final(*ids.begin());
    EXPECT_EQ(balance().captured, core::Tokens(10));
}

TEST_F(IdempotencyTest, RefusedRequestsRecordNothingSoTheKeyCanBeRetried) {
    const std::string image = testing_support::png(800, 600);
    // Busy: one job runs (blocked), one waits in the queue of 1, the third is refused.
    block();
    ASSERT_EQ(post("", image).status, 202);
    wait_running(1);
    ASSERT_EQ(post("", image).status, 202);
    Response busy = post("retry-me", image);
    ASSERT_EQ(busy.status, 429) << busy.body;
    EXPECT_EQ(json::parse(busy.body)["error"]["code"], "busy");
    // Retry-After once, beside the request id every answer carries.
    std::vector<std::string> retry_after;
    for (const auto& [name, value] : busy.headers) {
        if (name == "Retry-After") {
            retry_after.push_back(value);
        } else {
            EXPECT_EQ(name, "X-Request-Id");
        }
    }
    EXPECT_EQ(retry_after, std::vector<std::string>{"1"});
    release();
    for (int i = 0; i < 4000 && jobs_->count_unfinished(account_).value() > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Response retried = post("retry-me", image);
    EXPECT_EQ(retried.status, 202) << retried.body;
    wait_final(json::parse(retried.body)["job_id"]);
    EXPECT_EQ(balance().captured, core::Tokens(30));
}

TEST_F(IdempotencyTest, KeysAreBounded) {
    const std::string image = testing_support::png(800, 600);
    EXPECT_EQ(post(std::string(256, 'k'), image).status, 400);
    EXPECT_EQ(post("has space", image).status, 400);
    EXPECT_EQ(post(std::string(255, 'k'), image).status, 202);
}

}  // namespace
}  // namespace tollgate::http
