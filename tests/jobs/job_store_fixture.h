// The fixture shared by the backend-neutral JobStore tests. JobStoreTest runs
// each test against the backend named by its parameter: "sqlite" (a fresh
// database file in a temporary folder) or "redis" (a fresh key prefix on one
// Redis server shared by the whole test binary).
//
// The specification is the interface (jobs/job_store.h) and, where it is
// silent, what SqliteJobStore does; the tests hold no branch per backend.
//
// A backend-neutral suite is a TEST_P on JobStoreTest (or an alias of it),
// instantiated with TOLLGATE_JOB_STORE_BACKENDS(Suite): its tests are named
// Backends/Suite.Test/<backend>.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jobs/job_store.h"
#include "jobs/redis/redis_job_store.h"
#include "jobs/sqlite/sqlite_job_store.h"
#include "store/redis/redis_client.h"
#include "store/sqlite.h"
#include "support/redis_test_store.h"
#include "support/temp_dir.h"

namespace tollgate::jobs {

// The backends every JobStore suite runs against. Adding one is a word here
// and a branch in JobStoreTest::open().
inline const auto kJobStoreBackends = ::testing::Values("sqlite", "redis");

#define TOLLGATE_JOB_STORE_BACKENDS(suite)                                         \
    INSTANTIATE_TEST_SUITE_P(Backends, suite, ::tollgate::jobs::kJobStoreBackends, \
                             ::tollgate::testing::backend_param_name)

class JobStoreTest : public ::testing::TestWithParam<std::string> {
  public:
    // A creation time in the range the gateway writes (past 2^32 ms).
    static constexpr std::int64_t kT = 1'700'000'000'000;

  protected:
    void SetUp() override { ASSERT_NO_FATAL_FAILURE(open()); }

    // "sqlite" or "redis": the test's parameter.
    std::string backend() const { return GetParam(); }

    // Opens (or reopens) the store on the same storage: the same database
    // file, or a new connection to the same server under the same prefix.
    void open() {
        store_.reset();
        db_.reset();
        client_.reset();
        const std::string name = backend();
        if (name == "sqlite") {
            auto db = store::Database::open(dir_.file("jobs.db"));
            ASSERT_TRUE(db.ok()) << db.error().message;
            db_ = std::move(db).value();
            auto store = SqliteJobStore::open(*db_);
            ASSERT_TRUE(store.ok()) << store.error().message;
            store_ = std::move(store).value();
        } else if (name == "redis") {
            client_ = testing::shared_redis_client();
            ASSERT_TRUE(client_);
            auto store = RedisJobStore::open(*client_, redis_prefix_);
            ASSERT_TRUE(store.ok()) << store.error().message;
            store_ = std::move(store).value();
        } else {
            FAIL() << "unknown job store backend " << name;
        }
    }

