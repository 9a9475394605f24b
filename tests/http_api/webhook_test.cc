// Webhooks end to end: jobs that name a webhook_url, the outbox row written
// when they settle, and deliveries to a real receiver on 127.0.0.1 that
// checks each signature. Retries run on the fixture's manual clock: the test
// moves it and asks the deliverer to send what is due.
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/hash.h"
#include "http/api/webhooks.h"
#include "http/codec/query.h"
#include "http/server/server.h"
#include "http_api/fixture.h"

namespace tollgate::http {
namespace {

using nlohmann::json;

TEST(WebhookRulesTest, BackoffDoublesUpToItsMaximum) {
    WebhookPolicy p{8, 1000, 5000, 1000};
    EXPECT_EQ(webhook_backoff_ms(p, 1), 1000);
    EXPECT_EQ(webhook_backoff_ms(p, 2), 2000);
    EXPECT_EQ(webhook_backoff_ms(p, 3), 4000);
    EXPECT_EQ(webhook_backoff_ms(p, 4), 5000);
    EXPECT_EQ(webhook_backoff_ms(p, 20), 5000);
}

TEST(WebhookRulesTest, SignatureIsHmacOfTimestampDotBody) {
    EXPECT_EQ(webhook_signature_header("k", 1700000000, R"({"a":1})"),
              "t=1700000000,v1=" + core::hmac_sha256_hex("k", R"(1700000000.{"a":1})"));
    EXPECT_EQ(webhook_signing_key("s", "acct_1"), core::hmac_sha256_hex("s", "acct_1"));
    EXPECT_NE(webhook_signing_key("s", "acct_1"), webhook_signing_key("s", "acct_2"));
}

// A receiver on 127.0.0.1 that answers `fail_first` requests with 500, then
// 200, and keeps every request it got.
class Receiver {
  public:
    explicit Receiver(int fail_first) : fail_first_(fail_first) {
        ServerOptions options;
        options.threads = 1;
        server_ = make_server(options, [this](const Request& r) {
            std::lock_guard lock(mu_);
            received_.push_back(r);
            Response out;
            out.status = static_cast<int>(received_.size()) <= fail_first_ ? 500 : 200;
            return out;
        });
        EXPECT_TRUE(server_->start().ok());
    }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hooks/tollgate?src=t";
    }
    std::vector<Request> received() {
        std::lock_guard lock(mu_);
        return received_;
    }

  private:
    int fail_first_;
    std::mutex mu_;
    std::vector<Request> received_;
    std::unique_ptr<Server> server_;
};

class WebhookTest : public testing_support::GatewayFixture {
  protected:
    void SetUp() override {
        GatewayFixture::SetUp();
        ledger::GrantSpec grant;
        grant.account_id = account_;
        grant.tokens = core::Tokens(50);
        grant.reason = "test";
        ASSERT_TRUE(ledger_->add_grant(grant).ok());
        key_ = ledger_->create_api_key(account_).value();
    }

    WebhookDeliverer deliverer(WebhookPolicy policy = {4, 1000, 8000, 2000}) {
        return WebhookDeliverer(*webhooks_, *client_, service_->result_links(), kWebhookSecret,
                                policy, clock_);
    }

    Response call(const std::string& method, const std::string& path, const std::string& query,
                  const std::string& body = "", bool with_key = true) {
        Request r;
        r.method = method;
        r.path = path;
        r.query = query;
        r.target = query.empty() ? path : path + "?" + query;
        r.body = body;
        if (with_key) r.headers["authorization"] = "Bearer " + key_;
        return api_->handle(r);
    }

    // Submits through the API, as a client would, and waits for the job to end.
    std::string run_job(const std::string& webhook_url) {
        Response r =
            call("POST", "/v1/jobs", "workflow=person&webhook_url=" + percent_encode(webhook_url),
                 testing_support::png(800, 600));
        EXPECT_EQ(r.status, 202) << r.body;
        std::string id = json::parse(r.body)["job_id"];
        wait_final(id);
        return id;
    }

