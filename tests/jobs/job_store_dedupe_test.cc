// What the JobStore finds for duplicate detection (jobs/dedupe.h), on every
// backend (job_store_fixture.h): jobs with a dedupe key, the latest jobs of
// a scope, and the duplicates attached to a job in flight.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jobs/job_store_fixture.h"

namespace tollgate::jobs {
namespace {

using Ids = std::vector<std::string>;

// ---------------------------------------------------------------------------
// dedupe_key_matches

// Jobs with one key across two tenants, four accounts and every state:
//   acct_a (now of acme): jobs under acme, under no tenant (before it
//     joined) and under globex (before it moved)
//   acct_b of acme, acct_c of globex, acct_d and acct_e of no tenant
class JobStoreKeyMatchTest : public JobStoreTest {
  protected:
    static inline const std::string kKey = std::string(64, 'a');
    static inline const std::string kOtherKey = std::string(64, 'b');

    void SetUp() override {
        JobStoreTest::SetUp();
        if (HasFatalFailure()) return;
        a_old = add(keyed("acct_a", kT + 50), JobState::Succeeded);
        a_done = add(keyed("acct_a", kT + 100), JobState::Succeeded);
        c_done = add(keyed("acct_c", kT + 105, "globex"), JobState::Succeeded);
        b_done = add(keyed("acct_b", kT + 110), JobState::Succeeded);
        a_other_key = add(keyed("acct_a", kT + 120, "acme", kOtherKey), JobState::Succeeded);
        a_no_tenant = add(keyed("acct_a", kT + 130, ""), JobState::Succeeded);
        a_globex = add(keyed("acct_a", kT + 140, "globex"), JobState::Succeeded);
        a_failed = add(keyed("acct_a", kT + 150), JobState::Failed);
        b_failed = add(keyed("acct_b", kT + 160), JobState::Failed);
        a_admitted = add(keyed("acct_a", kT + 200), JobState::Admitted);
        Job reused = make_reused("acct_a", kT + 250, a_done.id);
        reused.dedupe_key = kKey;
        a_reused = add(reused, JobState::Dispatched);
        Job reused_done = make_reused("acct_b", kT + 260, a_done.id);
        reused_done.dedupe_key = kKey;
        b_reused = add(reused_done, JobState::Succeeded);
        // Flagged as near another job, but it did the work: it counts.
        a_dispatched = add(keyed("acct_a", kT + 300), JobState::Dispatched);
        d_done = add(keyed("acct_d", kT + 310, ""), JobState::Succeeded);
        e_done = add(keyed("acct_e", kT + 320, ""), JobState::Succeeded);
        a_no_key = add(keyed("acct_a", kT + 400, "acme", ""), JobState::Succeeded);
    }

    Job keyed(const std::string& account, std::int64_t created_ms,
              const std::string& tenant = "acme", const std::string& key = kKey) {
        Job j = make_job(account, created_ms, tenant);
        j.dedupe_key = key;
        return j;
    }

    const DedupeScopeKey account_a{DedupeScope::Account, "acct_a", "acme"};
    const DedupeScopeKey tenant_a{DedupeScope::Tenant, "acct_a", "acme"};

