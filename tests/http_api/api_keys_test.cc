// API keys through the API: minting with scopes and an expiry (the secret in
// that answer only), listing, revoking, and what each state and scope lets a
// key do. Called as plain functions over real stores.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/hash.h"
#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;

class ApiKeysTest : public testing_support::GatewayFixture {
  protected:
    // Mints a key of the fixture's account with `body` and returns the answer.
    json mint(const std::string& body) {
        Response r = admin("POST", "/admin/accounts/" + account_ + "/keys", body);
        EXPECT_EQ(r.status, 201) << r.body;
        return json::parse(r.body);
    }
    std::string error_code(const Response& r) {
        json body = json::parse(r.body, nullptr, false);
        return body.is_discarded() ? "<not json>" : body["error"].value("code", "<none>");
    }
    std::string png_ = testing_support::png(800, 600);
};

TEST_F(ApiKeysTest, AKeyIsMintedWithScopesAndExpiryAndItsSecretShownOnce) {
    json minted = mint(R"({"scopes": ["read"], "expires_in_seconds": 3600})");
    const std::string secret = minted["api_key"];
    const std::string id = minted["key_id"];
    EXPECT_EQ(secret.rfind("tg_", 0), 0u);
    EXPECT_EQ(secret.size(), 67u);
    EXPECT_EQ(id.rfind("key_", 0), 0u);
    EXPECT_EQ(minted["account_id"], account_);
    EXPECT_EQ(minted["scopes"], json::array({"read"}));
    EXPECT_EQ(minted["created_ms"], clock_.now_ms());
    EXPECT_EQ(minted["expires_ms"], clock_.now_ms() + 3'600'000);

    Response list = admin("GET", "/admin/accounts/" + account_ + "/keys");
    ASSERT_EQ(list.status, 200) << list.body;
    json keys = json::parse(list.body)["keys"];
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0]["key_id"], id);
    EXPECT_EQ(keys[0]["scopes"], json::array({"read"}));
    EXPECT_EQ(keys[0]["expires_ms"], minted["expires_ms"]);
    EXPECT_TRUE(keys[0]["revoked_ms"].is_null());
    EXPECT_EQ(keys[0]["state"], "active");
    // Neither the secret nor its hash is ever listed.
    EXPECT_EQ(list.body.find(secret.substr(3)), std::string::npos);
    EXPECT_EQ(list.body.find(core::sha256_hex(secret)), std::string::npos);
}

TEST_F(ApiKeysTest, NoBodyMeansEveryScopeAndNoExpiry) {
    const std::string k = key();
    json keys = json::parse(admin("GET", "/admin/accounts/" + account_ + "/keys").body)["keys"];
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0]["scopes"], json::array({"jobs", "read"}));
    EXPECT_TRUE(keys[0]["expires_ms"].is_null());
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 200);
    EXPECT_EQ(call("POST", "/v1/quote", png_, k, "workflow=person").status, 200);
}

TEST_F(ApiKeysTest, BadKeyRequestsAreRefused) {
    const std::string path = "/admin/accounts/" + account_ + "/keys";
    for (const char* body : {R"({"scopes": []})", R"({"scopes": ["admin"]})",
                             R"({"scopes": "jobs"})", R"({"scopes": [1]})"}) {
        Response r = admin("POST", path, body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_EQ(error_code(r), "invalid_scopes") << body;
    }
    for (const char* body :
         {R"({"expires_in_seconds": 0})", R"({"expires_in_seconds": -5})",
          R"({"expires_in_seconds": "60"})", R"({"expires_in_seconds": 316224001})"}) {
        Response r = admin("POST", path, body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_EQ(error_code(r), "invalid_expiry") << body;
    }
    EXPECT_EQ(error_code(admin("POST", path, "[")), "invalid_json");
    Response unknown = admin("POST", "/admin/accounts/acct_missing/keys");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(error_code(unknown), "unknown_account");
    EXPECT_EQ(admin("GET", "/admin/accounts/acct_missing/keys").status, 404);
    EXPECT_TRUE(ledger_->api_keys(account_)->empty());
    // The key routes need the admin token, not an API key.
    const std::string k = key();
    EXPECT_EQ(call("POST", path, "", k).status, 401);
    EXPECT_EQ(call("GET", path, "", k).status, 401);
    EXPECT_EQ(ledger_->api_keys(account_)->size(), 1u);
}

TEST_F(ApiKeysTest, AReadKeyReadsButCannotSpend) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "t").ok());
    const std::string all = key();
    Response job = call("POST", "/v1/jobs", png_, all, "workflow=person");
    ASSERT_EQ(job.status, 202) << job.body;
    const std::string job_id = json::parse(job.body)["job_id"];
    wait_final(job_id);

    const std::string read = mint(R"({"scopes": ["read"]})")["api_key"];
    for (const char* path : {"/v1/account", "/v1/account/ledger", "/v1/plans"}) {
        EXPECT_EQ(call("GET", path, "", read).status, 200) << path;
    }
    EXPECT_EQ(call("GET", "/v1/jobs/" + job_id, "", read).status, 200);
    EXPECT_EQ(call("GET", "/v1/jobs/" + job_id + "/result", "", read).status, 200);

    const ledger::Balance before = balance();
    for (const char* path : {"/v1/jobs", "/v1/quote"}) {
        Response r = call("POST", path, png_, read, "workflow=person");
        EXPECT_EQ(r.status, 403) << path;
        EXPECT_EQ(error_code(r), "insufficient_scope") << path;
        EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>().find("'jobs'"),
                  std::string::npos);
    }
    Response cancel = call("DELETE", "/v1/jobs/" + job_id, "", read);
    EXPECT_EQ(cancel.status, 403);
    const ledger::Balance after = balance();
    EXPECT_EQ(after.held, before.held);
    EXPECT_EQ(after.captured, before.captured);
    EXPECT_EQ(ledger_->entries(account_)->size(), 3u);  // grant, hold, capture
}

