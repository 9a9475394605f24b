// No API key secret (nor the admin token) ever reaches a log line: every
// log line of a session that mints, uses, misuses, revokes and lets expire
// keys is captured and searched for every secret. Keys are logged by id,
// which the capture must show, so the search cannot pass vacuously.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/hash.h"
#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;

class LogSecretsTest : public testing_support::GatewayFixture {
  protected:
    void SetUp() override {
        // Before any thread of the fixture can log.
        previous_ = spdlog::default_logger();
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
        auto capture = std::make_shared<spdlog::logger>("capture", sink);
        capture->set_level(spdlog::level::trace);
        spdlog::set_default_logger(capture);
        // Rate limits on, so their refusals are logged too.
        rate_limits_.requests_per_minute = 1000;
        rate_limits_.upload_bytes_per_minute = 1'000'000;
        rate_limits_.burst_upload_bytes = 1'000'000;
        GatewayFixture::SetUp();
    }
    void TearDown() override {
        GatewayFixture::TearDown();  // stops the fixture's threads
        spdlog::set_default_logger(previous_);
    }

    json mint(const std::string& body) {
        Response r = admin("POST", "/admin/accounts/" + account_ + "/keys", body);
        EXPECT_EQ(r.status, 201) << r.body;
        json out = json::parse(r.body);
        secrets_.push_back(out["api_key"]);
        return out;
    }
    // Calls and checks that the answer does not echo the secret it was sent with.
    Response send(const std::string& method, const std::string& path, const std::string& body,
                  const std::string& token, const std::string& query = "") {
        Response r = call(method, path, body, token, query);
        if (token.size() > 3) {
            EXPECT_EQ(r.body.find(token.substr(3)), std::string::npos) << path;
        }
        return r;
    }

    std::ostringstream log_;
    std::shared_ptr<spdlog::logger> previous_;
    std::vector<std::string> secrets_;
};

TEST_F(LogSecretsTest, NoSecretIsEverLogged) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "t").ok());
    const std::string png = testing_support::png(800, 600);
    json valid = mint("");
    json read_only = mint(R"({"scopes": ["read"]})");
    json expiring = mint(R"({"expires_in_seconds": 1})");
    json revoked = mint("");
    const std::string k = valid["api_key"];

    // A valid key: quote, job, reads.
    ASSERT_EQ(send("POST", "/v1/quote", png, k, "workflow=person").status, 200);
    Response job = send("POST", "/v1/jobs", png, k, "workflow=person");
    ASSERT_EQ(job.status, 202) << job.body;
    wait_final(json::parse(job.body)["job_id"]);
    EXPECT_EQ(send("GET", "/v1/account", "", k).status, 200);
    // A secret where a query value belongs, and an unknown key.
    EXPECT_EQ(send("POST", "/v1/quote", png, k, "workflow=" + k).status, 400);
    EXPECT_EQ(send("GET", "/v1/account/ledger", "", k, "from=" + k).status, 400);
    const std::string unknown = "tg_" + std::string(64, 'e');
    secrets_.push_back(unknown);
    EXPECT_EQ(send("GET", "/v1/account", "", unknown).status, 401);
    // The wrong scope, an expired key, a revoked key.
    EXPECT_EQ(send("POST", "/v1/jobs", png, read_only["api_key"], "workflow=person").status, 403);
    clock_.advance_ms(1000);
    EXPECT_EQ(send("GET", "/v1/account", "", expiring["api_key"]).status, 401);
    ASSERT_EQ(admin("DELETE",
                    "/admin/accounts/" + account_ + "/keys/" + revoked["key_id"].get<std::string>())
                  .status,
              200);
    EXPECT_EQ(send("GET", "/v1/account", "", revoked["api_key"]).status, 401);
    // An upload the account's limits refuse, and the screen before a body.
    EXPECT_EQ(send("POST", "/v1/jobs", std::string(1'000'001, 'x'), k, "workflow=person").status,
              413);
    Request head;
    head.method = "POST";
    head.path = head.target = "/v1/jobs";
    head.headers["authorization"] = "Bearer " + revoked["api_key"].get<std::string>();
    head.headers["content-length"] = "100";
    ASSERT_TRUE(api_->screen_head(head).has_value());
    // An API key where the admin token belongs.
    EXPECT_EQ(send("GET", "/admin/workers", "", k).status, 401);
    EXPECT_EQ(send("POST", "/admin/accounts", R"({"name": "x"})", k).status, 401);

    dispatcher_->stop();  // no thread of the fixture logs from here on
    const std::string log = log_.str();
    // The capture saw the refusals and the key events, by key id.
    for (const json& key : {valid, revoked, expiring, read_only}) {
        EXPECT_NE(log.find(key["key_id"].get<std::string>()), std::string::npos)
            << key["key_id"] << " is not in the log:\n"
            << log;
    }
    EXPECT_NE(log.find("revoked"), std::string::npos) << log;
    ASSERT_EQ(secrets_.size(), 5u);
    for (const std::string& secret : secrets_) {
        // The hex part alone is as secret as the whole.
        EXPECT_EQ(log.find(secret.substr(3)), std::string::npos) << "secret in log:\n" << log;
        EXPECT_EQ(log.find(core::sha256_hex(secret)), std::string::npos) << log;
    }
    EXPECT_EQ(log.find("admin-secret"), std::string::npos) << log;
}

}  // namespace
}  // namespace tollgate::http
