// Duplicate detection: the decision (jobs::decide) case by case, the dedupe
// key, and the job store's lookups and schema upgrade.
#include "jobs/dedupe.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <vector>

#include "jobs/sqlite/sqlite_job_store.h"
#include "support/temp_dir.h"

namespace tollgate::jobs {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;
constexpr std::int64_t kDayMs = 86'400'000;

DedupeCandidate candidate(const std::string& id, JobState state, std::int64_t created_ms,
                          const std::string& key = "K") {
    DedupeCandidate c;
    c.job_id = id;
    c.account_id = "acct_a";
    c.tenant = "";
    c.workflow = "person";
    c.dedupe_key = key;
    c.state = state;
    c.created_ms = created_ms;
    return c;
}

const DedupeScopeKey kAccountA{DedupeScope::Account, "acct_a", ""};
const DedupeSubject kSubject{"K", "person", std::nullopt};

DedupeDecision decide_exact(const DedupeSettings& s, const std::vector<DedupeCandidate>& exact,
                            const DedupeScopeKey& scope = kAccountA) {
    return decide(s, scope, kNow, kSubject, exact, {});
}

TEST(DedupeDecisionTest, ReuseTakesASucceededJobAndAttachesToOneInFlight) {
    DedupeSettings s;  // the defaults: reuse, flag, 6 bits, 7 days, account
    auto done = decide_exact(s, {candidate("job_1", JobState::Succeeded, kNow - 1000)});
    EXPECT_EQ(done.action, DedupeAction::Reuse);
    EXPECT_EQ(done.kind, DedupeKind::Exact);
    EXPECT_EQ(done.of, "job_1");
    auto running = decide_exact(s, {candidate("job_2", JobState::Dispatched, kNow - 1000)});
    EXPECT_EQ(running.action, DedupeAction::Attach);
    EXPECT_EQ(running.of, "job_2");
    // With both, the result in hand wins.
    auto both = decide_exact(s, {candidate("job_2", JobState::Dispatched, kNow - 2000),
                                 candidate("job_1", JobState::Succeeded, kNow - 1000)});
    EXPECT_EQ(both.action, DedupeAction::Reuse);
    EXPECT_EQ(both.of, "job_1");
}

TEST(DedupeDecisionTest, RejectAndAllow) {
    DedupeSettings s;
    s.policy = DedupePolicy::Reject;
    auto rejected = decide_exact(s, {candidate("job_1", JobState::Dispatched, kNow)});
    EXPECT_EQ(rejected.action, DedupeAction::Reject);
    EXPECT_EQ(rejected.of, "job_1");
    s.policy = DedupePolicy::Allow;
    auto allowed = decide_exact(s, {candidate("job_1", JobState::Succeeded, kNow)});
    EXPECT_EQ(allowed.action, DedupeAction::Proceed);
    EXPECT_EQ(allowed.kind, DedupeKind::None);
}

TEST(DedupeDecisionTest, FailedReusedOtherKeysAndOldJobsDoNotCount) {
    DedupeSettings s;
    DedupeCandidate reused = candidate("job_r", JobState::Succeeded, kNow);
    reused.reused = true;
    const std::vector<DedupeCandidate> none_count = {
        candidate("job_f", JobState::Failed, kNow),
        reused,
        candidate("job_k", JobState::Succeeded, kNow, "other key"),
        candidate("job_old", JobState::Succeeded, kNow - 7 * kDayMs - 1),
    };
    auto d = decide_exact(s, none_count);
    EXPECT_EQ(d.action, DedupeAction::Proceed);
    EXPECT_EQ(d.kind, DedupeKind::None);
    // Exactly at the window's edge still counts.
    auto edge = decide_exact(s, {candidate("job_edge", JobState::Succeeded, kNow - 7 * kDayMs)});
    EXPECT_EQ(edge.action, DedupeAction::Reuse);
    s.window_s = 60;
    auto short_window =
        decide_exact(s, {candidate("job_edge", JobState::Succeeded, kNow - 61'000)});
    EXPECT_EQ(short_window.action, DedupeAction::Proceed);
}

TEST(DedupeDecisionTest, ScopeIsTheAccountOrItsTenantNeverAnotherTenant) {
    DedupeSettings s;
    DedupeCandidate other_account = candidate("job_b", JobState::Succeeded, kNow);
    other_account.account_id = "acct_b";
    other_account.tenant = "acme";
    DedupeCandidate other_tenant = candidate("job_c", JobState::Succeeded, kNow);
    other_tenant.account_id = "acct_c";
    other_tenant.tenant = "globex";
    const DedupeScopeKey acme_account{DedupeScope::Account, "acct_a", "acme"};
    EXPECT_EQ(decide_exact(s, {other_account}, acme_account).action, DedupeAction::Proceed);

    s.scope = DedupeScope::Tenant;
    const DedupeScopeKey acme_tenant{DedupeScope::Tenant, "acct_a", "acme"};
    auto same_tenant = decide_exact(s, {other_tenant, other_account}, acme_tenant);
    EXPECT_EQ(same_tenant.action, DedupeAction::Reuse);
    EXPECT_EQ(same_tenant.of, "job_b");
    EXPECT_EQ(decide_exact(s, {other_tenant}, acme_tenant).action, DedupeAction::Proceed);
    // An account without a tenant only ever matches itself, and its own jobs
    // from when it belonged to a tenant do not count either.
    DedupeCandidate no_tenant = candidate("job_d", JobState::Succeeded, kNow);
    no_tenant.account_id = "acct_d";
    const DedupeScopeKey loner{DedupeScope::Tenant, "acct_a", ""};
    EXPECT_EQ(decide_exact(s, {no_tenant}, loner).action, DedupeAction::Proceed);
    DedupeCandidate own_old_tenant = candidate("job_e", JobState::Succeeded, kNow);
    own_old_tenant.tenant = "acme";
    EXPECT_EQ(decide_exact(s, {own_old_tenant}, loner).action, DedupeAction::Proceed);
}

DedupeCandidate near(const std::string& id, std::uint64_t phash, JobState state,
                     std::int64_t created_ms = kNow - 1000) {
    DedupeCandidate c = candidate(id, state, created_ms, "key of " + id);
    c.phash = phash;
    return c;
}

TEST(DedupeDecisionTest, NearDuplicatesAreFlaggedWithTheClosestEarlierJob) {
    DedupeSettings s;
    const DedupeSubject subject{"K", "person", 0x00FF00FF00FF00FFULL};
    const std::vector<DedupeCandidate> recent = {
        near("job_far", 0x00FF00FF00FF00FFULL ^ 0x7FULL, JobState::Succeeded),    // 7 bits
        near("job_four", 0x00FF00FF00FF00FFULL ^ 0xF0ULL, JobState::Dispatched),  // 4 bits
        near("job_two", 0x00FF00FF00FF00FFULL ^ 0x3ULL, JobState::Failed),        // failed
    };
    auto d = decide(s, kAccountA, kNow, subject, {}, recent);
    EXPECT_EQ(d.action, DedupeAction::Proceed);
    EXPECT_EQ(d.kind, DedupeKind::Near);
    EXPECT_EQ(d.of, "job_four");
    EXPECT_EQ(d.distance, 4);

    s.near_distance_max = 3;
    EXPECT_EQ(decide(s, kAccountA, kNow, subject, {}, recent).kind, DedupeKind::None);
    s.near_distance_max = 6;
    s.near_policy = NearDedupePolicy::Reuse;
    EXPECT_EQ(decide(s, kAccountA, kNow, subject, {}, recent).action, DedupeAction::Attach);
    s.near_policy = NearDedupePolicy::Reject;
    EXPECT_EQ(decide(s, kAccountA, kNow, subject, {}, recent).action, DedupeAction::Reject);
    s.near_policy = NearDedupePolicy::Allow;
    EXPECT_EQ(decide(s, kAccountA, kNow, subject, {}, recent).kind, DedupeKind::None);
}

TEST(DedupeDecisionTest, NearNeedsTheSameWorkflowAndAHash) {
    DedupeSettings s;
    const DedupeSubject subject{"K", "person", 42};
    DedupeCandidate other_workflow = near("job_w", 42, JobState::Succeeded);
    other_workflow.workflow = "building";
    DedupeCandidate no_hash = near("job_h", 0, JobState::Succeeded);
    no_hash.phash.reset();
    EXPECT_EQ(decide(s, kAccountA, kNow, subject, {}, std::vector{other_workflow, no_hash}).kind,
              DedupeKind::None);
    const DedupeSubject unhashed{"K", "person", std::nullopt};
    EXPECT_EQ(decide(s, kAccountA, kNow, unhashed, {},
                     std::vector{near("job_x", 42, JobState::Succeeded)})
                  .kind,
              DedupeKind::None);
}

TEST(DedupeDecisionTest, ExactWinsOverNearAndAllowedExactIsNotNear) {
    DedupeSettings s;
    const DedupeSubject subject{"K", "person", 42};
    DedupeCandidate same = candidate("job_same", JobState::Succeeded, kNow - 5000);
    same.phash = 42;
    const std::vector<DedupeCandidate> exact = {same};
    const std::vector<DedupeCandidate> recent = {same, near("job_near", 43, JobState::Succeeded)};
    auto d = decide(s, kAccountA, kNow, subject, exact, recent);
    EXPECT_EQ(d.kind, DedupeKind::Exact);
    EXPECT_EQ(d.of, "job_same");
    s.policy = DedupePolicy::Allow;
    auto allowed = decide(s, kAccountA, kNow, subject, exact, recent);
    EXPECT_EQ(allowed.kind, DedupeKind::Near);
    EXPECT_EQ(allowed.of, "job_near");
    EXPECT_EQ(allowed.distance, 1);
}

TEST(DedupeSettingsTest, NamesParseBackAndUnknownNamesDoNot) {
    for (DedupePolicy p : {DedupePolicy::Reuse, DedupePolicy::Reject, DedupePolicy::Allow}) {
        EXPECT_EQ(parse_dedupe_policy(to_string(p)), p);
    }
    for (NearDedupePolicy p : {NearDedupePolicy::Flag, NearDedupePolicy::Reuse,
                               NearDedupePolicy::Reject, NearDedupePolicy::Allow}) {
        EXPECT_EQ(parse_near_dedupe_policy(to_string(p)), p);
    }
    EXPECT_EQ(parse_dedupe_scope("tenant"), DedupeScope::Tenant);
    EXPECT_FALSE(parse_dedupe_policy("flag").has_value());
    EXPECT_FALSE(parse_dedupe_scope("global").has_value());
}

TEST(DedupeKeyTest, ChangesWithTheBytesTheWorkflowAndEachOption) {
    const DedupeOptions base{"standard", 1000, 512, 0};
    const std::string key = dedupe_key("abc", "person", base);
    EXPECT_EQ(key.size(), 64u);
    EXPECT_EQ(key, dedupe_key("abc", "person", base));
    EXPECT_NE(key, dedupe_key("abd", "person", base));
    EXPECT_NE(key, dedupe_key("abc", "building", base));
    EXPECT_NE(key, dedupe_key("abc", "person", {"high", 1000, 512, 0}));
    EXPECT_NE(key, dedupe_key("abc", "person", {"standard", 2000, 512, 0}));
    EXPECT_NE(key, dedupe_key("abc", "person", {"standard", 1000, 680, 0}));
    EXPECT_NE(key, dedupe_key("abc", "person", {"standard", 1000, 512, 1024}));
}

class DedupeStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        db_ = store::Database::open(dir_.file("jobs.db")).value();
        store_ = SqliteJobStore::open(*db_).value();
    }
    Job job(const std::string& id, const std::string& account, const std::string& tenant,
            std::int64_t created_ms, const std::string& key = "K") {
        Job j;
        j.id = id;
        j.account_id = account;
        j.tenant = tenant;
        j.workflow = "person";
        j.tokens = 10;
        j.book_version = "v1";
        j.quote_json = "{}";
        j.format = "png";
        j.created_ms = created_ms;
        j.dedupe_key = key;
        return j;
    }
    void add(const Job& j, JobState state = JobState::Dispatched) {
        ASSERT_TRUE(store_->insert(j).ok());
        if (state != JobState::Admitted) {
            ASSERT_TRUE(store_->transition(j.id, JobState::Dispatched, j).ok());
        }
        if (jobs::is_final(state)) {
            ASSERT_TRUE(store_->transition(j.id, state, j).ok());
        }
    }
    std::vector<std::string> ids(const std::vector<DedupeCandidate>& found) {
        std::vector<std::string> out;
        for (const DedupeCandidate& c : found) out.push_back(c.job_id);
        return out;
    }
    testing::TempDir dir_;
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<SqliteJobStore> store_;
};

TEST_F(DedupeStoreTest, KeyMatchesStayInScopeAndWindowAndSkipFailedAndReused) {
    add(job("job_1", "a", "acme", 100), JobState::Succeeded);
    add(job("job_2", "a", "acme", 200), JobState::Failed);
    add(job("job_3", "b", "acme", 300));
    add(job("job_4", "c", "globex", 400));
    add(job("job_5", "a", "acme", 500, "other"));
    add(job("job_6", "a", "acme", 50));
    Job reused = job("job_7", "a", "acme", 600);
    reused.tokens = 0;
    reused.dedupe_kind = DedupeKind::Exact;
    reused.dedupe_of = "job_1";
    reused.dedupe_reused = true;
    add(reused);

    const DedupeScopeKey account{DedupeScope::Account, "a", "acme"};
    EXPECT_EQ(ids(store_->dedupe_key_matches(account, "K", 100, 16).value()),
              std::vector<std::string>{"job_1"});
    const DedupeScopeKey tenant{DedupeScope::Tenant, "a", "acme"};
    EXPECT_EQ(ids(store_->dedupe_key_matches(tenant, "K", 100, 16).value()),
              (std::vector<std::string>{"job_1", "job_3"}));
    EXPECT_EQ(ids(store_->dedupe_key_matches(tenant, "K", 0, 1).value()),
              std::vector<std::string>{"job_6"});
    EXPECT_TRUE(store_->dedupe_key_matches(tenant, "", 0, 16).value().empty());
}

TEST_F(DedupeStoreTest, RecentInScopeIsNewestFirstAndBounded) {
    for (int i = 0; i < 10; ++i) {
        Job j = job("job_" + std::to_string(i), "a", "acme", 100 + i, "k" + std::to_string(i));
        j.phash = 0xF000000000000000ULL + static_cast<std::uint64_t>(i);
        add(j);
    }
    add(job("job_other", "b", "acme", 500));
    add(job("job_foreign", "c", "globex", 600));
    const DedupeScopeKey account{DedupeScope::Account, "a", "acme"};
    auto recent = store_->recent_in_scope(account, 0, 3).value();
    EXPECT_EQ(ids(recent), (std::vector<std::string>{"job_9", "job_8", "job_7"}));
    ASSERT_TRUE(recent[0].phash.has_value());
    EXPECT_EQ(*recent[0].phash, 0xF000000000000009ULL);  // the top bit survives storage
    const DedupeScopeKey tenant{DedupeScope::Tenant, "a", "acme"};
    EXPECT_EQ(ids(store_->recent_in_scope(tenant, 105, 100).value()),
              (std::vector<std::string>{"job_other", "job_9", "job_8", "job_7", "job_6", "job_5"}));
}

TEST_F(DedupeStoreTest, AttachedListsUnfinishedReusersOnly) {
    add(job("job_1", "a", "", 100));
    for (int i = 0; i < 3; ++i) {
        Job j = job("job_dup" + std::to_string(i), "a", "", 200 + i);
        j.tokens = 0;
        j.dedupe_kind = DedupeKind::Exact;
        j.dedupe_of = "job_1";
        j.dedupe_reused = true;
        add(j, i == 2 ? JobState::Failed : JobState::Dispatched);
    }
    Job flagged = job("job_near", "a", "", 300, "N");
    flagged.dedupe_kind = DedupeKind::Near;
    flagged.dedupe_of = "job_1";
    flagged.dedupe_distance = 3;
    add(flagged);
    auto attached = store_->attached("job_1", 100).value();
    ASSERT_EQ(attached.size(), 2u);
    EXPECT_EQ(attached[0].id, "job_dup0");
    EXPECT_TRUE(attached[0].dedupe_reused);
    EXPECT_EQ(attached[0].dedupe_kind, DedupeKind::Exact);
    EXPECT_EQ(store_->count_attached("job_1").value(), 2);
    auto got = store_->get("job_near").value().value();
    EXPECT_EQ(got.dedupe_kind, DedupeKind::Near);
    EXPECT_EQ(got.dedupe_distance, 3);
    EXPECT_FALSE(got.dedupe_reused);
}

TEST_F(DedupeStoreTest, AFileFromBeforeDedupeGainsItsColumns) {
    store_.reset();
    db_.reset();
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.file("old.db").c_str(), &raw), SQLITE_OK);
    // The jobs table as it was with webhooks and before duplicate detection.
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TABLE jobs (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, "
                           "workflow TEXT NOT NULL, state TEXT NOT NULL, tokens INTEGER NOT NULL, "
                           "book_version TEXT NOT NULL, quote_json TEXT NOT NULL, width INTEGER "
                           "NOT NULL, height INTEGER NOT NULL, format TEXT NOT NULL, md5 TEXT NOT "
                           "NULL, sha256 TEXT NOT NULL, worker TEXT NOT NULL DEFAULT '', "
                           "prompt_id TEXT NOT NULL DEFAULT '', result_path TEXT NOT NULL "
                           "DEFAULT '', failure_reason TEXT NOT NULL DEFAULT '', created_ms "
                           "INTEGER NOT NULL, finished_ms INTEGER NOT NULL DEFAULT 0, "
                           "webhook_url TEXT NOT NULL DEFAULT '') STRICT;"
                           "INSERT INTO jobs(id, account_id, workflow, state, tokens, "
                           "book_version, quote_json, width, height, format, md5, sha256, "
                           "created_ms) VALUES ('job_old', 'a', 'person', 'succeeded', 3, 'v', "
                           "'{}', 1, 1, 'png', 'm', 's', 1);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
    db_ = store::Database::open(dir_.file("old.db")).value();
    auto opened = SqliteJobStore::open(*db_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
    Job old = store_->get("job_old").value().value();
    EXPECT_EQ(old.dedupe_kind, DedupeKind::None);
    EXPECT_FALSE(old.phash.has_value());
    EXPECT_EQ(old.dedupe_key, "");
    // The old job has no key, so nothing matches it; new jobs are found.
    const DedupeScopeKey scope{DedupeScope::Account, "a", ""};
    EXPECT_TRUE(store_->dedupe_key_matches(scope, "K", 0, 16).value().empty());
    add(job("job_new", "a", "", 2), JobState::Succeeded);
    EXPECT_EQ(ids(store_->dedupe_key_matches(scope, "K", 0, 16).value()),
              std::vector<std::string>{"job_new"});
    // The index for the lookup exists.
    bool indexed = false;
    ASSERT_TRUE(store::transact(*db_, [&]() -> core::Status {
                    store::Statement index(*db_,
                                           "SELECT 1 FROM sqlite_master WHERE type = 'index' "
                                           "AND name = 'jobs_by_dedupe_key'");
                    indexed = index.step();
                    return {};
                }).ok());
    EXPECT_TRUE(indexed);
    EXPECT_TRUE(SqliteJobStore::open(*db_).ok());
}

}  // namespace
}  // namespace tollgate::jobs