    // Checks a delivery as a receiver would, with the key the account sees.
    json verified_body(const Request& r) {
        const std::string signing_key =
            json::parse(call("GET", "/v1/account", "").body)["webhook_signing_key"];
        const std::string header = r.header("tollgate-signature");
        EXPECT_EQ(header.rfind("t=", 0), 0u) << header;
        const std::size_t comma = header.find(",v1=");
        EXPECT_NE(comma, std::string::npos) << header;
        const std::string t = header.substr(2, comma - 2);
        const std::string v1 = header.substr(comma + 4);
        EXPECT_TRUE(
            core::constant_time_equal(v1, core::hmac_sha256_hex(signing_key, t + "." + r.body)))
            << header;
        return json::parse(r.body);
    }

    jobs::WebhookDelivery outbox_row(const std::string& job_id) {
        auto row = webhooks_->for_job(job_id);
        EXPECT_TRUE(row.ok() && row->has_value());
        return **row;
    }

    std::string key_;
    std::unique_ptr<HttpClient> client_ = make_http_client(Reach::Anywhere);
};

TEST_F(WebhookTest, ASucceededJobIsPostedSignedWithItsResultLink) {
    Receiver receiver(0);
    const std::string job_id = run_job(receiver.url());
    // The worker is woken right after the settling commit, which the job's
    // final state may show a moment earlier.
    for (int i = 0; i < 2000 && webhooks_queued_.load() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(webhooks_queued_.load(), 1);
    EXPECT_EQ(outbox_row(job_id).state, jobs::DeliveryState::Pending);
    WebhookDeliverer d = deliverer();
    EXPECT_EQ(d.run_due(64).value(), 1);

    std::vector<Request> got = receiver.received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].method, "POST");
    EXPECT_EQ(got[0].path, "/hooks/tollgate");
    EXPECT_EQ(got[0].query, "src=t");
    EXPECT_EQ(got[0].header("content-type"), "application/json");
    json body = verified_body(got[0]);
    EXPECT_EQ(got[0]
                  .header("tollgate-signature")
                  .rfind("t=" + std::to_string(clock_.now_ms() / 1000) + ",v1=", 0),
              0u);
    EXPECT_EQ(body["event"], "job.succeeded");
    EXPECT_EQ(body["job_id"], job_id);
    EXPECT_EQ(body["account_id"], account_);
    EXPECT_EQ(body["state"], "succeeded");
    EXPECT_EQ(body["tokens"], 10);
    EXPECT_EQ(body["tokens_charged"], 10);
    EXPECT_EQ(body["finished_ms"], clock_.now_ms());
    EXPECT_FALSE(body.contains("failure_reason"));
    // The link in the event fetches the result without a key.
    const std::string link = body["result_url"];
    std::size_t q = link.find('?');
    Response result = call("GET", link.substr(0, q), link.substr(q + 1), "", false);
    ASSERT_EQ(result.status, 200) << result.body;
    EXPECT_EQ(result.body, "\x89PNG result");

    jobs::WebhookDelivery row = outbox_row(job_id);
    EXPECT_EQ(row.state, jobs::DeliveryState::Delivered);
    EXPECT_EQ(row.attempts, 1);
    EXPECT_EQ(row.last_status, 200);
    // The job shows where its events go.
    EXPECT_EQ(json::parse(call("GET", "/v1/jobs/" + job_id, "").body)["webhook_url"],
              receiver.url());
}

TEST_F(WebhookTest, AFailedJobIsPostedWithItsReasonAndNoCharge) {
    kind_ = dispatch::JobOutcomeKind::ExecutionFailed;
    Receiver receiver(0);
    const std::string job_id = run_job(receiver.url());
    WebhookDeliverer d = deliverer();
    EXPECT_EQ(d.run_due(64).value(), 1);
    std::vector<Request> got = receiver.received();
    ASSERT_EQ(got.size(), 1u);
    json body = verified_body(got[0]);
    EXPECT_EQ(body["event"], "job.failed");
    EXPECT_EQ(body["state"], "failed");
    EXPECT_EQ(body["tokens_charged"], 0);
    EXPECT_NE(body["failure_reason"].get<std::string>().find("boom"), std::string::npos);
    EXPECT_FALSE(body.contains("result_url"));
}

TEST_F(WebhookTest, AJobWithoutWebhookQueuesNothing) {
    auto submitted = submit();
    ASSERT_TRUE(submitted.ok());
    wait_final(submitted->job_id);
    EXPECT_FALSE(webhooks_->for_job(submitted->job_id).value().has_value());
    EXPECT_EQ(webhooks_queued_.load(), 0);
}

