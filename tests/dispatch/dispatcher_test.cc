#include "dispatch/dispatcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

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

// A runner that lets jobs finish one at a time.
class Turnstile {
  public:
    JobOutcome run(const JobSpec& spec) {
        std::unique_lock<std::mutex> lock(mu_);
        ++started_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return open_ || permits_ > 0; });
        if (!open_) --permits_;
        JobOutcome out;
        out.kind = JobOutcomeKind::Succeeded;
        out.prompt_id = spec.job_id;
        return out;
    }
    void wait_started(int n) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return started_ >= n; });
    }
    void let_one_through() {
        std::lock_guard<std::mutex> lock(mu_);
        ++permits_;
        cv_.notify_all();
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
    int permits_ = 0;
    bool open_ = false;
};

// Every list the queue listener got, in order.
struct Heard {
    std::mutex mu;
    std::vector<std::vector<QueuedPosition>> lists;
    void add(std::vector<QueuedPosition> list) {
        std::lock_guard<std::mutex> lock(mu);
        lists.push_back(std::move(list));
    }
    std::vector<QueuedPosition> last() {
        std::lock_guard<std::mutex> lock(mu);
        return lists.empty() ? std::vector<QueuedPosition>{} : lists.back();
    }
    std::size_t count() {
        std::lock_guard<std::mutex> lock(mu);
        return lists.size();
    }
};

using Positions = std::vector<QueuedPosition>;

