#include "dispatch/dispatcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

namespace tollgate::dispatch {
namespace {

// A runner that blocks every job until released, so tests control timing
// without sleeping.
class Gate {
  public:
    JobOutcome run(const JobSpec& spec) {
        std::unique_lock<std::mutex> lock(mu_);
        ++started_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return open_; });
        JobOutcome out;
        out.kind = JobOutcomeKind::Succeeded;
        out.worker_url = spec.worker_url;
        out.prompt_id = spec.job_id;
        return out;
    }
    void wait_started(int n) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return started_ >= n; });
    }
    void open() {
        std::lock_guard<std::mutex> lock(mu_);
        open_ = true;
        cv_.notify_all();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    int started_ = 0;
    bool open_ = false;
};

struct Results {
    std::mutex mu;
    std::vector<JobOutcome> outcomes;
    void add(JobOutcome o) {
        std::lock_guard<std::mutex> lock(mu);
        outcomes.push_back(std::move(o));
    }
};

JobSpec spec(const std::string& id) {
    JobSpec s;
    s.job_id = id;
    s.worker_url = "http://w:1";
    return s;
}

TEST(DispatcherTest, RunsJobsAndRefusesWhenTheQueueIsFull) {
    Gate gate;
    Results results;
    {
        Dispatcher d(1, core::SystemClock::instance(), 2,
                     [&](const JobSpec& s, const core::Clock&) { return gate.run(s); });
        auto done = [&](JobOutcome o) { results.add(std::move(o)); };
        ASSERT_TRUE(d.submit(spec("a"), done));
        gate.wait_started(1);  // "a" is running, the queue is empty
        EXPECT_TRUE(d.submit(spec("b"), done));
        EXPECT_TRUE(d.submit(spec("c"), done));
        EXPECT_FALSE(d.submit(spec("d"), done));  // capacity 2
        EXPECT_EQ(d.queued(), 2u);
        gate.open();
        d.stop();
    }
    // "a" finished normally; "b" and "c" may have run or been handed back, but
    // every accepted job got exactly one outcome.
    ASSERT_EQ(results.outcomes.size(), 3u);
    std::set<std::string> ids;
    for (const auto& o : results.outcomes) {
        if (o.kind == JobOutcomeKind::Succeeded) ids.insert(o.prompt_id);
    }
    EXPECT_TRUE(ids.count("a"));
}

TEST(DispatcherTest, StopHandsQueuedJobsBackAndFinishesRunningOnes) {
    Gate gate;
    Results results;
    Dispatcher d(1, core::SystemClock::instance(), 8,
                 [&](const JobSpec& s, const core::Clock&) { return gate.run(s); });
    auto done = [&](JobOutcome o) { results.add(std::move(o)); };
    ASSERT_TRUE(d.submit(spec("running"), done));
    gate.wait_started(1);
    ASSERT_TRUE(d.submit(spec("queued"), done));
    std::thread stopper([&] { d.stop(); });
    // stop() hands the queued job back before it joins the running one.
    for (;;) {
        std::lock_guard<std::mutex> lock(results.mu);
        if (!results.outcomes.empty()) break;
    }
    {
        std::lock_guard<std::mutex> lock(results.mu);
        ASSERT_EQ(results.outcomes.size(), 1u);
        EXPECT_EQ(results.outcomes[0].kind, JobOutcomeKind::WorkerUnreachable);
        EXPECT_EQ(results.outcomes[0].reason, kReasonDispatcherStopped);
    }
    EXPECT_FALSE(d.submit(spec("late"), done));
    gate.open();
    stopper.join();
    ASSERT_EQ(results.outcomes.size(), 2u);
    EXPECT_EQ(results.outcomes[1].kind, JobOutcomeKind::Succeeded);
    EXPECT_EQ(results.outcomes[1].prompt_id, "running");
}

TEST(DispatcherTest, EachPriorityRunsOnlyWhenNoHigherOneWaits) {
    Gate gate;
    std::mutex mu;
    std::vector<std::string> order;
    Results results;
    {
        Dispatcher d(1, core::SystemClock::instance(), 4,
                     [&](const JobSpec& s, const core::Clock&) {
                         {
                             std::lock_guard<std::mutex> lock(mu);
                             order.push_back(s.job_id);
                         }
                         return gate.run(s);
                     });
        auto done = [&](JobOutcome o) { results.add(std::move(o)); };
        ASSERT_TRUE(d.submit(spec("first"), done));
        gate.wait_started(1);
        ASSERT_TRUE(d.submit(spec("low-1"), done, Priority::Low));
        ASSERT_TRUE(d.submit(spec("normal-1"), done));
        ASSERT_TRUE(d.submit(spec("low-2"), done, Priority::Low));
        ASSERT_TRUE(d.submit(spec("vip"), done, Priority::High));
        EXPECT_FALSE(d.submit(spec("over"), done, Priority::High));  // all share capacity 4
        EXPECT_EQ(d.queued(), 4u);
        gate.open();
        gate.wait_started(5);
        d.stop();
    }
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(order, (std::vector<std::string>{"first", "vip", "normal-1", "low-1", "low-2"}));
}