TEST_F(WebhookTest, FailedAttemptsAreRetriedWithBackoffThenDeliveredOnce) {
    Receiver receiver(2);
    const std::string job_id = run_job(receiver.url());
    WebhookDeliverer d = deliverer({4, 1000, 8000, 2000});
    EXPECT_EQ(d.run_due(64).value(), 1);  // attempt 1: 500
    EXPECT_EQ(outbox_row(job_id).next_attempt_ms, clock_.now_ms() + 1000);
    EXPECT_EQ(d.run_due(64).value(), 0);  // not due yet
    clock_.advance_ms(999);
    EXPECT_EQ(d.run_due(64).value(), 0);
    clock_.advance_ms(1);
    EXPECT_EQ(d.run_due(64).value(), 1);  // attempt 2: 500, then twice the wait
    EXPECT_EQ(outbox_row(job_id).next_attempt_ms, clock_.now_ms() + 2000);
    EXPECT_EQ(outbox_row(job_id).last_status, 500);
    clock_.advance_ms(1999);
    EXPECT_EQ(d.run_due(64).value(), 0);
    clock_.advance_ms(1);
    EXPECT_EQ(d.run_due(64).value(), 1);  // attempt 3: 200
    jobs::WebhookDelivery row = outbox_row(job_id);
    EXPECT_EQ(row.state, jobs::DeliveryState::Delivered);
    EXPECT_EQ(row.attempts, 3);
    clock_.advance_ms(3'600'000);
    EXPECT_EQ(d.run_due(64).value(), 0);  // delivered means never again
    std::vector<Request> got = receiver.received();
    ASSERT_EQ(got.size(), 3u);
    for (const Request& r : got) EXPECT_EQ(verified_body(r)["job_id"], job_id);
    EXPECT_EQ(got[2].header("tollgate-delivery"), std::to_string(row.id) + ".3");
}

TEST_F(WebhookTest, AReceiverThatAlwaysFailsIsGivenUpAfterAttemptsMax) {
    Receiver receiver(1000);
    const std::string job_id = run_job(receiver.url());
    WebhookDeliverer d = deliverer({3, 100, 400, 2000});
    for (int i = 0; i < 10; ++i) {
        (void)d.run_due(64).value();
        clock_.advance_ms(400);
    }
    jobs::WebhookDelivery row = outbox_row(job_id);
    EXPECT_EQ(row.state, jobs::DeliveryState::Failed);
    EXPECT_EQ(row.attempts, 3);
    EXPECT_EQ(row.last_status, 500);
    EXPECT_EQ(receiver.received().size(), 3u);
    EXPECT_FALSE(webhooks_->next_due_ms().value().has_value());
}

TEST_F(WebhookTest, AnUnreachableReceiverCountsAsAFailedAttempt) {
    std::string url;
    {
        Receiver gone(0);
        url = gone.url();
    }  // stopped: nothing listens on its port any more
    const std::string job_id = run_job(url);
    WebhookDeliverer d = deliverer({2, 100, 100, 500});
    EXPECT_EQ(d.run_due(64).value(), 1);
    jobs::WebhookDelivery row = outbox_row(job_id);
    EXPECT_EQ(row.state, jobs::DeliveryState::Pending);
    EXPECT_EQ(row.last_status, 0);
    EXPECT_FALSE(row.last_error.empty());
}

TEST_F(WebhookTest, APendingDeliveryIsSentAfterARestart) {
    Receiver receiver(0);
    const std::string job_id = run_job(receiver.url());
    // The gateway stops before sending anything: everything is closed and the
    // database file opened again, as the next run would.
    dispatcher_->stop();
    api_.reset();
    service_.reset();
    plans_.reset();
    webhooks_.reset();
    usage_.reset();
    jobs_.reset();
    ledger_.reset();
    db_.reset();
    db_ = store::Database::open(dir_.file("t.db")).value();
    jobs_ = jobs::SqliteJobStore::open(*db_).value();
    webhooks_ = jobs::SqliteWebhookOutbox::open(*db_).value();
    EXPECT_TRUE(receiver.received().empty());
    ResultLinks links(kResultUrlSecret, 3600, clock_);
    WebhookDeliverer d(*webhooks_, *client_, links, kWebhookSecret, {4, 1000, 8000, 2000}, clock_);
    EXPECT_EQ(d.run_due(64).value(), 1);
    std::vector<Request> got = receiver.received();
    ASSERT_EQ(got.size(), 1u);
    const std::string signing_key = webhook_signing_key(kWebhookSecret, account_);
    const std::string header = got[0].header("tollgate-signature");
    const std::string t = header.substr(2, header.find(',') - 2);
    EXPECT_EQ(header.substr(header.find(",v1=") + 4),
              core::hmac_sha256_hex(signing_key, t + "." + got[0].body));
    EXPECT_EQ(json::parse(got[0].body)["job_id"], job_id);
    EXPECT_EQ(outbox_row(job_id).state, jobs::DeliveryState::Delivered);
}

