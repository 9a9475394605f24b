// The API's routes for plans, tenants, pricing reloads and the 402 answer,
// called as plain functions (no sockets) over real stores.
#include "http/api/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;

using ApiTest = testing_support::GatewayFixture;

TEST_F(ApiTest, PaymentRequiredListsThePlansThatWouldCover) {
    const std::string k = key();
    ASSERT_EQ(admin("POST", "/admin/accounts/" + account_ + "/grants", R"({"tokens": 4})").status,
              201);
    Response r = call("POST", "/v1/jobs", testing_support::png(800, 600), k, "workflow=person");
    ASSERT_EQ(r.status, 402) << r.body;
    json body = json::parse(r.body);
    EXPECT_EQ(body["error"]["code"], "insufficient_balance");
    EXPECT_EQ(body["needed"], 10);
    EXPECT_EQ(body["available"], 4);
    ASSERT_TRUE(body["plans"].is_array());
    std::vector<std::string> names;
    for (const json& p : body["plans"]) names.push_back(p["name"]);
    // Cheapest first; all of these cover 10 tokens.
    EXPECT_EQ(names, (std::vector<std::string>{"monthly", "rolling", "annual", "vipslow", "vip"}));
    EXPECT_EQ(body["plans"][0]["price"], "9.99");
    EXPECT_EQ(body["plans"][0]["currency"], "USD");
    EXPECT_EQ(body["plans"][0]["tokens"], 100);
    EXPECT_EQ(body["error"]["plans"], body["plans"]);
    EXPECT_EQ(body["quote"]["tokens"], 10);
    EXPECT_EQ(ledger_->balance(account_).value().held, core::Tokens(0));
}

TEST_F(ApiTest, QuoteItemsAddUpAndNameTheBookVersion) {
    const std::string k = key();
    Response r = call("POST", "/v1/quote", testing_support::png(800, 600), k, "workflow=person");
    ASSERT_EQ(r.status, 200) << r.body;
    json q = json::parse(r.body);
    EXPECT_EQ(q["book_version"], "t1");
    EXPECT_EQ(q["tokens"], 10);
    std::int64_t micro = 0;
    std::vector<std::string> rules;
    for (const json& item : q["items"]) {
        micro += item["micro_tokens"].get<std::int64_t>();
        rules.push_back(item["rule"]);
        EXPECT_FALSE(item["detail"].get<std::string>().empty());
    }
    EXPECT_EQ(micro, 10'000'000);
    EXPECT_EQ(rules, (std::vector<std::string>{"base", "per_megapixel", "rounding"}));
}

TEST_F(ApiTest, SubscribeShowsGrantsOnTheAccount) {
    const std::string k = key();
    Response s = admin("POST", "/admin/accounts/" + account_ + "/plans", R"({"plan": "monthly"})");
    ASSERT_EQ(s.status, 201) << s.body;
    Response unknown =
        admin("POST", "/admin/accounts/" + account_ + "/plans", R"({"plan": "platinum"})");
    EXPECT_EQ(unknown.status, 400);
    EXPECT_EQ(json::parse(unknown.body)["error"]["code"], "unknown_plan");

    Response a = call("GET", "/v1/account", "", k);
    ASSERT_EQ(a.status, 200) << a.body;
    json body = json::parse(a.body);
    EXPECT_EQ(body["available"], 100);
    ASSERT_EQ(body["grants"].size(), 1u);
    EXPECT_EQ(body["grants"][0]["tokens"], 100);
    EXPECT_EQ(body["grants"][0]["expires_ms"], testing_support::utc_ms(2026, 12, 1, 0, 0));
    ASSERT_EQ(body["plans"].size(), 1u);
    EXPECT_EQ(body["plans"][0]["plan"], "monthly");
    EXPECT_EQ(body["book_version"], "t1");

    Response cancel = admin("DELETE", "/admin/accounts/" + account_ + "/plans/monthly");
    EXPECT_EQ(cancel.status, 200) << cancel.body;
    EXPECT_EQ(json::parse(call("GET", "/v1/account", "", k).body)["plans"].size(), 0u);
}