    Job a_old, a_done, c_done, b_done, a_other_key, a_no_tenant, a_globex, a_failed, b_failed,
        a_admitted, a_reused, b_reused, a_dispatched, d_done, e_done, a_no_key;
};
TOLLGATE_JOB_STORE_BACKENDS(JobStoreKeyMatchTest);

TEST_P(JobStoreKeyMatchTest, AccountScopeIsTheAccountsJobsOfItsTenantOldestFirst) {
    const auto found = key_matches(account_a, kKey, 0);
    EXPECT_EQ(ids(found), (Ids{a_old.id, a_done.id, a_admitted.id, a_dispatched.id}));
    // Every field of a candidate.
    ASSERT_EQ(found.size(), 4u);
    expect_candidate_of(a_old, found[0]);
    expect_candidate_of(a_admitted, found[2]);
    expect_candidate_of(a_dispatched, found[3]);
    // Scope "tenant" for an account without one is the account alone.
    EXPECT_EQ(ids(key_matches({DedupeScope::Account, "acct_a", ""}, kKey, 0)), Ids{a_no_tenant.id});
    EXPECT_EQ(ids(key_matches({DedupeScope::Tenant, "acct_d", ""}, kKey, 0)), Ids{d_done.id});
    EXPECT_EQ(ids(key_matches({DedupeScope::Account, "acct_c", "globex"}, kKey, 0)),
              Ids{c_done.id});
    EXPECT_EQ(ids(key_matches(account_a, kOtherKey, 0)), Ids{a_other_key.id});
}

TEST_P(JobStoreKeyMatchTest, TenantScopeSpansItsAccountsAndNeverAnotherTenant) {
    EXPECT_EQ(ids(key_matches(tenant_a, kKey, 0)),
              (Ids{a_old.id, a_done.id, b_done.id, a_admitted.id, a_dispatched.id}));
    // The same tenant seen from another of its accounts.
    EXPECT_EQ(ids(key_matches({DedupeScope::Tenant, "acct_b", "acme"}, kKey, 0)),
              (Ids{a_old.id, a_done.id, b_done.id, a_admitted.id, a_dispatched.id}));
    // globex: its account's job and acct_a's job from when it was of globex.
    const auto globex = key_matches({DedupeScope::Tenant, "acct_c", "globex"}, kKey, 0);
    EXPECT_EQ(ids(globex), (Ids{c_done.id, a_globex.id}));
    if (globex.size() == 2) expect_candidate_of(a_globex, globex[1]);
    // A tenant nobody has.
    EXPECT_TRUE(key_matches({DedupeScope::Tenant, "acct_a", "initech"}, kKey, 0).empty());
}

TEST_P(JobStoreKeyMatchTest, FailedAndReusedJobsNeverMatch) {
    for (const DedupeScopeKey& scope : {account_a, tenant_a}) {
        for (const DedupeCandidate& c : key_matches(scope, kKey, 0)) {
            EXPECT_NE(c.job_id, a_failed.id);
            EXPECT_NE(c.job_id, b_failed.id);
            EXPECT_NE(c.job_id, a_reused.id);
            EXPECT_NE(c.job_id, b_reused.id);
        }
    }
    // A job that fails later stops matching; one that succeeds still does.
    ASSERT_TRUE(store_->transition(a_admitted.id, JobState::Failed, a_admitted).ok());
    ASSERT_TRUE(store_->transition(a_dispatched.id, JobState::Succeeded, a_dispatched).ok());
    a_dispatched.state = JobState::Succeeded;
    const auto found = key_matches(account_a, kKey, 0);
    EXPECT_EQ(ids(found), (Ids{a_old.id, a_done.id, a_dispatched.id}));
    if (found.size() == 3) expect_candidate_of(a_dispatched, found[2]);
}

TEST_P(JobStoreKeyMatchTest, TheWindowAndTheLimitBoundTheMatches) {
    // The bound is inclusive.
    EXPECT_EQ(ids(key_matches(account_a, kKey, kT + 100)),
              (Ids{a_done.id, a_admitted.id, a_dispatched.id}));
    EXPECT_EQ(ids(key_matches(account_a, kKey, kT + 101)), (Ids{a_admitted.id, a_dispatched.id}));
    EXPECT_EQ(ids(key_matches(tenant_a, kKey, kT + 101)),
              (Ids{b_done.id, a_admitted.id, a_dispatched.id}));
    EXPECT_TRUE(key_matches(tenant_a, kKey, kT + 301).empty());
    // The limit keeps the oldest.
    EXPECT_EQ(ids(key_matches(tenant_a, kKey, 0, 2)), (Ids{a_old.id, a_done.id}));
    EXPECT_EQ(ids(key_matches(tenant_a, kKey, kT + 101, 1)), Ids{b_done.id});
    EXPECT_EQ(ids(key_matches(tenant_a, kKey, 0, 5)),
              (Ids{a_old.id, a_done.id, b_done.id, a_admitted.id, a_dispatched.id}));
    EXPECT_TRUE(key_matches(tenant_a, kKey, 0, 0).empty());
}

TEST_P(JobStoreKeyMatchTest, AnEmptyOrUnknownKeyMatchesNothing) {
    // a_no_key has an empty key and is in scope: it still does not match "".
    for (const DedupeScopeKey& scope : {account_a, tenant_a}) {
        EXPECT_TRUE(key_matches(scope, "", 0).empty());
        EXPECT_TRUE(key_matches(scope, std::string(64, 'c'), 0).empty());
        EXPECT_TRUE(key_matches(scope, kKey.substr(0, 63), 0).empty());
    }
}

// ---------------------------------------------------------------------------
// recent_in_scope

class JobStoreRecentInScopeTest : public JobStoreTest {
  protected:
    void SetUp() override {
        JobStoreTest::SetUp();
        if (HasFatalFailure()) return;
        // acct_a of acme: any state, workflow and key, reused or not.
        const JobState states[] = {JobState::Succeeded,  JobState::Failed,    JobState::Admitted,
                                   JobState::Dispatched, JobState::Succeeded, JobState::Dispatched};
        for (int i = 0; i < 6; ++i) {
            Job j = i == 4 ? make_reused("acct_a", kT + 10 * i, "job_x")
                           : make_job("acct_a", kT + 10 * i);
            if (i == 2) j.workflow = "building";
            if (i == 3) j.phash = std::nullopt;
            a.push_back(add(j, states[i]));
        }
        b = add(make_job("acct_b", kT + 25), JobState::Succeeded);
        c = add(make_job("acct_c", kT + 35, "globex"), JobState::Succeeded);
        d = add(make_job("acct_d", kT + 15, ""), JobState::Succeeded);
        e = add(make_job("acct_e", kT + 16, ""), JobState::Succeeded);
    }

