#include "jobs/webhook_outbox.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "jobs/sqlite/sqlite_job_store.h"
#include "jobs/sqlite/sqlite_webhook_outbox.h"
#include "support/temp_dir.h"

namespace tollgate::jobs {
namespace {

Job sample_job(const std::string& id) {
    Job j;
    j.id = id;
    j.account_id = "acct_1";
    j.workflow = "person";
    j.tokens = 10;
    j.book_version = "v1";
    j.quote_json = "{}";
    j.width = 800;
    j.height = 600;
    j.format = "png";
    j.md5_hex = "m";
    j.sha256_hex = "s";
    j.created_ms = 5;
    return j;
}

class WebhookOutboxTest : public ::testing::Test {
  protected:
    void SetUp() override { open(); }
    void open() {
        outbox_.reset();
        jobs_.reset();
        db_.reset();
        db_ = store::Database::open(dir_.file("jobs.db")).value();
        jobs_ = SqliteJobStore::open(*db_).value();
        outbox_ = SqliteWebhookOutbox::open(*db_).value();
    }
    WebhookDelivery delivery(const std::string& job_id, std::int64_t due_ms) {
        EXPECT_TRUE(jobs_->insert(sample_job(job_id)).ok());
        WebhookDelivery d;
        d.job_id = job_id;
        d.account_id = "acct_1";
        d.url = "http://127.0.0.1:9/hook";
        d.payload_json = R"({"job_id":")" + job_id + R"("})";
        d.next_attempt_ms = due_ms;
        d.created_ms = due_ms;
        return d;
    }

    testing::TempDir dir_;
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<SqliteJobStore> jobs_;
    std::unique_ptr<SqliteWebhookOutbox> outbox_;
};

TEST_F(WebhookOutboxTest, AJobKeepsItsWebhookUrl) {
    Job j = sample_job("job_1");
    j.webhook_url = "http://example.com/done";
    ASSERT_TRUE(jobs_->insert(j).ok());
    EXPECT_EQ(jobs_->get("job_1").value()->webhook_url, "http://example.com/done");
}

TEST_F(WebhookOutboxTest, ADatabaseFromBeforeWebhooksGainsTheColumn) {
    // A jobs table as it was before webhook_url existed, with one job in it.
    outbox_.reset();
    jobs_.reset();
    db_.reset();
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.file("old.db").c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TABLE jobs (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, "
                           "workflow TEXT NOT NULL, state TEXT NOT NULL, tokens INTEGER NOT NULL, "
                           "book_version TEXT NOT NULL, quote_json TEXT NOT NULL, width INTEGER "
                           "NOT NULL, height INTEGER NOT NULL, format TEXT NOT NULL, md5 TEXT NOT "
                           "NULL, sha256 TEXT NOT NULL, worker TEXT NOT NULL DEFAULT '', "
                           "prompt_id TEXT NOT NULL DEFAULT '', result_path TEXT NOT NULL "
                           "DEFAULT '', failure_reason TEXT NOT NULL DEFAULT '', created_ms "
                           "INTEGER NOT NULL, finished_ms INTEGER NOT NULL DEFAULT 0) STRICT;"
                           "INSERT INTO jobs(id, account_id, workflow, state, tokens, "
                           "book_version, quote_json, width, height, format, md5, sha256, "
                           "created_ms) VALUES ('job_old', 'a', 'person', 'succeeded', 3, 'v', "
                           "'{}', 1, 1, 'png', 'm', 's', 1);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
    db_ = store::Database::open(dir_.file("old.db")).value();
    auto jobs = SqliteJobStore::open(*db_);
    ASSERT_TRUE(jobs.ok()) << jobs.error().message;
    jobs_ = std::move(jobs).value();
    auto old = jobs_->get("job_old");
    ASSERT_TRUE(old.ok()) << old.error().message;
    ASSERT_TRUE(old->has_value());
    EXPECT_EQ((*old)->webhook_url, "");
    Job j = sample_job("job_new");
    j.webhook_url = "http://h/x";
    ASSERT_TRUE(jobs_->insert(j).ok());
    EXPECT_EQ(jobs_->get("job_new").value()->webhook_url, "http://h/x");
    // Opening again finds the column and adds nothing.
    EXPECT_TRUE(SqliteJobStore::open(*db_).ok());
}

TEST_F(WebhookOutboxTest, DueDeliveriesComeEarliestFirst) {
    ASSERT_TRUE(outbox_->enqueue(delivery("job_b", 200)).ok());
    ASSERT_TRUE(outbox_->enqueue(delivery("job_a", 100)).ok());
    ASSERT_TRUE(outbox_->enqueue(delivery("job_c", 900)).ok());
    EXPECT_EQ(outbox_->next_due_ms().value(), 100);
    auto due = outbox_->due(500, 10).value();
    ASSERT_EQ(due.size(), 2u);
    EXPECT_EQ(due[0].job_id, "job_a");
    EXPECT_EQ(due[1].job_id, "job_b");
    EXPECT_EQ(due[0].state, DeliveryState::Pending);
    EXPECT_EQ(due[0].attempts, 0);
    EXPECT_EQ(outbox_->due(500, 1).value().size(), 1u);
}

TEST_F(WebhookOutboxTest, AJobHasOneDelivery) {
    WebhookDelivery d = delivery("job_a", 100);
    ASSERT_TRUE(outbox_->enqueue(d).ok());
    auto again = outbox_->enqueue(d);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, "webhook_exists");
}

TEST_F(WebhookOutboxTest, AttemptsAreCountedUntilAFinalState) {
    ASSERT_TRUE(outbox_->enqueue(delivery("job_a", 100)).ok());
    std::int64_t id = outbox_->for_job("job_a").value()->id;
    ASSERT_TRUE(
        outbox_->record_attempt({id, DeliveryState::Pending, 1100, 503, "answered 503", 100}).ok());
    WebhookDelivery after = *outbox_->for_job("job_a").value();
    EXPECT_EQ(after.attempts, 1);
    EXPECT_EQ(after.next_attempt_ms, 1100);
    EXPECT_EQ(after.last_status, 503);
    EXPECT_EQ(after.finished_ms, 0);
    EXPECT_TRUE(outbox_->due(1000, 10).value().empty());
    ASSERT_TRUE(outbox_->record_attempt({id, DeliveryState::Delivered, 0, 200, "", 1100}).ok());
    WebhookDelivery done = *outbox_->for_job("job_a").value();
    EXPECT_EQ(done.state, DeliveryState::Delivered);
    EXPECT_EQ(done.attempts, 2);
    EXPECT_EQ(done.finished_ms, 1100);
    EXPECT_FALSE(outbox_->next_due_ms().value().has_value());
    auto late = outbox_->record_attempt({id, DeliveryState::Failed, 0, 0, "x", 1200});
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(late.error().code, "webhook_not_pending");
}

TEST_F(WebhookOutboxTest, PendingDeliveriesSurviveAReopen) {
    ASSERT_TRUE(outbox_->enqueue(delivery("job_a", 100)).ok());
    open();
    auto due = outbox_->due(100, 10).value();
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].url, "http://127.0.0.1:9/hook");
    EXPECT_EQ(due[0].payload_json, R"({"job_id":"job_a"})");
}

}  // namespace
}  // namespace tollgate::jobs
