// Idempotency-Key records in the JobStore, on every backend
// (job_store_fixture.h).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "jobs/job_store_fixture.h"

namespace tollgate::jobs {
namespace {

class JobStoreIdempotencyTest : public JobStoreTest {
  protected:
    // A record of a new job of `account` (the job exists, as at admission).
    IdempotencyRecord record(const std::string& account, const std::string& key) {
        const Job j = add(make_job(account, kT + ++records_));
        IdempotencyRecord r;
        r.account_id = account;
        r.key = key;
        r.request_sha256 = std::string(63, 'e') + std::to_string(records_ % 10);
        r.job_id = j.id;
        r.status = 202;
        r.response_json =
            R"({"job_id":")" + j.id + R"(","state":"admitted","note":"é 日本"})" + "\n";
        r.created_ms = j.created_ms;
        return r;
    }

    std::optional<IdempotencyRecord> find(const std::string& account, const std::string& key) {
        auto found = store_->find_idempotency(account, key);
        EXPECT_TRUE(found.ok()) << found.error().message;
        return found.ok() ? *found : std::nullopt;
    }

    static void expect_same_record(const IdempotencyRecord& want,
                                   const std::optional<IdempotencyRecord>& got) {
        ASSERT_TRUE(got.has_value()) << "no record " << want.account_id << "/" << want.key;
        EXPECT_EQ(got->account_id, want.account_id);
        EXPECT_EQ(got->key, want.key);
        EXPECT_EQ(got->request_sha256, want.request_sha256);
        EXPECT_EQ(got->job_id, want.job_id);
        EXPECT_EQ(got->status, want.status);
        EXPECT_EQ(got->response_json, want.response_json);
        EXPECT_EQ(got->created_ms, want.created_ms);
    }

    int records_ = 0;
};
TOLLGATE_JOB_STORE_BACKENDS(JobStoreIdempotencyTest);

TEST_P(JobStoreIdempotencyTest, AKeyIsRecordedOnceFoundBackAndForgotten) {
    EXPECT_FALSE(find("acct_a", "key-1").has_value());
    const IdempotencyRecord first = record("acct_a", "key-1");
    ASSERT_TRUE(store_->insert_idempotency(first).ok());
    expect_same_record(first, find("acct_a", "key-1"));

    // The same key again, for another request: refused, the first stays.
    IdempotencyRecord second = record("acct_a", "key-1");
    second.request_sha256 = std::string(64, 'f');
    second.status = 409;
    second.response_json = R"({"error":"other"})";
    core::Status s = store_->insert_idempotency(second);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "idempotency_key_exists");
    expect_same_record(first, find("acct_a", "key-1"));

    // Forgotten, it is free again.
    ASSERT_TRUE(store_->delete_idempotency("acct_a", "key-1").ok());
    EXPECT_FALSE(find("acct_a", "key-1").has_value());
    ASSERT_TRUE(store_->insert_idempotency(second).ok());
    expect_same_record(second, find("acct_a", "key-1"));
}

TEST_P(JobStoreIdempotencyTest, KeysArePerAccountAndExact) {
    const IdempotencyRecord a = record("acct_a", "order-42");
    const IdempotencyRecord b = record("acct_b", "order-42");
    const IdempotencyRecord a_upper = record("acct_a", "ORDER-42");
    ASSERT_TRUE(store_->insert_idempotency(a).ok());
    ASSERT_TRUE(store_->insert_idempotency(b).ok());
    ASSERT_TRUE(store_->insert_idempotency(a_upper).ok());
    expect_same_record(a, find("acct_a", "order-42"));
    expect_same_record(b, find("acct_b", "order-42"));
    expect_same_record(a_upper, find("acct_a", "ORDER-42"));
    EXPECT_FALSE(find("acct_c", "order-42").has_value());
    EXPECT_FALSE(find("acct_a", "order-4").has_value());
    EXPECT_FALSE(find("acct_a", "order-42 ").has_value());

    // Forgetting one account's key leaves the other's.
    ASSERT_TRUE(store_->delete_idempotency("acct_a", "order-42").ok());
    EXPECT_FALSE(find("acct_a", "order-42").has_value());
    expect_same_record(b, find("acct_b", "order-42"));
    expect_same_record(a_upper, find("acct_a", "ORDER-42"));
}

TEST_P(JobStoreIdempotencyTest, KeysAndBodiesAreKeptByteForByte) {
    // What a client may send as Idempotency-Key, separators and braces included.
    const std::string keys[] = {"a:b:c",     "{s1}:x",         "with space",
                                "tab\there", "é-日本-🙂", std::string(255, 'k')};
    std::vector<IdempotencyRecord> records;
    for (const std::string& key : keys) {
        IdempotencyRecord r = record("acct_a", key);
        r.response_json += "\t\r\n\x01 \"quoted\" \\ end";
        r.status = 201;
        ASSERT_TRUE(store_->insert_idempotency(r).ok()) << key;
        records.push_back(r);
    }
    for (const IdempotencyRecord& r : records) {
        SCOPED_TRACE(r.key);
        expect_same_record(r, find("acct_a", r.key));
    }
}

TEST_P(JobStoreIdempotencyTest, ForgettingAnUnknownKeyChangesNothing) {
    const IdempotencyRecord kept = record("acct_a", "kept");
    ASSERT_TRUE(store_->insert_idempotency(kept).ok());
    EXPECT_TRUE(store_->delete_idempotency("acct_a", "never-recorded").ok());
    EXPECT_TRUE(store_->delete_idempotency("acct_b", "kept").ok());
    expect_same_record(kept, find("acct_a", "kept"));
    EXPECT_FALSE(find("acct_a", "never-recorded").has_value());
}

}  // namespace
}  // namespace tollgate::jobs
