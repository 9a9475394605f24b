// The JobStore interface on every backend (job_store_fixture.h): what a job
// is stored as, the state machine, the per-account queries, reopening and
// threads. Duplicate detection and idempotency keys have files of their own.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <thread>
#include <vector>

#include "jobs/job_store_fixture.h"

namespace tollgate::jobs {
namespace {

constexpr JobState kStates[] = {JobState::Admitted, JobState::Dispatched, JobState::Succeeded,
                                JobState::Failed};

// ---------------------------------------------------------------------------
// insert and get

using JobStoreRecordTest = JobStoreTest;
TOLLGATE_JOB_STORE_BACKENDS(JobStoreRecordTest);

TEST_P(JobStoreRecordTest, InsertThenGetReturnsEveryField) {
    const Job j = make_job("acct_a", kT);
    ASSERT_TRUE(store_->insert(j).ok());
    auto got = store_->get(j.id);
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_TRUE(got->has_value());
    expect_same_job(j, **got);
}

TEST_P(JobStoreRecordTest, DefaultsAndEmptyStringsSurviveStorage) {
    // Only what a job cannot lack; every string empty, every number 0, no
    // hash, not a duplicate.
    Job j;
    j.id = "job_bare";
    j.account_id = "acct_a";
    j.created_ms = kT;
    ASSERT_TRUE(store_->insert(j).ok());
    expect_same_job(j, get(j.id));
}

TEST_P(JobStoreRecordTest, HashesAtTheEdgesOfSixtyFourBitsSurvive) {
    // 0 is a hash, not "none"; the top bit does not fit a signed integer.
    const std::optional<std::uint64_t> hashes[] = {
        std::nullopt,
        0,
        1,
        0x7FFF'FFFF'FFFF'FFFFULL,
        0x8000'0000'0000'0000ULL,
        0x8000'0000'0000'0001ULL,
        std::numeric_limits<std::uint64_t>::max(),
    };
    std::vector<Job> jobs;
    for (const auto& hash : hashes) {
        Job j = make_job("acct_a", kT + static_cast<std::int64_t>(jobs.size()));
        j.phash = hash;
        ASSERT_TRUE(store_->insert(j).ok());
        jobs.push_back(j);
    }
    for (const Job& j : jobs) EXPECT_EQ(get(j.id).phash, j.phash) << j.id;
    // The candidates carry the same bits.
    auto found = recent_in_scope({DedupeScope::Account, "acct_a", "acme"}, 0);
    ASSERT_EQ(found.size(), jobs.size());
    for (const DedupeCandidate& c : found) {
        auto it =
            std::find_if(jobs.begin(), jobs.end(), [&](const Job& j) { return j.id == c.job_id; });
        ASSERT_NE(it, jobs.end()) << c.job_id;
        EXPECT_EQ(c.phash, it->phash) << c.job_id;
    }
}

TEST_P(JobStoreRecordTest, TextIsKeptByteForByte) {
    Job j = make_job("acct_a", kT);
    j.quote_json =
        std::string("{\"a\":\"\xC3\xA9\xE6\x97\xA5\xF0\x9F\x99\x82\",\"b\":\"\t\r\n\x01\"}") +
        "  trailing spaces  ";
    j.failure_reason = "line one\nline two\ttabbed \"quoted\" \\ back\\slash";
    j.webhook_url = "https://h\xC3\xA9.example/p?q=a b&r={x}";
    j.book_version = " ";
    j.format = "png";
    ASSERT_TRUE(store_->insert(j).ok());
    expect_same_job(j, get(j.id));
}

TEST_P(JobStoreRecordTest, AReusedDuplicateKeepsItsDedupeFields) {
    const Job earlier = add(make_job("acct_a", kT), JobState::Dispatched);
    const Job reused = make_reused("acct_a", kT + 1, earlier.id);
    ASSERT_TRUE(store_->insert(reused).ok());
    expect_same_job(reused, get(reused.id));
    Job unflagged = make_job("acct_a", kT + 2);
    unflagged.dedupe_kind = DedupeKind::None;
    unflagged.dedupe_of = "";
    unflagged.dedupe_distance = 0;
    ASSERT_TRUE(store_->insert(unflagged).ok());
    expect_same_job(unflagged, get(unflagged.id));
}

TEST_P(JobStoreRecordTest, GetOfAnUnknownIdIsNothing) {
    ASSERT_TRUE(store_->insert(make_job("acct_a", kT)).ok());  // job_1
    for (const std::string id : {"job_nope", "job_", "job_10", "job_1 ", ""}) {
        auto got = store_->get(id);
        ASSERT_TRUE(got.ok()) << got.error().message;
        EXPECT_FALSE(got->has_value()) << "'" << id << "'";
    }
}

TEST_P(JobStoreRecordTest, InsertingAnExistingIdFailsAndKeepsTheFirst) {
    const Job first = make_job("acct_a", kT);
    ASSERT_TRUE(store_->insert(first).ok());
    Job second = make_job("acct_b", kT + 5, "globex");
    second.id = first.id;
    EXPECT_FALSE(store_->insert(second).ok());
    expect_same_job(first, get(first.id));
    EXPECT_EQ(recent("acct_b", 0).count, 0);
    EXPECT_EQ(count_unfinished("acct_b"), 0);
    EXPECT_EQ(ids(unfinished()), std::vector<std::string>{first.id});
}

TEST_P(JobStoreRecordTest, JobsSurviveReopeningTheStore) {
    const Job open_job = add(make_job("acct_a", kT), JobState::Dispatched);
    const Job done = add(make_job("acct_b", kT + 1), JobState::Succeeded);
    ASSERT_TRUE(
        store_->insert_idempotency({"acct_a", "key-1", "sha", open_job.id, 202, "{}", kT}).ok());
    ASSERT_NO_FATAL_FAILURE(open());
    expect_same_job(open_job, get(open_job.id));
    expect_same_job(done, get(done.id));
    EXPECT_EQ(ids(unfinished()), std::vector<std::string>{open_job.id});
    EXPECT_EQ(count_unfinished("acct_a"), 1);
    auto key = store_->find_idempotency("acct_a", "key-1");
    ASSERT_TRUE(key.ok()) << key.error().message;
    ASSERT_TRUE(key->has_value());
    EXPECT_EQ((*key)->job_id, open_job.id);
}

// ---------------------------------------------------------------------------
// transition

using JobStoreTransitionTest = JobStoreTest;
TOLLGATE_JOB_STORE_BACKENDS(JobStoreTransitionTest);

// Each legal transition, with an update that changes the fields of the new
// state (as the gateway's updates do) and keeps the others as stored, so
// the test holds whether a store writes all five fields or only the new
// state's.
TEST_P(JobStoreTransitionTest, LegalTransitionsWriteTheNewStatesFields) {
    // admitted -> dispatched: the worker and its prompt.
    Job job = add(make_job("acct_a", kT));
    Job update = job;
    update.worker = "http://10.0.0.9:8188";
    update.prompt_id = "prompt-dispatched";
    ASSERT_TRUE(store_->transition(job.id, JobState::Dispatched, update).ok());
    job.state = JobState::Dispatched;
    job.worker = update.worker;
    job.prompt_id = update.prompt_id;
    expect_same_job(job, get(job.id));

    // dispatched -> succeeded: the result, when, and who made it.
    update = job;
    update.worker = "http://10.0.0.10:8188";
    update.prompt_id = "prompt-succeeded";
    update.result_path = "results/final.webp";
    update.finished_ms = kT + 60'000;
    ASSERT_TRUE(store_->transition(job.id, JobState::Succeeded, update).ok());
    job.state = JobState::Succeeded;
    job.worker = update.worker;
    job.prompt_id = update.prompt_id;
    job.result_path = update.result_path;
    job.finished_ms = update.finished_ms;
    expect_same_job(job, get(job.id));

    // admitted -> failed: why and when.
    Job refused = add(make_job("acct_a", kT + 1));
    update = refused;
    update.failure_reason = "cancelled: by the client";
    update.finished_ms = kT + 2;
    ASSERT_TRUE(store_->transition(refused.id, JobState::Failed, update).ok());
    refused.state = JobState::Failed;
    refused.failure_reason = update.failure_reason;
    refused.finished_ms = update.finished_ms;
    expect_same_job(refused, get(refused.id));
    EXPECT_TRUE(get(refused.id).cancelled());

    // dispatched -> failed: why, when, and the worker that failed it.
    Job lost = add(make_job("acct_a", kT + 3), JobState::Dispatched);
    update = lost;
    update.worker = "http://10.0.0.11:8188";
    update.prompt_id = "prompt-lost";
    update.failure_reason = "worker lost";
    update.finished_ms = kT + 90'000;
    ASSERT_TRUE(store_->transition(lost.id, JobState::Failed, update).ok());
    lost.state = JobState::Failed;
    lost.worker = update.worker;
    lost.prompt_id = update.prompt_id;
    lost.failure_reason = update.failure_reason;
    lost.finished_ms = update.finished_ms;
    expect_same_job(lost, get(lost.id));
}

// Nothing but the state and the five fields of the update is written: the
// quote, the owner, the creation time and the dedupe record stay.
TEST_P(JobStoreTransitionTest, TransitionWritesNothingElseOfTheUpdate) {
    const Job job = add(make_job("acct_a", kT));
    Job update = make_job("acct_b", kT + 777, "globex");
    update.id = "job_other";
    update.dedupe_kind = DedupeKind::Exact;
    update.dedupe_of = "job_somewhere";
    update.dedupe_distance = 0;
    update.dedupe_reused = true;
    update.phash = std::nullopt;
    update.state = JobState::Succeeded;
    update.result_path = job.result_path;
    update.failure_reason = job.failure_reason;
    update.finished_ms = job.finished_ms;
    ASSERT_TRUE(store_->transition(job.id, JobState::Dispatched, update).ok());
    Job want = job;
    want.state = JobState::Dispatched;
    want.worker = update.worker;
    want.prompt_id = update.prompt_id;
    expect_same_job(want, get(job.id));
    auto other = store_->get("job_other");
    ASSERT_TRUE(other.ok());
    EXPECT_FALSE(other->has_value());
    EXPECT_EQ(count_unfinished("acct_a"), 1);
    EXPECT_EQ(count_unfinished("acct_b"), 0);
    EXPECT_EQ(recent("acct_b", 0).count, 0);
}

// All sixteen (from, to) pairs: a legal one moves the job, an illegal one is
// "illegal_transition" and leaves every field as it was.
TEST_P(JobStoreTransitionTest, EveryPairFollowsTheStateMachine) {
    std::int64_t created = kT;
    for (JobState from : kStates) {
        for (JobState to : kStates) {
            SCOPED_TRACE(std::string(to_string(from)) + " -> " + std::string(to_string(to)));
            const Job before = add(make_job("acct_a", ++created), from);
            ASSERT_EQ(get(before.id).state, from);
            Job update = before;
            update.worker = "w-new";
            update.prompt_id = "p-new";
            update.result_path = "r-new";
            update.failure_reason = "f-new";
            update.finished_ms = before.finished_ms + 1;
            core::Status s = store_->transition(before.id, to, update);
            if (can_transition(from, to)) {
                EXPECT_TRUE(s.ok()) << s.error().message;
                EXPECT_EQ(to_string(get(before.id).state), to_string(to));
            } else {
                ASSERT_FALSE(s.ok());
                EXPECT_EQ(s.error().code, "illegal_transition");
                expect_same_job(before, get(before.id));
            }
        }
    }
}

TEST_P(JobStoreTransitionTest, AFinalJobStaysFinal) {
    const Job done = add(make_job("acct_a", kT), JobState::Succeeded);
    Job update = done;
    update.failure_reason = "late failure";
    update.finished_ms = done.finished_ms + 5;
    for (JobState to : kStates) {
        core::Status s = store_->transition(done.id, to, update);
        ASSERT_FALSE(s.ok()) << to_string(to);
        EXPECT_EQ(s.error().code, "illegal_transition");
    }
    expect_same_job(done, get(done.id));
    EXPECT_EQ(count_unfinished("acct_a"), 0);
    EXPECT_TRUE(unfinished().empty());
}

TEST_P(JobStoreTransitionTest, TransitionOfAnUnknownJobIsAnErrorAndCreatesNothing) {
    Job update = make_job("acct_a", kT);
    update.id = "job_ghost";
    for (JobState to : kStates) {
        core::Status s = store_->transition("job_ghost", to, update);
        ASSERT_FALSE(s.ok()) << to_string(to);
        EXPECT_EQ(s.error().code, "unknown_job") << to_string(to);
    }
    auto got = store_->get("job_ghost");
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value());
    EXPECT_TRUE(unfinished().empty());
    EXPECT_EQ(count_unfinished("acct_a"), 0);
    EXPECT_EQ(recent("acct_a", 0).count, 0);
}

// ---------------------------------------------------------------------------
// unfinished, recent, count_unfinished, set_prompt

using JobStoreQueryTest = JobStoreTest;
TOLLGATE_JOB_STORE_BACKENDS(JobStoreQueryTest);

TEST_P(JobStoreQueryTest, UnfinishedHoldsOnlyAdmittedAndDispatchedJobsOldestFirst) {
    EXPECT_TRUE(unfinished().empty());
    // Inserted out of creation order.
    const Job d = add(make_job("acct_a", kT + 40), JobState::Dispatched);
    const Job a = add(make_job("acct_a", kT + 10), JobState::Admitted);
    add(make_job("acct_a", kT + 20), JobState::Succeeded);
    add(make_job("acct_a", kT + 5), JobState::Failed);
    const Job a2 = add(make_job("acct_a", kT + 30), JobState::Admitted);
    std::vector<Job> open = unfinished();
    EXPECT_EQ(ids(open), (std::vector<std::string>{a.id, a2.id, d.id}));
    // Whole jobs, as get() returns them.
    if (open.size() == 3) {
        expect_same_job(a, open[0]);
        expect_same_job(a2, open[1]);
        expect_same_job(d, open[2]);
    }

    // A job that ends leaves it, either way.
    Job update = d;
    update.result_path = "results/d.webp";
    ASSERT_TRUE(store_->transition(d.id, JobState::Succeeded, update).ok());
    EXPECT_EQ(ids(unfinished()), (std::vector<std::string>{a.id, a2.id}));
    ASSERT_TRUE(store_->transition(a.id, JobState::Failed, a).ok());
    EXPECT_EQ(ids(unfinished()), std::vector<std::string>{a2.id});
    // One dispatched stays in it.
    ASSERT_TRUE(store_->transition(a2.id, JobState::Dispatched, a2).ok());
    open = unfinished();
    ASSERT_EQ(ids(open), std::vector<std::string>{a2.id});
    EXPECT_EQ(open[0].state, JobState::Dispatched);
}

// The order across accounts: SQLite sorts by creation time alone.
TEST_P(JobStoreQueryTest, UnfinishedIsOldestFirstAcrossAccounts) {
    const char* accounts[] = {"acct_a", "acct_b", "acct_c", "acct_d", "acct_e"};
    std::map<std::int64_t, std::string> by_time;
    // Creation times interleave the accounts; insertion goes account by account.
    for (int k = 0; k < 5; ++k) {
        for (int i = 0; i < 4; ++i) {
            const std::int64_t created = kT + 100 * i + 7 * ((k * 3) % 5);
            Job j = make_job(accounts[k], created, k % 2 == 0 ? "acme" : "");
            add(j, i % 2 == 0 ? JobState::Admitted : JobState::Dispatched);
            by_time[created] = j.id;
        }
        add(make_job(accounts[k], kT + 1 + k), JobState::Failed);
    }
    ASSERT_EQ(by_time.size(), 20u);
    std::vector<std::string> want;
    for (const auto& [created, id] : by_time) want.push_back(id);
    EXPECT_EQ(ids(unfinished()), want);
}

TEST_P(JobStoreQueryTest, RecentCountsTheAccountsJobsSinceTheBound) {
    add(make_job("acct_a", kT + 1000), JobState::Admitted);
    add(make_job("acct_a", kT + 2000), JobState::Failed);
    add(make_job("acct_a", kT + 3000), JobState::Succeeded);
    add(make_job("acct_a", kT + 4000), JobState::Dispatched);
    add(make_job("acct_b", kT + 500), JobState::Admitted);
    add(make_job("acct_b", kT + 2500, "globex"), JobState::Succeeded);

    auto expect_recent = [&](const std::string& account, std::int64_t since, std::int64_t count,
                             std::int64_t oldest) {
        SCOPED_TRACE(account + " since " + std::to_string(since - kT));
        const JobStore::RecentJobs r = recent(account, since);
        EXPECT_EQ(r.count, count);
        EXPECT_EQ(r.oldest_ms, oldest);
    };
    expect_recent("acct_a", 0, 4, kT + 1000);
    expect_recent("acct_a", kT + 2000, 3, kT + 2000);  // the bound is inclusive
    expect_recent("acct_a", kT + 2001, 2, kT + 3000);
    expect_recent("acct_a", kT + 4000, 1, kT + 4000);
    expect_recent("acct_a", kT + 4001, 0, 0);
    expect_recent("acct_b", 0, 2, kT + 500);
    expect_recent("acct_b", kT + 501, 1, kT + 2500);
    expect_recent("acct_nobody", 0, 0, 0);
}

TEST_P(JobStoreQueryTest, CountUnfinishedIsPerAccount) {
    add(make_job("acct_a", kT + 1), JobState::Admitted);
    const Job a2 = add(make_job("acct_a", kT + 2), JobState::Admitted);
    const Job a3 = add(make_job("acct_a", kT + 3), JobState::Dispatched);
    add(make_job("acct_a", kT + 4), JobState::Succeeded);
    add(make_job("acct_a", kT + 5), JobState::Failed);
    add(make_job("acct_b", kT + 6, "globex"), JobState::Dispatched);
    add(make_job("acct_c", kT + 7), JobState::Failed);
    EXPECT_EQ(count_unfinished("acct_a"), 3);
    EXPECT_EQ(count_unfinished("acct_b"), 1);
    EXPECT_EQ(count_unfinished("acct_c"), 0);
    EXPECT_EQ(count_unfinished("acct_nobody"), 0);

    ASSERT_TRUE(store_->transition(a2.id, JobState::Failed, a2).ok());
    EXPECT_EQ(count_unfinished("acct_a"), 2);
    ASSERT_TRUE(store_->transition(a3.id, JobState::Succeeded, a3).ok());
    EXPECT_EQ(count_unfinished("acct_a"), 1);
    EXPECT_EQ(count_unfinished("acct_b"), 1);
}

TEST_P(JobStoreQueryTest, SetPromptUpdatesOnlyUnfinishedJobs) {
    Job admitted = add(make_job("acct_a", kT + 1), JobState::Admitted);
    Job dispatched = add(make_job("acct_a", kT + 2), JobState::Dispatched);
    const Job succeeded = add(make_job("acct_a", kT + 3), JobState::Succeeded);
    const Job failed = add(make_job("acct_a", kT + 4), JobState::Failed);

    ASSERT_TRUE(store_->set_prompt(admitted.id, "http://w1:8188", "prompt-w1").ok());
    admitted.worker = "http://w1:8188";
    admitted.prompt_id = "prompt-w1";
    expect_same_job(admitted, get(admitted.id));

    ASSERT_TRUE(store_->set_prompt(dispatched.id, "http://w2:8188", "prompt-w2").ok());
    dispatched.worker = "http://w2:8188";
    dispatched.prompt_id = "prompt-w2";
    expect_same_job(dispatched, get(dispatched.id));

    // A job that ended keeps the worker it ended with (whatever the status:
    // the interface leaves it open).
    (void)store_->set_prompt(succeeded.id, "http://late:8188", "prompt-late");
    (void)store_->set_prompt(failed.id, "http://late:8188", "prompt-late");
    expect_same_job(succeeded, get(succeeded.id));
    expect_same_job(failed, get(failed.id));

    // An unknown job is not created.
    (void)store_->set_prompt("job_ghost", "http://late:8188", "prompt-late");
    auto ghost = store_->get("job_ghost");
    ASSERT_TRUE(ghost.ok());
    EXPECT_FALSE(ghost->has_value());
    EXPECT_EQ(ids(unfinished()), (std::vector<std::string>{admitted.id, dispatched.id}));
}

// ---------------------------------------------------------------------------
// threads

using JobStoreConcurrencyTest = JobStoreTest;
TOLLGATE_JOB_STORE_BACKENDS(JobStoreConcurrencyTest);

// 8 threads admit, dispatch, settle and fail distinct jobs of 4 accounts at
// once; afterwards every count is exact and every job is where its thread
// left it.
TEST_P(JobStoreConcurrencyTest, ThreadsOnDistinctJobsLeaveExactCounts) {
    constexpr int kThreads = 8;
    constexpr int kJobsPerThread = 30;
    const std::string accounts[] = {"acct_0", "acct_1", "acct_2", "acct_3"};
    // Prepared here: make_job is not thread-safe.
    std::vector<std::vector<Job>> work(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kJobsPerThread; ++i) {
            Job j = make_job(accounts[(t + i) % 4], kT + 1000 * t + i, t % 2 == 0 ? "acme" : "");
            j.id = "job_t" + std::to_string(t) + "_" + std::to_string(i);
            work[t].push_back(j);
        }
    }
    // Where job i ends: admitted, dispatched, succeeded, failed from
    // admitted, failed from dispatched.
    auto end_of = [](int i) { return i % 5; };
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kJobsPerThread; ++i) {
                const Job& j = work[t][i];
                if (!store_->insert(j).ok()) ++errors;
                const int end = end_of(i);
                if (end == 1 || end == 2 || end == 4) {
                    if (!store_->transition(j.id, JobState::Dispatched, j).ok()) ++errors;
                    if (!store_->set_prompt(j.id, "w" + std::to_string(t), j.id).ok()) ++errors;
                }
                if (end == 2 && !store_->transition(j.id, JobState::Succeeded, j).ok()) ++errors;
                if ((end == 3 || end == 4) && !store_->transition(j.id, JobState::Failed, j).ok())
                    ++errors;
                // A second settlement always loses.
                if (end >= 2) {
                    core::Status again = store_->transition(j.id, JobState::Failed, j);
                    if (again.ok() || again.error().code != "illegal_transition") ++errors;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);

    std::map<std::string, std::int64_t> total, open, oldest;
    std::vector<std::string> want_unfinished;
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kJobsPerThread; ++i) {
            const Job& j = work[t][i];
            ++total[j.account_id];
            if (!oldest.count(j.account_id) || j.created_ms < oldest[j.account_id])
                oldest[j.account_id] = j.created_ms;
            const int end = end_of(i);
            const JobState want = end == 0   ? JobState::Admitted
                                  : end == 1 ? JobState::Dispatched
                                  : end == 2 ? JobState::Succeeded
                                             : JobState::Failed;
            if (!is_final(want)) {
                ++open[j.account_id];
                want_unfinished.push_back(j.id);
            }
            const Job got = get(j.id);
            EXPECT_EQ(to_string(got.state), to_string(want)) << j.id;
            if (end == 1) {
                EXPECT_EQ(got.worker, "w" + std::to_string(t)) << j.id;
            }
        }
    }
    for (const std::string& account : accounts) {
        SCOPED_TRACE(account);
        EXPECT_EQ(count_unfinished(account), open[account]);
        const JobStore::RecentJobs r = recent(account, 0);
        EXPECT_EQ(r.count, total[account]);
        EXPECT_EQ(r.oldest_ms, oldest[account]);
    }
    std::vector<std::string> got_unfinished = ids(unfinished());
    std::sort(got_unfinished.begin(), got_unfinished.end());
    std::sort(want_unfinished.begin(), want_unfinished.end());
    EXPECT_EQ(got_unfinished, want_unfinished);
}