TEST_F(ApiTest, TopUpsNeverExpireUnlessAsked) {
    Response forever = admin("POST", "/admin/accounts/" + account_ + "/grants",
                             R"({"tokens": 7, "reason": "pack"})");
    ASSERT_EQ(forever.status, 201) << forever.body;
    Response dated = admin("POST", "/admin/accounts/" + account_ + "/grants",
                           R"({"tokens": 5, "expires_in_days": 30, "key": "promo-1"})");
    ASSERT_EQ(dated.status, 201) << dated.body;
    Response again = admin("POST", "/admin/accounts/" + account_ + "/grants",
                           R"({"tokens": 5, "expires_in_days": 30, "key": "promo-1"})");
    EXPECT_EQ(again.status, 200) << again.body;  // idempotent by key
    EXPECT_EQ(json::parse(again.body)["available"], 12);
    auto grants = ledger_->grants(account_).value();
    ASSERT_EQ(grants.size(), 2u);
    // Draw order: the expiring grant first.
    EXPECT_EQ(grants[0].tokens, core::Tokens(5));
    EXPECT_EQ(grants[0].expires_ms, clock_.now_ms() + 30 * 86'400'000ll);
    EXPECT_FALSE(grants[1].expires_ms.has_value());
    Response bad = admin("POST", "/admin/accounts/" + account_ + "/grants",
                         R"({"tokens": 5, "expires_in_days": -1})");
    EXPECT_EQ(bad.status, 400);
}

TEST_F(ApiTest, TenantMustExistInTheBook) {
    Response bad =
        admin("POST", "/admin/accounts/" + account_ + "/tenant", R"({"tenant": "zeta"})");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(json::parse(bad.body)["error"]["code"], "unknown_tenant");
    Response ok = admin("POST", "/admin/accounts/" + account_ + "/tenant", R"({"tenant": "acme"})");
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ledger_->account(account_).value()->tenant, "acme");
    Response created = admin("POST", "/admin/accounts", R"({"name": "b", "tenant": "half"})");
    ASSERT_EQ(created.status, 201) << created.body;
    std::string id = json::parse(created.body)["account_id"];
    EXPECT_EQ(ledger_->account(id).value()->tenant, "half");
}

TEST_F(ApiTest, ReloadRouteSwapsAValidBookAndRefusesABrokenOne) {
    book_text_ = std::string(testing_support::kTestBook);
    book_text_.replace(book_text_.find("version = \"t1\""), 14, "version = \"t2\"");
    Response ok = admin("POST", "/admin/pricing/reload");
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(json::parse(ok.body)["book_version"], "t2");
    EXPECT_EQ(json::parse(ok.body)["previous_version"], "t1");

    book_text_ += "\n[workflows.person.quality]\nbogus = 1\n";
    Response bad = admin("POST", "/admin/pricing/reload");
    EXPECT_EQ(bad.status, 422) << bad.body;
    EXPECT_EQ(json::parse(bad.body)["error"]["code"], "invalid_price_book");
    EXPECT_NE(json::parse(bad.body)["error"]["message"].get<std::string>().find("book.toml:"),
              std::string::npos);
    Response info = admin("GET", "/admin/pricing");
    EXPECT_EQ(json::parse(info.body)["book_version"], "t2");
    EXPECT_EQ(call("POST", "/admin/pricing/reload", "", "wrong").status, 401);
}