    const DedupeScopeKey account_a{DedupeScope::Account, "acct_a", "acme"};
    const DedupeScopeKey tenant_a{DedupeScope::Tenant, "acct_a", "acme"};
    std::vector<Job> a;
    Job b, c, d, e;
};
TOLLGATE_JOB_STORE_BACKENDS(JobStoreRecentInScopeTest);

TEST_P(JobStoreRecentInScopeTest, AccountScopeIsNewestFirstWhateverTheState) {
    const auto found = recent_in_scope(account_a, 0);
    EXPECT_EQ(ids(found), (Ids{a[5].id, a[4].id, a[3].id, a[2].id, a[1].id, a[0].id}));
    ASSERT_EQ(found.size(), 6u);
    for (int i = 0; i < 6; ++i) expect_candidate_of(a[static_cast<std::size_t>(i)], found[5 - i]);
    EXPECT_EQ(ids(recent_in_scope({DedupeScope::Account, "acct_c", "globex"}, 0)), Ids{c.id});
    EXPECT_TRUE(recent_in_scope({DedupeScope::Account, "acct_nobody", "acme"}, 0).empty());
}

TEST_P(JobStoreRecentInScopeTest, TenantScopeSpansItsAccountsAndNeverAnotherTenant) {
    EXPECT_EQ(ids(recent_in_scope(tenant_a, 0)),
              (Ids{a[5].id, a[4].id, a[3].id, b.id, a[2].id, a[1].id, a[0].id}));
    EXPECT_EQ(ids(recent_in_scope({DedupeScope::Tenant, "acct_c", "globex"}, 0)), Ids{c.id});
    // Without a tenant the scope is the account alone.
    EXPECT_EQ(ids(recent_in_scope({DedupeScope::Tenant, "acct_d", ""}, 0)), Ids{d.id});
    EXPECT_EQ(ids(recent_in_scope({DedupeScope::Account, "acct_e", ""}, 0)), Ids{e.id});
}

TEST_P(JobStoreRecentInScopeTest, TheWindowAndTheLimitKeepTheNewest) {
    // The bound is inclusive.
    EXPECT_EQ(ids(recent_in_scope(account_a, kT + 20)), (Ids{a[5].id, a[4].id, a[3].id, a[2].id}));
    EXPECT_EQ(ids(recent_in_scope(account_a, kT + 21)), (Ids{a[5].id, a[4].id, a[3].id}));
    EXPECT_EQ(ids(recent_in_scope(tenant_a, kT + 25)), (Ids{a[5].id, a[4].id, a[3].id, b.id}));
    EXPECT_TRUE(recent_in_scope(tenant_a, kT + 51).empty());
    EXPECT_EQ(ids(recent_in_scope(account_a, 0, 3)), (Ids{a[5].id, a[4].id, a[3].id}));
    EXPECT_EQ(ids(recent_in_scope(tenant_a, 0, 4)), (Ids{a[5].id, a[4].id, a[3].id, b.id}));
    EXPECT_EQ(ids(recent_in_scope(tenant_a, kT + 25, 1)), Ids{a[5].id});
    EXPECT_TRUE(recent_in_scope(tenant_a, 0, 0).empty());
}

TEST_P(JobStoreRecentInScopeTest, AStateChangeShowsInTheCandidates) {
    ASSERT_TRUE(store_->transition(a[2].id, JobState::Failed, a[2]).ok());
    ASSERT_TRUE(store_->transition(a[5].id, JobState::Succeeded, a[5]).ok());
    a[2].state = JobState::Failed;
    a[5].state = JobState::Succeeded;
    const auto found = recent_in_scope(account_a, kT + 20);
    ASSERT_EQ(ids(found), (Ids{a[5].id, a[4].id, a[3].id, a[2].id}));
    expect_candidate_of(a[5], found[0]);
    expect_candidate_of(a[2], found[3]);
}

// ---------------------------------------------------------------------------
// attached, count_attached

using JobStoreAttachedTest = JobStoreTest;
TOLLGATE_JOB_STORE_BACKENDS(JobStoreAttachedTest);

TEST_P(JobStoreAttachedTest, OnlyUnfinishedReusersOfTheJobOldestFirst) {
    const Job earlier = add(make_job("acct_a", kT), JobState::Dispatched);
    const Job other = add(make_job("acct_a", kT + 1), JobState::Dispatched);
    // Attached: reusers of `earlier` in flight, of this account or another
    // of the tenant, inserted out of creation order.
    const Job r_a = add(make_reused("acct_a", kT + 200, earlier.id), JobState::Dispatched);
    const Job r_b = add(make_reused("acct_b", kT + 150, earlier.id), JobState::Admitted);
    const Job r_a2 = add(make_reused("acct_a", kT + 300, earlier.id), JobState::Dispatched);
    // Not attached: reusers that ended, a near duplicate that did its own
    // work, a reuser of another job.
    add(make_reused("acct_a", kT + 100, earlier.id), JobState::Failed);
    add(make_reused("acct_a", kT + 110, earlier.id), JobState::Succeeded);
    Job near = make_job("acct_a", kT + 120);
    near.dedupe_of = earlier.id;
    add(near, JobState::Dispatched);
    const Job r_other = add(make_reused("acct_a", kT + 130, other.id), JobState::Dispatched);

    const auto found = attached(earlier.id);
    EXPECT_EQ(ids(found), (Ids{r_b.id, r_a.id, r_a2.id}));
    ASSERT_EQ(found.size(), 3u);
    expect_same_job(r_b, found[0]);
    expect_same_job(r_a, found[1]);
    EXPECT_EQ(count_attached(earlier.id), 3);
    EXPECT_EQ(ids(attached(other.id)), Ids{r_other.id});
    EXPECT_EQ(count_attached(other.id), 1);
}

TEST_P(JobStoreAttachedTest, TheLimitKeepsTheOldestAndTheCountIsAll) {
    const Job earlier = add(make_job("acct_a", kT), JobState::Dispatched);
    Ids all;
    for (int i = 0; i < 5; ++i) {
        all.push_back(add(make_reused("acct_a", kT + 50 - i * 10, earlier.id)).id);
    }
    // Created at +50, +40, ... +10: oldest first is the reverse.
    const Ids oldest_first(all.rbegin(), all.rend());
    EXPECT_EQ(ids(attached(earlier.id, 2)), (Ids{oldest_first[0], oldest_first[1]}));
    EXPECT_EQ(ids(attached(earlier.id, 5)), oldest_first);
    EXPECT_EQ(ids(attached(earlier.id, 6)), oldest_first);
    EXPECT_TRUE(attached(earlier.id, 0).empty());
    EXPECT_EQ(count_attached(earlier.id), 5);
}

TEST_P(JobStoreAttachedTest, ASettledDuplicateIsNoLongerAttached) {
    const Job earlier = add(make_job("acct_a", kT), JobState::Dispatched);
    const Job first = add(make_reused("acct_a", kT + 10, earlier.id), JobState::Dispatched);
    const Job second = add(make_reused("acct_b", kT + 20, earlier.id), JobState::Dispatched);
    const Job third = add(make_reused("acct_a", kT + 30, earlier.id), JobState::Admitted);
    EXPECT_EQ(count_attached(earlier.id), 3);

    // The earlier job settles (which does not detach anything by itself),
    // then its duplicates end one by one.
    ASSERT_TRUE(store_->transition(earlier.id, JobState::Succeeded, earlier).ok());
    EXPECT_EQ(count_attached(earlier.id), 3);
    Job end = second;
    end.result_path = earlier.result_path;
    ASSERT_TRUE(store_->transition(second.id, JobState::Succeeded, end).ok());
    EXPECT_EQ(ids(attached(earlier.id)), (Ids{first.id, third.id}));
    EXPECT_EQ(count_attached(earlier.id), 2);
    ASSERT_TRUE(store_->transition(third.id, JobState::Failed, third).ok());
    ASSERT_TRUE(store_->transition(first.id, JobState::Failed, first).ok());
    EXPECT_TRUE(attached(earlier.id).empty());
    EXPECT_EQ(count_attached(earlier.id), 0);
}

TEST_P(JobStoreAttachedTest, NothingIsAttachedToAnUnknownOrUnreusedJob) {
    const Job lone = add(make_job("acct_a", kT), JobState::Dispatched);
    EXPECT_TRUE(attached("job_nope").empty());
    EXPECT_EQ(count_attached("job_nope"), 0);
    EXPECT_TRUE(attached(lone.id).empty());
    EXPECT_EQ(count_attached(lone.id), 0);
    // The default job is flagged near "job_earlier_<n>" without reusing it.
    EXPECT_TRUE(attached(lone.dedupe_of).empty());
    EXPECT_EQ(count_attached(lone.dedupe_of), 0);
}

}  // namespace
}  // namespace tollgate::jobs