    // A job as admission makes it, with every field set to a value that is
    // neither its default nor any other job's: a field the store drops,
    // swaps or truncates shows. tokens and the ids pass 32 bits; the hash has
    // its top bit set (it does not fit a signed 64-bit integer); quote_json
    // holds escapes, control characters and text beyond ASCII.
    Job make_job(const std::string& account, std::int64_t created_ms,
                 const std::string& tenant = "acme") {
        const int n = ++jobs_made_;
        const std::string tag = std::to_string(n);
        Job j;
        j.id = "job_" + tag;
        j.account_id = account;
        j.workflow = "person";
        j.state = JobState::Admitted;
        j.tokens = 4'294'967'296 + n;
        j.book_version = "book-2024-06-01-r" + tag;
        j.quote_json =
            R"({"job":")" + j.id +
            R"(","items":[{"name":"base","tokens":7},{"name":"crème brûlée 日本 🙂"}],)"
            "\n\t\"note\":\"a\\\"b\\\\c\\u0000\",\"raw\":\"\x01\x1f\x7f\r\n\"}";
        j.width = 4096 + n;
        j.height = 3072 + n;
        j.format = "webp";
        j.md5_hex = "0123456789abcdef0123456789ab" + hex4(n);
        j.sha256_hex = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba987654" + hex4(n);
        j.worker = "http://10.0.0.7:8188/w" + tag;
        j.prompt_id = "prompt-" + tag;
        j.result_path = "results/2024/06/" + j.id + ".webp";
        j.failure_reason = "reason " + tag;
        j.created_ms = created_ms;
        j.finished_ms = created_ms + 10'000 + n;
        j.webhook_url = "https://hooks.example/tollgate?job=" + j.id + "&x=%20y";
        j.tenant = tenant;
        j.dedupe_key =
            "dk" + hex4(n) + "0000000000000000000000000000000000000000000000000000000000";
        j.phash = 0x8000'0000'0000'0000ULL | (0x0123'4567'0000'0000ULL + n);
        j.dedupe_kind = DedupeKind::Near;
        j.dedupe_of = "job_earlier_" + tag;
        j.dedupe_distance = 5;
        j.dedupe_reused = false;
        return j;
    }

    // A job that reuses `of`'s result (an exact duplicate: no tokens).
    Job make_reused(const std::string& account, std::int64_t created_ms, const std::string& of,
                    const std::string& tenant = "acme") {
        Job j = make_job(account, created_ms, tenant);
        j.tokens = 0;
        j.dedupe_kind = DedupeKind::Exact;
        j.dedupe_of = of;
        j.dedupe_distance = 0;
        j.dedupe_reused = true;
        return j;
    }

    // Inserts `j` and moves it to `state` by the shortest legal path, with
    // `j` itself as the update (so its fields stay as inserted). Returns the
    // job as the store then holds it.
    Job add(const Job& j, JobState state = JobState::Admitted) {
        core::Status s = store_->insert(j);
        EXPECT_TRUE(s.ok()) << j.id << ": " << s.error().message;
        if (state == JobState::Dispatched || state == JobState::Succeeded) {
            s = store_->transition(j.id, JobState::Dispatched, j);
            EXPECT_TRUE(s.ok()) << j.id << ": " << s.error().message;
        }
        if (is_final(state)) {
            s = store_->transition(j.id, state, j);
            EXPECT_TRUE(s.ok()) << j.id << ": " << s.error().message;
        }
        Job stored = j;
        stored.state = state;
        return stored;
    }

    // The job as the store holds it; a failure when it has none.
    Job get(const std::string& id) {
        auto got = store_->get(id);
        EXPECT_TRUE(got.ok()) << got.error().message;
        if (!got.ok()) return Job{};
        EXPECT_TRUE(got->has_value()) << "no job " << id;
        return got->value_or(Job{});
    }

    std::vector<Job> unfinished() {
        auto jobs = store_->unfinished();
        EXPECT_TRUE(jobs.ok()) << jobs.error().message;
        return jobs.ok() ? *jobs : std::vector<Job>{};
    }

    std::vector<DedupeCandidate> key_matches(const DedupeScopeKey& scope, const std::string& key,
                                             std::int64_t since_ms, std::size_t limit = 16) {
        auto found = store_->dedupe_key_matches(scope, key, since_ms, limit);
        EXPECT_TRUE(found.ok()) << found.error().message;
        return found.ok() ? *found : std::vector<DedupeCandidate>{};
    }

    std::vector<DedupeCandidate> recent_in_scope(const DedupeScopeKey& scope, std::int64_t since_ms,
                                                 std::size_t limit = 100) {
        auto found = store_->recent_in_scope(scope, since_ms, limit);
        EXPECT_TRUE(found.ok()) << found.error().message;
        return found.ok() ? *found : std::vector<DedupeCandidate>{};
    }

    std::vector<Job> attached(const std::string& id, std::size_t limit = 100) {
        auto found = store_->attached(id, limit);
        EXPECT_TRUE(found.ok()) << found.error().message;
        return found.ok() ? *found : std::vector<Job>{};
    }

    std::int64_t count_attached(const std::string& id) {
        auto n = store_->count_attached(id);
        EXPECT_TRUE(n.ok()) << n.error().message;
        return n.ok() ? *n : -1;
    }

    std::int64_t count_unfinished(const std::string& account) {
        auto n = store_->count_unfinished(account);
        EXPECT_TRUE(n.ok()) << n.error().message;
        return n.ok() ? *n : -1;
    }

    JobStore::RecentJobs recent(const std::string& account, std::int64_t since_ms) {
        auto r = store_->recent(account, since_ms);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : JobStore::RecentJobs{-1, -1};
    }

    // The ids, in the order given, for compact expectations.
    static std::vector<std::string> ids(const std::vector<Job>& jobs) {
        std::vector<std::string> out;
        for (const Job& j : jobs) out.push_back(j.id);
        return out;
    }
    static std::vector<std::string> ids(const std::vector<DedupeCandidate>& found) {
        std::vector<std::string> out;
        for (const DedupeCandidate& c : found) out.push_back(c.job_id);
        return out;
    }

    // Every field of `got` equals `want`'s.
    static void expect_same_job(const Job& want, const Job& got) {
        SCOPED_TRACE("job " + want.id);
        EXPECT_EQ(got.id, want.id);
        EXPECT_EQ(got.account_id, want.account_id);
        EXPECT_EQ(got.workflow, want.workflow);
        EXPECT_EQ(to_string(got.state), to_string(want.state));
        EXPECT_EQ(got.tokens, want.tokens);
        EXPECT_EQ(got.book_version, want.book_version);
        EXPECT_EQ(got.quote_json, want.quote_json);
        EXPECT_EQ(got.width, want.width);
        EXPECT_EQ(got.height, want.height);
        EXPECT_EQ(got.format, want.format);
        EXPECT_EQ(got.md5_hex, want.md5_hex);
        EXPECT_EQ(got.sha256_hex, want.sha256_hex);
        EXPECT_EQ(got.worker, want.worker);
        EXPECT_EQ(got.prompt_id, want.prompt_id);
        EXPECT_EQ(got.result_path, want.result_path);
        EXPECT_EQ(got.failure_reason, want.failure_reason);
        EXPECT_EQ(got.created_ms, want.created_ms);
        EXPECT_EQ(got.finished_ms, want.finished_ms);
        EXPECT_EQ(got.webhook_url, want.webhook_url);
        EXPECT_EQ(got.tenant, want.tenant);
        EXPECT_EQ(got.dedupe_key, want.dedupe_key);
        EXPECT_EQ(got.phash, want.phash);
        EXPECT_EQ(to_string(got.dedupe_kind), to_string(want.dedupe_kind));
        EXPECT_EQ(got.dedupe_of, want.dedupe_of);
        EXPECT_EQ(got.dedupe_distance, want.dedupe_distance);
        EXPECT_EQ(got.dedupe_reused, want.dedupe_reused);
    }

    // `got` is `want` as a dedupe candidate.
    static void expect_candidate_of(const Job& want, const DedupeCandidate& got) {
        SCOPED_TRACE("candidate " + want.id);
        EXPECT_EQ(got.job_id, want.id);
        EXPECT_EQ(got.account_id, want.account_id);
        EXPECT_EQ(got.tenant, want.tenant);
        EXPECT_EQ(got.workflow, want.workflow);
        EXPECT_EQ(got.dedupe_key, want.dedupe_key);
        EXPECT_EQ(to_string(got.state), to_string(want.state));
        EXPECT_EQ(got.reused, want.dedupe_reused);
        EXPECT_EQ(got.phash, want.phash);
        EXPECT_EQ(got.created_ms, want.created_ms);
    }

    testing::TempDir dir_;
    // Redis: this test's key prefix.
    std::string redis_prefix_ = testing::unique_redis_prefix("j");
    // Declared before store_, which uses them: destroyed after it.
    std::unique_ptr<store::Database> db_;           // SQLite only
    std::unique_ptr<store::redis::Client> client_;  // Redis only
    std::unique_ptr<JobStore> store_;

  private:
    static std::string hex4(int n) {
        static constexpr char kDigits[] = "0123456789abcdef";
        std::string out(4, '0');
        for (int i = 3; i >= 0; --i, n >>= 4) out[static_cast<std::size_t>(i)] = kDigits[n & 15];
        return out;
    }

    int jobs_made_ = 0;
};

// The clock's start, for tests that name instants relative to it.
inline constexpr std::int64_t kT = JobStoreTest::kT;

}  // namespace tollgate::jobs