TEST_F(ApiTest, StatementPagesThroughEntriesWithBalances) {
    const std::string k = key();
    ASSERT_EQ(admin("POST", "/admin/accounts/" + account_ + "/grants", R"({"tokens": 50})").status,
              201);
    Response job = call("POST", "/v1/jobs", testing_support::png(800, 600), k, "workflow=person");
    ASSERT_EQ(job.status, 202) << job.body;
    const std::string job_id = json::parse(job.body)["job_id"];
    wait_final(job_id);

    // grant 50 -> hold 10 -> capture 10: three entries, two per page.
    Response first = call("GET", "/v1/account/ledger", "", k, "limit=2");
    ASSERT_EQ(first.status, 200) << first.body;
    json page = json::parse(first.body);
    ASSERT_EQ(page["entries"].size(), 2u);
    EXPECT_EQ(page["entries"][0]["kind"], "grant");
    EXPECT_EQ(page["entries"][0]["balance_after"], 50);
    EXPECT_EQ(page["entries"][1]["kind"], "hold");
    EXPECT_EQ(page["entries"][1]["job_id"], job_id);
    EXPECT_EQ(page["entries"][1]["balance_after"], 40);
    ASSERT_TRUE(page["next"].is_string());
    const std::string next = page["next"];
    Response second = call("GET", "/v1/account/ledger", "", k, next.substr(next.find('?') + 1));
    ASSERT_EQ(second.status, 200) << second.body;
    json rest = json::parse(second.body);
    ASSERT_EQ(rest["entries"].size(), 1u);
    EXPECT_EQ(rest["entries"][0]["kind"], "capture");
    EXPECT_EQ(rest["entries"][0]["balance_after"], 40);
    EXPECT_TRUE(rest["next"].is_null());

    // Dates are read on the book's clock (UTC here); the window excludes everything.
    Response none = call("GET", "/v1/account/ledger", "", k, "from=2026-11-29&to=2026-11-30");
    ASSERT_EQ(none.status, 200) << none.body;
    EXPECT_EQ(json::parse(none.body)["entries"].size(), 0u);
    Response all =
        call("GET", "/v1/account/ledger", "", k, "from=2026-11-28&to=2026-11-28%2013:00");
    EXPECT_EQ(json::parse(all.body)["entries"].size(), 3u) << all.body;
    EXPECT_EQ(call("GET", "/v1/account/ledger", "", k, "limit=0").status, 400);
    EXPECT_EQ(call("GET", "/v1/account/ledger", "", k, "from=yesterday").status, 400);
}

TEST_F(ApiTest, FairUseRefusalIs429WithRetryAfter) {
    const std::string k = key();
    ASSERT_EQ(admin("POST", "/admin/accounts/" + account_ + "/plans", R"({"plan": "vip"})").status,
              201);
    for (int i = 0; i < 2; ++i) {
        Response r = call("POST", "/v1/jobs", testing_support::png(800, 600), k, "workflow=person");
        ASSERT_EQ(r.status, 202) << r.body;
        wait_final(json::parse(r.body)["job_id"]);
    }
    Response r = call("POST", "/v1/jobs", testing_support::png(800, 600), k, "workflow=person");
    ASSERT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "fair_use_exceeded");
    bool retry_after = false;
    for (const auto& [name, value] : r.headers) {
        if (name == "Retry-After") retry_after = value == "60";
    }
    EXPECT_TRUE(retry_after);
}

}  // namespace
}  // namespace tollgate::http

namespace tollgate::http {
namespace {

TEST_F(ApiTest, AdminReadsAnAccountAndItsLedgerAsItsOwnerDoes) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(40), "welcome").ok());
    const std::string k = key();
    block();  // the job stays held while both views are read
    ASSERT_EQ(call("POST", "/v1/jobs", testing_support::png(800, 600), k, "workflow=person").status,
              202);
    Response own = call("GET", "/v1/account", "", k);
    Response seen = admin("GET", "/admin/accounts/" + account_);
    ASSERT_EQ(seen.status, 200) << seen.body;
    EXPECT_EQ(json::parse(seen.body), json::parse(own.body));
    Response own_ledger = call("GET", "/v1/account/ledger", "", k, "limit=1");
    Response ledger =
        call("GET", "/admin/accounts/" + account_ + "/ledger", "", "admin-secret", "limit=1");
    ASSERT_EQ(ledger.status, 200) << ledger.body;
    const json a = json::parse(own_ledger.body), b = json::parse(ledger.body);
    EXPECT_EQ(a["entries"], b["entries"]);
    EXPECT_EQ(b["entries"].size(), 1u);
    // The next page's link names the route it came from.
    EXPECT_EQ(b["next"].get<std::string>().rfind("/admin/accounts/" + account_ + "/ledger?", 0),
              0u);
    EXPECT_EQ(admin("GET", "/admin/accounts/acct_nobody").status, 404);
    EXPECT_EQ(call("GET", "/admin/accounts/" + account_, "", k).status, 401);  // not with a key
    release();
}

}  // namespace
}  // namespace tollgate::http