TEST(DispatcherTest, QueueListenerHearsPositionsByPriorityThenArrival) {
    Turnstile turnstile;
    Heard heard;
    Results results;
    Dispatcher d(1, core::SystemClock::instance(), 8,
                 [&](const JobSpec& s, const core::Clock&) { return turnstile.run(s); });
    d.set_queue_listener([&](Positions list) {
        // Called outside the dispatcher's lock: asking it something does not deadlock.
        (void)d.queued();
        heard.add(std::move(list));
    });
    Positions when_cancelled_was_done;
    auto done = [&](JobOutcome o) {
        if (o.kind == JobOutcomeKind::Cancelled) when_cancelled_was_done = heard.last();
        results.add(std::move(o));
    };
    ASSERT_TRUE(d.submit(spec("first"), done));
    turnstile.wait_started(1);  // taken to run: told before it started
    EXPECT_EQ(heard.last(), Positions{});
    // Its submit's list [first 0] unless the take overtook it.
    const std::size_t told = heard.count();
    EXPECT_TRUE(told == 1 || told == 2) << told;

    ASSERT_TRUE(d.submit(spec("low-1"), done, Priority::Low));
    EXPECT_EQ(heard.last(), (Positions{{"low-1", 0}}));
    ASSERT_TRUE(d.submit(spec("normal-1"), done));
    EXPECT_EQ(heard.last(), (Positions{{"normal-1", 0}, {"low-1", 1}}));
    ASSERT_TRUE(d.submit(spec("low-2"), done, Priority::Low));
    ASSERT_TRUE(d.submit(spec("vip"), done, Priority::High));  // everyone moves back
    EXPECT_EQ(heard.last(), (Positions{{"vip", 0}, {"normal-1", 1}, {"low-1", 2}, {"low-2", 3}}));
    ASSERT_TRUE(d.submit(spec("normal-2"), done));
    const Positions five{{"vip", 0}, {"normal-1", 1}, {"normal-2", 2}, {"low-1", 3}, {"low-2", 4}};
    EXPECT_EQ(heard.last(), five);
    EXPECT_EQ(d.positions(), five);
    EXPECT_EQ(heard.count(), told + 5);  // one list per change

    EXPECT_FALSE(d.cancel("first"));  // running: no change, nothing told
    EXPECT_EQ(heard.count(), told + 5);
    ASSERT_TRUE(d.cancel("normal-1"));
    const Positions after_cancel{{"vip", 0}, {"normal-2", 1}, {"low-1", 2}, {"low-2", 3}};
    EXPECT_EQ(heard.last(), after_cancel);
    EXPECT_EQ(when_cancelled_was_done, after_cancel);  // told before its on_done

    turnstile.let_one_through();  // "first" ends; "vip" is taken
    turnstile.wait_started(2);
    EXPECT_EQ(heard.last(), (Positions{{"normal-2", 0}, {"low-1", 1}, {"low-2", 2}}));
    EXPECT_EQ(d.positions(), heard.last());

    // stop() hands the queued jobs back (and says the queue is empty) before
    // it waits for "vip".
    std::thread stopper([&] { d.stop(); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (heard.count() < told + 8 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    EXPECT_EQ(heard.last(), Positions{});
    turnstile.open();
    stopper.join();
    EXPECT_EQ(heard.count(), told + 8);
    EXPECT_EQ(results.outcomes.size(), 6u);
}

TEST(DispatcherTest, QueueListenerCanBeRemovedAndMayThrow) {
    Gate gate;
    Heard heard;
    Dispatcher d(1, core::SystemClock::instance(), 8,
                 [&](const JobSpec& s, const core::Clock&) { return gate.run(s); });
    d.set_queue_listener([](Positions) { throw std::runtime_error("boom"); });
    ASSERT_TRUE(d.submit(spec("a"), nullptr));  // the throw is logged and swallowed
    gate.wait_started(1);
    d.set_queue_listener([&](Positions list) { heard.add(std::move(list)); });
    ASSERT_TRUE(d.submit(spec("b"), nullptr));
    EXPECT_EQ(heard.last(), (Positions{{"b", 0}}));
    d.set_queue_listener(nullptr);
    ASSERT_TRUE(d.submit(spec("c"), nullptr));
    ASSERT_TRUE(d.cancel("b"));
    EXPECT_EQ(heard.count(), 1u);
    gate.open();
    d.stop();
}

// Many threads changing the queue at once: each list is whole (positions
// 0..n-1) and no list names a job after it started to run.
TEST(DispatcherTest, QueueListenerNeverNamesAJobThatStarted) {
    std::mutex mu;
    std::set<std::string> started;
    std::vector<std::string> stale;
    std::size_t lists = 0;
    Results results;
    {
        Dispatcher d(4, core::SystemClock::instance(), 16,
                     [&](const JobSpec& s, const core::Clock&) {
                         {
                             std::lock_guard<std::mutex> lock(mu);
                             started.insert(s.job_id);
                         }
                         JobOutcome o;
                         o.kind = JobOutcomeKind::Succeeded;
                         return o;
                     });
        d.set_queue_listener([&](Positions list) {
            std::lock_guard<std::mutex> lock(mu);
            ++lists;
            for (std::size_t i = 0; i < list.size(); ++i) {
                EXPECT_EQ(list[i].position, i);
                if (started.count(list[i].job_id)) stale.push_back(list[i].job_id);
            }
        });
        std::vector<std::thread> submitters;
        for (int t = 0; t < 3; ++t) {
            submitters.emplace_back([&, t] {
                for (int i = 0; i < 300; ++i) {
                    const std::string id = std::to_string(t) + "-" + std::to_string(i);
                    const auto priority = static_cast<Priority>(i % 3);
                    while (!d.submit(
                        spec(id), [&](JobOutcome o) { results.add(std::move(o)); }, priority)) {
                        std::this_thread::yield();  // full: wait for room
                    }
                    if (i % 7 == 0) (void)d.cancel(id);
                }
            });
        }
        for (auto& t : submitters) t.join();
        d.stop();
    }
    EXPECT_EQ(results.outcomes.size(), 900u);
    EXPECT_GT(lists, 0u);
    EXPECT_TRUE(stale.empty()) << stale.size() << " lists named a started job, first "
                               << stale.front();
}

}  // namespace
}  // namespace tollgate::dispatch
