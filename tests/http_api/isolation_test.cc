// Isolation: every route that names a resource answers 404 to any account
// but its owner, whether the other account shares the owner's tenant or not,
// and changes nothing; account-wide reads show only the caller's own; result
// links and idempotency keys do not cross accounts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/api/api.h"
#include "http/codec/query.h"
#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using json = nlohmann::json;

class IsolationTest : public testing_support::GatewayFixture {
  protected:
    void SetUp() override {
        // Two accounts' jobs in flight at once: room for both whatever the
        // dispatcher thread has taken yet (a queue of one refused the second
        // as busy when the first was still queued).
        queue_capacity_ = 8;
        GatewayFixture::SetUp();
        neighbour_ = ledger_->create_account("neighbour").value();
        stranger_ = ledger_->create_account("stranger").value();
        ASSERT_TRUE(ledger_->set_tenant(account_, "acme").value());
        ASSERT_TRUE(ledger_->set_tenant(neighbour_, "acme").value());
        ASSERT_TRUE(ledger_->set_tenant(stranger_, "globex").value());
        for (const std::string& a : {account_, neighbour_, stranger_}) {
            ASSERT_TRUE(ledger_->grant(a, core::Tokens(1000), "").ok());
            keys_[a] = ledger_->create_api_key(a).value();
        }
    }

    Response post_job(const std::string& account, const std::string& idempotency_key) {
        Request r;
        r.method = "POST";
        r.path = "/v1/jobs";
        r.query = "workflow=person";
        r.target = "/v1/jobs?workflow=person";
        r.body = testing_support::png(800, 600);
        r.headers["authorization"] = "Bearer " + keys_[account];
        if (!idempotency_key.empty()) r.headers["idempotency-key"] = idempotency_key;
        return api_->handle(r);
    }

    std::string new_job(const std::string& account) {
        Response r = post_job(account, "");
        EXPECT_EQ(r.status, 202) << r.body;
        return json::parse(r.body)["job_id"];
    }

    std::string neighbour_, stranger_;
    std::map<std::string, std::string> keys_;
};

TEST_F(IsolationTest, EveryRouteOfAJobIs404ToEveryOtherAccount) {
    const std::string finished = new_job(account_);
    wait_final(finished);
    block();
    const std::string running = new_job(account_);
    wait_running(1);
    const ledger::Balance owner_before = balance();

    struct Route {
        const char* method;
        std::string suffix;
    };
    const std::vector<Route> routes = {
        {"GET", ""}, {"GET", "/result"}, {"GET", "/events"}, {"DELETE", ""}};
    int checked = 0;
    for (const std::string& caller : {neighbour_, stranger_}) {
        for (const std::string& job : {finished, running}) {
            for (const Route& route : routes) {
                const std::string path = "/v1/jobs/" + job + route.suffix;
                Response r = call(route.method, path, "", keys_[caller]);
                EXPECT_EQ(r.status, 404) << route.method << " " << path << ": " << r.body;
                EXPECT_EQ(json::parse(r.body)["error"]["code"], "not_found") << r.body;
                // The answer is the one for a job that does not exist at all.
                Response none =
                    call(route.method, "/v1/jobs/job_none" + route.suffix, "", keys_[caller]);
                EXPECT_EQ(r.body, none.body) << route.method << " " << path;
                ++checked;
            }
        }
    }
    EXPECT_EQ(checked, 16);
    // Nothing changed: the running job was not cancelled, the owner's money is where it was.
    EXPECT_EQ(jobs_->get(running).value()->state, jobs::JobState::Dispatched);
    EXPECT_EQ(balance().held, owner_before.held);
    EXPECT_EQ(balance().captured, owner_before.captured);
    // The owner still reaches each of them.
    for (const Route& route : {Route{"GET", ""}, Route{"GET", "/result"}}) {
        EXPECT_EQ(
            call(route.method, "/v1/jobs/" + finished + route.suffix, "", keys_[account_]).status,
            200);
    }
    release();
    wait_final(running);
}

TEST_F(IsolationTest, AccountReadsShowOnlyTheCallersOwn) {
    const std::string job = new_job(account_);
    wait_final(job);
    for (const std::string& caller : {neighbour_, stranger_}) {
        Response account = call("GET", "/v1/account", "", keys_[caller]);
        ASSERT_EQ(account.status, 200) << account.body;
        EXPECT_EQ(json::parse(account.body)["account_id"], caller);
        EXPECT_EQ(json::parse(account.body)["available"], 1000);  // the owner spent; they did not
        Response ledger = call("GET", "/v1/account/ledger", "", keys_[caller]);
        ASSERT_EQ(ledger.status, 200) << ledger.body;
        EXPECT_EQ(ledger.body.find(job), std::string::npos) << ledger.body;
        const json statement = json::parse(ledger.body);
        for (const auto& entry : statement["entries"]) {
            EXPECT_EQ(entry["kind"], "grant") << entry;
        }
    }
    // The owner's statement does show the job's hold and capture.
    Response own = call("GET", "/v1/account/ledger", "", keys_[account_]);
    EXPECT_NE(own.body.find(job), std::string::npos) << own.body;
}

TEST_F(IsolationTest, AResultLinkOpensOnlyTheJobItWasSignedFor) {
    const std::string mine = new_job(account_);
    const std::string theirs = new_job(stranger_);
    wait_final(mine);
    wait_final(theirs);
    Response job = call("GET", "/v1/jobs/" + theirs, "", keys_[stranger_]);
    ASSERT_EQ(job.status, 200) << job.body;
    const std::string url = json::parse(job.body)["result_url"];
    const std::string query = url.substr(url.find('?') + 1);
    // The stranger's signature on the owner's job id is not a link to it.
    Request r;
    r.method = "GET";
    r.path = "/v1/results/" + mine;
    r.query = query;
    r.target = r.path + "?" + query;
    Response forged = api_->handle(r);
    EXPECT_EQ(forged.status, 403) << forged.body;
    EXPECT_EQ(json::parse(forged.body)["error"]["code"], "invalid_signature");
    r.path = "/v1/results/" + theirs;
    r.target = r.path + "?" + query;
    EXPECT_EQ(api_->handle(r).status, 200);
}

TEST_F(IsolationTest, AnIdempotencyKeyBelongsToItsAccount) {
    Response first = post_job(account_, "order-1");
    ASSERT_EQ(first.status, 202) << first.body;
    Response other = post_job(stranger_, "order-1");
    ASSERT_EQ(other.status, 202) << other.body;
    // The same key and request from another account is another job, not a replay.
    EXPECT_NE(json::parse(other.body)["job_id"], json::parse(first.body)["job_id"]);
    for (const auto& [name, value] : other.headers) EXPECT_NE(name, "Idempotent-Replayed");
    wait_final(json::parse(first.body)["job_id"]);
    wait_final(json::parse(other.body)["job_id"]);
    EXPECT_EQ(ledger_->balance(stranger_).value().captured, core::Tokens(10));
    EXPECT_EQ(balance().captured, core::Tokens(10));
}

}  // namespace
}  // namespace tollgate::http