TEST(DispatcherTest, CancelTakesAQueuedJobOutAndHandsItBackOnce) {
    Gate gate;
    Results results;
    std::vector<std::string> ran;
    std::mutex mu;
    {
        Dispatcher d(1, core::SystemClock::instance(), 4,
                     [&](const JobSpec& s, const core::Clock&) {
                         {
                             std::lock_guard<std::mutex> lock(mu);
                             ran.push_back(s.job_id);
                         }
                         return gate.run(s);
                     });
        auto done = [&](JobOutcome o) { results.add(std::move(o)); };
        ASSERT_TRUE(d.submit(spec("running"), done));
        gate.wait_started(1);
        ASSERT_TRUE(d.submit(spec("queued"), done, Priority::Low));
        EXPECT_FALSE(d.cancel("running"));  // running: the job's own flag stops it
        EXPECT_FALSE(d.cancel("unknown"));
        EXPECT_TRUE(d.cancel("queued"));
        EXPECT_FALSE(d.cancel("queued"));  // once
        EXPECT_EQ(d.queued(), 0u);
        {
            std::lock_guard<std::mutex> lock(results.mu);
            ASSERT_EQ(results.outcomes.size(), 1u);
            EXPECT_EQ(results.outcomes[0].kind, JobOutcomeKind::Cancelled);
        }
        gate.open();
        d.stop();
    }
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(ran, std::vector<std::string>{"running"});
    EXPECT_EQ(results.outcomes.size(), 2u);
}

TEST(DispatcherTest, RunsJobsInParallel) {
    Gate gate;
    Results results;
    Dispatcher d(3, core::SystemClock::instance(), 8,
                 [&](const JobSpec& s, const core::Clock&) { return gate.run(s); });
    for (const char* id : {"a", "b", "c"}) {
        ASSERT_TRUE(d.submit(spec(id), [&](JobOutcome o) { results.add(std::move(o)); }));
    }
    gate.wait_started(3);  // would hang with fewer than 3 threads
    EXPECT_EQ(d.running(), 3);
    gate.open();
    d.stop();
    EXPECT_EQ(results.outcomes.size(), 3u);
}

TEST(DispatcherTest, WorkLeftForAfterSettlementRunsAfterTheCallback) {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> order;
    auto note = [&](const std::string& what) {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(what);
        cv.notify_all();
    };
    Dispatcher d(1, core::SystemClock::instance(), 8, [&](const JobSpec& s, const core::Clock&) {
        JobOutcome o;
        o.kind = JobOutcomeKind::Succeeded;
        o.prompt_id = s.job_id;
        o.after_settle = [&note] { note("after_settle"); };
        return o;
    });
    ASSERT_TRUE(d.submit(spec("a"), [&](JobOutcome o) {
        // The callback gets the outcome without the deferred work in it.
        EXPECT_FALSE(o.after_settle);
        note("settled");
    }));
    {
        std::unique_lock<std::mutex> lock(mu);
        // Bounded: without after_settle being run, this fails instead of hanging.
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return order.size() >= 2; });
    }
    d.stop();
    EXPECT_EQ(order, (std::vector<std::string>{"settled", "after_settle"}));
}

TEST(DispatcherTest, ThrowingCallbackDoesNotKillTheThread) {
    Results results;
    Dispatcher d(1, core::SystemClock::instance(), 8, [](const JobSpec& s, const core::Clock&) {
        JobOutcome o;
        o.kind = JobOutcomeKind::Succeeded;
        o.prompt_id = s.job_id;
        return o;
    });
    ASSERT_TRUE(d.submit(spec("a"), [](JobOutcome) { throw std::runtime_error("boom"); }));
    std::mutex mu;
    std::condition_variable cv;
    bool second = false;
    ASSERT_TRUE(d.submit(spec("b"), [&](JobOutcome) {
        std::lock_guard<std::mutex> lock(mu);
        second = true;
        cv.notify_all();
    }));
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return second; });
    EXPECT_TRUE(second);
}

}  // namespace
}  // namespace tollgate::dispatch
