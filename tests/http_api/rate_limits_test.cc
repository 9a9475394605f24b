// Rate limits through the API: 429 rate_limited with Retry-After and nothing
// held, the upload bucket charged from the body's size (413 past its burst),
// the screen that refuses before a body is read, and a plan's own limits.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;

std::string header(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) return v;
    }
    return "";
}

// Two requests a minute, two at once.
class RateLimitsTest : public testing_support::GatewayFixture {
  protected:
    RateLimitsTest() {
        rate_limits_.requests_per_minute = 2;
        rate_limits_.burst_requests = 2;
    }
    std::size_t holds() {
        auto entries = ledger_->entries(account_);
        EXPECT_TRUE(entries.ok());
        std::size_t n = 0;
        if (entries.ok()) {
            for (const ledger::Entry& e : *entries) n += e.kind == "hold";
        }
        return n;
    }
    std::string png_ = testing_support::png(800, 600);
};

TEST_F(RateLimitsTest, OverTheRequestRateIs429WithRetryAfterAndNothingHeld) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "t").ok());
    const std::string k = key();
    block();  // the jobs stay held while we look: one running, one queued
    ASSERT_EQ(call("POST", "/v1/jobs", png_, k, "workflow=person").status, 202);
    wait_running(1);  // so the second job finds the queue's one place free
    ASSERT_EQ(call("POST", "/v1/jobs", png_, k, "workflow=person").status, 202);
    const ledger::Balance before = balance();
    EXPECT_EQ(before.held, core::Tokens(20));
    const std::size_t holds_before = holds();

    Response r = call("POST", "/v1/jobs", png_, k, "workflow=person");
    ASSERT_EQ(r.status, 429) << r.body;
    json body = json::parse(r.body);
    EXPECT_EQ(body["error"]["code"], "rate_limited");
    EXPECT_EQ(body["error"]["limit"], "requests_per_minute");
    EXPECT_EQ(body["error"]["retry_after_s"], 30);
    EXPECT_EQ(header(r, "Retry-After"), "30");
    EXPECT_EQ(balance().held, before.held);
    EXPECT_EQ(balance().captured, before.captured);
    EXPECT_EQ(holds(), holds_before);
    // Reads count too, and other accounts have buckets of their own.
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 429);
    const std::string bob = ledger_->create_account("bob").value();
    const std::string bobs = ledger_->create_api_key(bob).value();
    EXPECT_EQ(call("GET", "/v1/account", "", bobs).status, 200);

    clock_.advance_ms(29'999);
    EXPECT_EQ(header(call("GET", "/v1/account", "", k), "Retry-After"), "1");
    clock_.advance_ms(1);
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 200);
    release();
}

TEST_F(RateLimitsTest, AdminRoutesAndRefusedKeysDoNotCount) {
    const std::string k = key();
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(admin("GET", "/admin/accounts/" + account_ + "/keys").status, 200);
    }
    const std::string read = nlohmann::json::parse(
        admin("POST", "/admin/accounts/" + account_ + "/keys", R"({"scopes": ["read"]})")
            .body)["api_key"];
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(call("POST", "/v1/jobs", png_, read, "workflow=person").status, 403);
    }
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 200);
    EXPECT_EQ(call("GET", "/v1/account", "", read).status, 200);
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 429);
}

// An Api of its own whose upload bucket fits `bursts` bodies of png_.
class UploadLimitsTest : public testing_support::GatewayFixture {
  protected:
    std::unique_ptr<Api> api_with(std::int64_t per_minute, std::int64_t burst) {
        ApiOptions options;
        options.rate_limits.upload_bytes_per_minute = per_minute;
        options.rate_limits.burst_upload_bytes = burst;
        return std::make_unique<Api>(*service_, *ledger_, *jobs_, clock_, options);
    }
    Request post_job(const std::string& key, const std::string& body) {
        Request r;
        r.method = "POST";
        r.path = "/v1/jobs";
        r.query = "workflow=person";
        r.target = r.path + "?" + r.query;
        r.body = body;
        r.headers["authorization"] = "Bearer " + key;
        r.headers["content-length"] = std::to_string(body.size());
        return r;
    }
    // The request as the server's screen sees it: the head, no body yet.
    static Request head_of(Request r) {
        r.body.clear();
        return r;
    }
    std::string png_ = testing_support::png(800, 600);
    std::int64_t n_ = static_cast<std::int64_t>(png_.size());
};

