// Signed result links: ResultLinks' rules on a manual clock, and the routes
// that show and accept them, over real stores.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/hash.h"
#include "http/api/result_links.h"
#include "http/codec/query.h"
#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;

TEST(ResultLinksTest, ALinkIsValidUntilItExpires) {
    core::ManualClock clock(1'000'000'500);  // half-way through a second
    ResultLinks links("secret", 60, clock);
    const std::string url = links.url_for("job_1");
    auto query = parse_query(url.substr(url.find('?') + 1));
    EXPECT_EQ(url.substr(0, url.find('?')), "/v1/results/job_1");
    // Rounded up to the second: a link lives at least its TTL.
    EXPECT_EQ(query["expires"], "1000061");
    EXPECT_EQ(query["signature"], core::hmac_sha256_hex("secret", "job_1\n1000061"));
    EXPECT_EQ(links.check("job_1", query["expires"], query["signature"]), LinkCheck::Valid);
    clock.set_ms(1'000'060'999);
    EXPECT_EQ(links.check("job_1", query["expires"], query["signature"]), LinkCheck::Valid);
    clock.set_ms(1'000'061'000);
    EXPECT_EQ(links.check("job_1", query["expires"], query["signature"]), LinkCheck::Expired);
}

TEST(ResultLinksTest, AnythingNotSignedByUsIsInvalid) {
    core::ManualClock clock(1'000'000'000);
    ResultLinks links("secret", 60, clock);
    const std::string good = links.signature("job_1", 1'000'060);
    ASSERT_EQ(links.check("job_1", "1000060", good), LinkCheck::Valid);
    std::string flipped = good;
    flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
    EXPECT_EQ(links.check("job_1", "1000060", flipped), LinkCheck::InvalidSignature);
    EXPECT_EQ(links.check("job_2", "1000060", good), LinkCheck::InvalidSignature);
    EXPECT_EQ(links.check("job_1", "1000061", good), LinkCheck::InvalidSignature);
    EXPECT_EQ(links.check("job_1", "01000060", good), LinkCheck::InvalidSignature);
    EXPECT_EQ(links.check("job_1", "+1000060", good), LinkCheck::InvalidSignature);
    EXPECT_EQ(links.check("job_1", "", good), LinkCheck::InvalidSignature);
    EXPECT_EQ(links.check("job_1", "1000060", ""), LinkCheck::InvalidSignature);
    EXPECT_EQ(links.check("job_1", "99999999999999999999", good), LinkCheck::InvalidSignature);
    // Another secret (another gateway, or a rotated one) signs differently.
    ResultLinks other("other secret", 60, clock);
    EXPECT_EQ(other.check("job_1", "1000060", good), LinkCheck::InvalidSignature);
    // An expired link whose signature is wrong is reported as invalid, not expired.
    clock.set_ms(2'000'000'000);
    EXPECT_EQ(links.check("job_1", "1000060", good), LinkCheck::Expired);
    EXPECT_EQ(links.check("job_1", "1000060", flipped), LinkCheck::InvalidSignature);
}

class ResultRoutesTest : public testing_support::GatewayFixture {
  protected:
    Response get(const std::string& target, const std::string& key = "") {
        Request r;
        r.method = "GET";
        r.target = target;
        std::size_t q = target.find('?');
        r.path = percent_decode_path(target.substr(0, q));
        r.query = q == std::string::npos ? "" : target.substr(q + 1);
        if (!key.empty()) r.headers["authorization"] = "Bearer " + key;
        return api_->handle(r);
    }
    // A succeeded job and its result_url as GET /v1/jobs/{id} shows it.
    std::string succeeded_job_url() {
        key_ = ledger_->create_api_key(account_).value();
        fund();
        auto submitted = submit();
        EXPECT_TRUE(submitted.ok());
        job_id_ = submitted->job_id;
        EXPECT_EQ(wait_final(job_id_).state, jobs::JobState::Succeeded);
        Response r = get("/v1/jobs/" + job_id_, key_);
        EXPECT_EQ(r.status, 200) << r.body;
        json body = json::parse(r.body);
        return body.value("result_url", "");
    }
    std::string error_code(const Response& r) { return json::parse(r.body)["error"]["code"]; }
    void fund() {
        ledger::GrantSpec grant;
        grant.account_id = account_;
        grant.tokens = core::Tokens(50);
        grant.reason = "test";
        ASSERT_TRUE(ledger_->add_grant(grant).ok());
    }

    std::string key_;
    std::string job_id_;
};

TEST_F(ResultRoutesTest, TheJobShowsASignedLinkThatNeedsNoKey) {
    const std::string url = succeeded_job_url();
    ASSERT_EQ(url.rfind("/v1/results/" + job_id_ + "?expires=", 0), 0u) << url;
    Response r = get(url);  // no Authorization header
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "image/png");
    EXPECT_EQ(r.body, "\x89PNG result");
    // The keyed route still serves the same file.
    Response keyed = get("/v1/jobs/" + job_id_ + "/result", key_);
    ASSERT_EQ(keyed.status, 200) << keyed.body;
    EXPECT_EQ(keyed.body, r.body);
}

TEST_F(ResultRoutesTest, ATamperedOrMissingSignatureIs403) {
    const std::string url = succeeded_job_url();
    auto query = parse_query(url.substr(url.find('?') + 1));
    const std::string base = "/v1/results/" + job_id_;
    std::string flipped = query["signature"];
    flipped[0] = flipped[0] == '0' ? '1' : '0';
    const std::string later = std::to_string(std::stoll(query["expires"]) + 3600);
    for (const std::string& bad : {base, base + "?expires=" + query["expires"],
                                   base + "?expires=" + query["expires"] + "&signature=" + flipped,
                                   base + "?expires=" + later + "&signature=" + query["signature"],
                                   "/v1/results/job_other?expires=" + query["expires"] +
                                       "&signature=" + query["signature"]}) {
        Response r = get(bad);
        EXPECT_EQ(r.status, 403) << bad;
        EXPECT_EQ(error_code(r), "invalid_signature") << bad;
    }
    // An API key does not stand in for a signature.
    Response keyed = get(base, key_);
    EXPECT_EQ(keyed.status, 403);
}

TEST_F(ResultRoutesTest, AnExpiredLinkIs410AndTheJobGivesAFreshOne) {
    const std::string url = succeeded_job_url();
    clock_.advance_ms(3600 * 1000 + 1000);
    Response r = get(url);
    EXPECT_EQ(r.status, 410) << r.body;
    EXPECT_EQ(error_code(r), "url_expired");
    const std::string fresh = json::parse(get("/v1/jobs/" + job_id_, key_).body)["result_url"];
    EXPECT_NE(fresh, url);
    EXPECT_EQ(get(fresh).status, 200);
}

TEST_F(ResultRoutesTest, AValidLinkToAnUnknownJobIs404) {
    succeeded_job_url();
    Response r = get(service_->result_links().url_for("job_gone"));
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(error_code(r), "not_found");
}

TEST_F(ResultRoutesTest, AFailedJobHasNoLink) {
    kind_ = dispatch::JobOutcomeKind::ExecutionFailed;
    key_ = ledger_->create_api_key(account_).value();
    fund();
    auto submitted = submit();
    ASSERT_TRUE(submitted.ok());
    EXPECT_EQ(wait_final(submitted->job_id).state, jobs::JobState::Failed);
    json body = json::parse(get("/v1/jobs/" + submitted->job_id, key_).body);
    EXPECT_FALSE(body.contains("result_url"));
    Response r = get(service_->result_links().url_for(submitted->job_id));
    EXPECT_EQ(r.status, 404) << r.body;
}

class ResultsDirTest : public ResultRoutesTest {
  protected:
    ResultsDirTest() { results_dir_ = elsewhere_.file("out"); }
    testing::TempDir elsewhere_;
};

TEST_F(ResultsDirTest, ResultsGoToTheConfiguredDir) {
    const std::string url = succeeded_job_url();
    const std::string file = jobs_->get(job_id_).value()->result_path;
    EXPECT_TRUE(file.starts_with(elsewhere_.file("out/" + job_id_ + "-"))) << file;
    EXPECT_TRUE(std::filesystem::exists(file));
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.file("data/results"), ec)) {
        EXPECT_FALSE(entry.path().filename().string().starts_with(job_id_)) << entry.path();
    }
    Response r = get(url);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "\x89PNG result");
}

}  // namespace
}  // namespace tollgate::http