TEST_F(ApiKeysTest, AJobsKeySpendsButCannotRead) {
    ASSERT_TRUE(ledger_->grant(account_, core::Tokens(100), "t").ok());
    const std::string jobs = mint(R"({"scopes": ["jobs"]})")["api_key"];
    EXPECT_EQ(call("POST", "/v1/quote", png_, jobs, "workflow=person").status, 200);
    Response job = call("POST", "/v1/jobs", png_, jobs, "workflow=person");
    ASSERT_EQ(job.status, 202) << job.body;
    const std::string job_id = json::parse(job.body)["job_id"];
    wait_final(job_id);
    for (const std::string& path :
         {std::string("/v1/account"), std::string("/v1/account/ledger"), std::string("/v1/plans"),
          "/v1/jobs/" + job_id, "/v1/jobs/" + job_id + "/result",
          "/v1/jobs/" + job_id + "/events"}) {
        Response r = call("GET", path, "", jobs);
        EXPECT_EQ(r.status, 403) << path;
        EXPECT_EQ(error_code(r), "insufficient_scope") << path;
    }
    // Cancelling is a jobs action: it gets past the scope check.
    EXPECT_EQ(call("DELETE", "/v1/jobs/" + job_id, "", jobs).status, 409);
}

TEST_F(ApiKeysTest, AnExpiredKeyIs401) {
    const std::string k = mint(R"({"expires_in_seconds": 60})")["api_key"];
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 200);
    clock_.advance_ms(59'999);
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 200);
    clock_.advance_ms(1);
    Response r = call("GET", "/v1/account", "", k);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(error_code(r), "unauthorized");
    EXPECT_NE(r.body.find("expired"), std::string::npos);
    json keys = json::parse(admin("GET", "/admin/accounts/" + account_ + "/keys").body)["keys"];
    EXPECT_EQ(keys[0]["state"], "expired");
}

TEST_F(ApiKeysTest, ARevokedKeyIs401AndOtherKeysGoOn) {
    json minted = mint("");
    const std::string k = minted["api_key"];
    const std::string id = minted["key_id"];
    const std::string other = key();
    EXPECT_EQ(call("GET", "/v1/account", "", k).status, 200);

    const std::string path = "/admin/accounts/" + account_ + "/keys/" + id;
    clock_.advance_ms(7);
    Response revoked = admin("DELETE", path);
    ASSERT_EQ(revoked.status, 200) << revoked.body;
    EXPECT_EQ(json::parse(revoked.body)["state"], "revoked");
    EXPECT_EQ(json::parse(revoked.body)["revoked_ms"], clock_.now_ms());
    Response r = call("GET", "/v1/account", "", k);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(error_code(r), "unauthorized");
    EXPECT_NE(r.body.find("revoked"), std::string::npos);
    EXPECT_EQ(call("POST", "/v1/quote", png_, k, "workflow=person").status, 401);
    EXPECT_EQ(call("GET", "/v1/account", "", other).status, 200);

    // Revoking again changes nothing; unknown ids and other accounts' keys are 404.
    clock_.advance_ms(7);
    Response again = admin("DELETE", path);
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(json::parse(again.body)["revoked_ms"], json::parse(revoked.body)["revoked_ms"]);
    Response unknown = admin("DELETE", "/admin/accounts/" + account_ + "/keys/key_nope");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(error_code(unknown), "unknown_key");
    const std::string bob = ledger_->create_account("bob").value();
    const std::string bobs =
        ledger_->create_api_key(ledger::ApiKeySpec{bob, ledger::KeyScopes::all(), {}})->id;
    EXPECT_EQ(admin("DELETE", "/admin/accounts/" + account_ + "/keys/" + bobs).status, 404);
    EXPECT_EQ(admin("GET", path).status, 405);

    json keys = json::parse(admin("GET", "/admin/accounts/" + account_ + "/keys").body)["keys"];
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[1]["key_id"], id);
    EXPECT_EQ(keys[1]["state"], "revoked");
    EXPECT_EQ(keys[0]["state"], "active");
}

TEST_F(ApiKeysTest, AMissingOrUnknownKeyIs401) {
    Request r;
    r.method = "GET";
    r.path = r.target = "/v1/account";
    EXPECT_EQ(api_->handle(r).status, 401);
    r.headers["authorization"] = "Basic abc";
    EXPECT_EQ(api_->handle(r).status, 401);
    Response unknown = call("GET", "/v1/account", "", "tg_" + std::string(64, '0'));
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(error_code(unknown), "unauthorized");
}

}  // namespace
}  // namespace tollgate::http