// Threads racing to settle the same job: exactly one wins, the others are
// "illegal_transition", and the job holds the winner's fields.
TEST_P(JobStoreConcurrencyTest, RacingSettlementsOfOneJobHaveOneWinner) {
    constexpr int kThreads = 8;
    constexpr int kRounds = 20;
    for (int round = 0; round < kRounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const Job job = add(make_job("acct_a", kT + round), JobState::Dispatched);
        std::vector<Job> updates;
        for (int t = 0; t < kThreads; ++t) {
            Job u = job;
            u.worker = "w" + std::to_string(t);
            u.prompt_id = "p" + std::to_string(t);
            u.result_path = "results/" + std::to_string(t) + ".webp";
            u.failure_reason = "lost " + std::to_string(t);
            u.finished_ms = job.finished_ms + t;
            updates.push_back(u);
        }
        std::atomic<int> won{0}, lost{0}, winner{-1};
        std::atomic<bool> go{false};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                while (!go.load()) std::this_thread::yield();
                const JobState to = t % 2 == 0 ? JobState::Succeeded : JobState::Failed;
                core::Status s = store_->transition(job.id, to, updates[t]);
                if (s.ok()) {
                    ++won;
                    winner = t;
                } else if (s.error().code == "illegal_transition") {
                    ++lost;
                }
            });
        }
        go = true;
        for (auto& th : threads) th.join();
        ASSERT_EQ(won.load(), 1);
        EXPECT_EQ(lost.load(), kThreads - 1);
        const int t = winner.load();
        const Job got = get(job.id);
        EXPECT_EQ(to_string(got.state),
                  to_string(t % 2 == 0 ? JobState::Succeeded : JobState::Failed));
        EXPECT_EQ(got.worker, updates[t].worker);
        EXPECT_EQ(got.finished_ms, updates[t].finished_ms);
    }
    EXPECT_TRUE(unfinished().empty());
    EXPECT_EQ(count_unfinished("acct_a"), 0);
}

}  // namespace
}  // namespace tollgate::jobs