TEST_F(UploadLimitsTest, TheBodysSizeIsChargedBeforeItIsParsed) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "t").ok());
    const std::string k = key();
    auto api = api_with(2 * n_, n_);  // a body every 30 s, one at once
    Response first = api->handle(post_job(k, png_));
    ASSERT_EQ(first.status, 202) << first.body;
    wait_final(json::parse(first.body)["job_id"]);
    const ledger::Balance before = balance();

    Response second = api->handle(post_job(k, png_));
    ASSERT_EQ(second.status, 429) << second.body;
    EXPECT_EQ(json::parse(second.body)["error"]["limit"], "upload_bytes_per_minute");
    EXPECT_EQ(header(second, "Retry-After"), "30");
    EXPECT_EQ(balance().captured, before.captured);
    EXPECT_EQ(balance().held, core::Tokens(0));
    // Garbage is refused by the bucket before anything tries to read it.
    Response garbage = api->handle(post_job(k, std::string(static_cast<std::size_t>(n_), 'x')));
    EXPECT_EQ(garbage.status, 429);
    // The screen refuses the same request from its head alone, taking nothing.
    auto screened = api->screen_head(head_of(post_job(k, png_)));
    ASSERT_TRUE(screened.has_value());
    EXPECT_EQ(screened->status, 429);
    EXPECT_EQ(header(*screened, "Retry-After"), "30");
    clock_.advance_ms(30'000);
    EXPECT_FALSE(api->screen_head(head_of(post_job(k, png_))).has_value());
    EXPECT_FALSE(api->screen_head(head_of(post_job(k, png_))).has_value());
    Response third = api->handle(post_job(k, png_));
    EXPECT_EQ(third.status, 202) << third.body;
    wait_final(json::parse(third.body)["job_id"]);
    // A body without bytes costs none.
    EXPECT_EQ(api->handle(post_job(k, "")).status, 400);
}

TEST_F(UploadLimitsTest, ABodyLargerThanTheBurstIs413) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "t").ok());
    const std::string k = key();
    auto api = api_with(1'000'000, n_ - 1);
    Response r = api->handle(post_job(k, png_));
    ASSERT_EQ(r.status, 413) << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "payload_too_large");
    auto screened = api->screen_head(head_of(post_job(k, png_)));
    ASSERT_TRUE(screened.has_value());
    EXPECT_EQ(screened->status, 413);
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_EQ(ledger_->entries(account_)->size(), 1u);  // the grant alone
    // Bad keys are turned away by the screen as well; without limits, or
    // without a declared length, it lets everything through to handle().
    EXPECT_EQ(api->screen_head(head_of(post_job("tg_nope", png_)))->status, 401);
    Request chunked = head_of(post_job(k, png_));
    chunked.headers.erase("content-length");
    EXPECT_FALSE(api->screen_head(chunked).has_value());
    EXPECT_FALSE(api_->screen_head(head_of(post_job(k, png_))).has_value());
    EXPECT_FALSE(api_->screen_head(head_of(post_job("tg_nope", png_))).has_value());
}

// A book whose "pro" plan lifts the request limit of its subscribers.
class PlanRateLimitsTest : public RateLimitsTest {
  protected:
    PlanRateLimitsTest() {
        book_text_ += R"(
[plans.pro]
period = "month"
tokens = 10
price = "1"
currency = "USD"
[plans.pro.rate_limits]
requests_per_minute = 600
burst_requests = 10
)";
    }
};

TEST_F(PlanRateLimitsTest, APlanSetsItsSubscribersLimits) {
    const std::string k = key();
    const std::string bob = ledger_->create_account("bob").value();
    const std::string bobs = ledger_->create_api_key(bob).value();
    ASSERT_EQ(admin("POST", "/admin/accounts/" + account_ + "/plans", R"({"plan": "pro"})").status,
              201);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(call("GET", "/v1/account", "", k).status, 200) << i;
    Response r = call("GET", "/v1/account", "", k);
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(header(r, "Retry-After"), "1");  // 600 a minute: one every 100 ms
    // Without the plan, the configured two a minute.
    EXPECT_EQ(call("GET", "/v1/account", "", bobs).status, 200);
    EXPECT_EQ(call("GET", "/v1/account", "", bobs).status, 200);
    EXPECT_EQ(call("GET", "/v1/account", "", bobs).status, 429);
    // Cancelled, the plan's limits no longer apply.
    ASSERT_EQ(admin("DELETE", "/admin/accounts/" + account_ + "/plans/pro").status, 200);
    clock_.advance_ms(60'000);
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 200);
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 200);
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 429);
}

}  // namespace
}  // namespace tollgate::http