TEST_F(WebhookTest, TheWorkerThreadDeliversWhenAJobEnds) {
    Receiver receiver(0);
    WebhookDeliverer d = deliverer();
    WebhookWorker worker(d, clock_, 20);
    worker.start();
    const std::string job_id = run_job(receiver.url());
    for (int i = 0; i < 500 && receiver.received().empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    worker.stop();
    ASSERT_EQ(receiver.received().size(), 1u);
    EXPECT_EQ(outbox_row(job_id).state, jobs::DeliveryState::Delivered);
}

TEST_F(WebhookTest, AnInvalidWebhookUrlIs400AndHoldsNothing) {
    const ledger::Balance before = balance();
    const std::string too_long = "http://h/" + std::string(3000, 'a');
    for (const std::string& bad :
         {std::string("ftp://example.com/x"), std::string("https://example.com/x"),
          std::string("example.com/hook"), std::string("http://user@h/x"),
          std::string("http://h:99999/"), too_long}) {
        Response r = call("POST", "/v1/jobs", "workflow=person&webhook_url=" + percent_encode(bad),
                          testing_support::png(800, 600));
        EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
        EXPECT_EQ(json::parse(r.body)["error"]["code"], "invalid_webhook_url") << bad;
    }
    const ledger::Balance after = balance();
    EXPECT_EQ(after.available(), before.available());
    EXPECT_EQ(after.held, core::Tokens(0));
    EXPECT_EQ(jobs_->count_unfinished(account_).value(), 0);
    EXPECT_EQ(jobs_->recent(account_, 0).value().count, 0);
}

// The default rule: webhooks go only to public addresses.
class PublicWebhookTest : public WebhookTest {
  protected:
    void SetUp() override {
        webhook_reach_ = Reach::PublicOnly;
        WebhookTest::SetUp();
    }
};

TEST_F(PublicWebhookTest, AnInternalAddressIsRefusedAtSubmitAndHoldsNothing) {
    for (const std::string& bad :
         {std::string("http://127.0.0.1:8188/interrupt"), std::string("http://10.0.0.7/hook"),
          std::string("http://169.254.169.254/latest/meta-data"),
          std::string("http://[::1]:8080/admin"), std::string("http://[::ffff:192.168.0.1]/")}) {
        Response r = call("POST", "/v1/jobs", "workflow=person&webhook_url=" + percent_encode(bad),
                          testing_support::png(800, 600));
        EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
        EXPECT_EQ(json::parse(r.body)["error"]["code"], "invalid_webhook_url") << bad;
    }
    EXPECT_EQ(balance().held, core::Tokens(0));
    EXPECT_EQ(jobs_->recent(account_, 0).value().count, 0);
}

TEST_F(PublicWebhookTest, ANameThatResolvesInsideIsGivenUpAtTheFirstAttempt) {
    Receiver receiver(0);
    // Accepted at submit (a name), refused when the delivery resolves it.
    const std::string url = "http://localhost" + receiver.url().substr(receiver.url().rfind(':'));
    const std::string job_id = run_job(url);
    auto guarded = make_http_client(Reach::PublicOnly);
    WebhookDeliverer d(*webhooks_, *guarded, service_->result_links(), kWebhookSecret,
                       {4, 1000, 8000, 2000}, clock_);
    EXPECT_EQ(d.run_due(64).value(), 1);
    jobs::WebhookDelivery row = outbox_row(job_id);
    EXPECT_EQ(row.state, jobs::DeliveryState::Failed);  // no retries: waiting will not help
    EXPECT_NE(row.last_error.find("http_forbidden_address"), std::string::npos) << row.last_error;
    EXPECT_TRUE(receiver.received().empty());
}

}  // namespace
}  // namespace tollgate::http
