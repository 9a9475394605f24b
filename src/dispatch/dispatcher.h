// Runs jobs on a fixed pool of dispatch threads, and picks workers.
//
// Dispatcher owns `threads` threads that take JobSpecs from a bounded queue
// with three priorities (a job runs only when no job of a higher priority is
// waiting; FIFO within each) and run them (run_job() by default), then call
// the job's on_done on that same thread. submit() never blocks: a full queue is refused. stop()
// refuses new jobs, lets running jobs finish (their on_done runs as usual),
// hands every still-queued job back through its on_done with kind
// WorkerUnreachable and reason kReasonDispatcherStopped (it was never sent to
// a worker, so the caller can void or requeue it), and joins the threads. So
// every accepted job gets exactly one on_done call. An on_done that throws is
// logged and swallowed. cancel() takes a job that is still queued out of the
// queue and hands it back through its on_done (kind Cancelled) on the calling
// thread. A queue listener (set_queue_listener) hears the position of every
// queued job whenever the queue changes. All public methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "dispatch/run_job.h"

namespace tollgate::dispatch {

inline constexpr const char* kReasonDispatcherStopped =
    "dispatcher_stopped: the job was never sent to a worker";

// High: plans that buy priority (VIP); Low: accounts over their fair use.
enum class Priority { High, Normal, Low };

// Where a queued job stands: `position` jobs run before it (0: it runs next),
// that is every queued job of a higher priority and those ahead of it in its own.
struct QueuedPosition {
    std::string job_id;
    std::size_t position = 0;

    bool operator==(const QueuedPosition&) const = default;
};

class Dispatcher {
  public:
    using Runner = std::function<JobOutcome(const JobSpec&, const core::Clock&)>;
    using Callback = std::function<void(JobOutcome)>;
    // The positions of all the jobs still queued, in the order they will run
    // (at most the queue's capacity of them; empty once the queue is empty).
    using QueueListener = std::function<void(std::vector<QueuedPosition>)>;

    // Queue capacity when none is given: this many jobs per thread.
    static constexpr std::size_t kQueuedJobsPerThread = 4;

    // `threads` must be in [1, kDispatchThreadsMax] (configuration validates it).
    // `clock` must outlive the dispatcher.
    Dispatcher(int threads, const core::Clock& clock);
    // The same with an explicit queue capacity (≥ 1) and job runner (a seam for tests).
    Dispatcher(int threads, const core::Clock& clock, std::size_t queue_capacity, Runner runner);
    ~Dispatcher();  // stop()

    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    // Queues the job. False (and on_done is never called) when the queue is
    // full or the dispatcher is stopped. All priorities share the capacity.
    bool submit(JobSpec spec, Callback on_done, Priority priority = Priority::Normal);

    // When the job is still queued: removes it, calls its on_done with kind
    // Cancelled on this thread, and returns true. False when it is running,
    // finished or unknown (a running job notices JobSpec::cancelled itself).
    bool cancel(const std::string& job_id);

    // See the file comment. Idempotent; must not be called from an on_done.
    void stop();

    // Calls `listener` after every change of the queue (a job submitted, taken
    // to run, cancelled, or handed back by stop()) with the positions of the
    // jobs still queued: on the thread that made the change, outside the
    // queue's lock, one call at a time, never with a list older than one it
    // already got (a change overtaken by a later one is skipped), and before
    // a job taken to run starts or a cancelled job's on_done is called. The
    // listener must be quick and must not call submit(), cancel(), stop() or
    // set_queue_listener(). Replaces the previous listener; an empty one
    // stops the calls, and once this returns no call of the old one is under way.
    void set_queue_listener(QueueListener listener);
    // The positions of the queued jobs now, as the listener gets them.
    std::vector<QueuedPosition> positions() const;

    std::size_t queued() const;
    int running() const { return running_.load(); }

  private:
    struct Item {
        JobSpec spec;
        Callback on_done;
    };

    // What a change of the queue tells the listener; seq 0: nothing.
    struct QueueChange {
        std::uint64_t seq = 0;
        std::vector<QueuedPosition> positions;
    };

    void thread_main();
    std::size_t queued_locked() const;
    std::vector<QueuedPosition> positions_locked() const;
    // Under mu_, after a change: numbers it and lists the positions when
    // someone listens.
    QueueChange changed_locked();
    // Outside mu_: hands `change` to the listener unless a later one was.
    void tell(QueueChange change);
    static void deliver(const Callback& on_done, JobOutcome outcome);

    const core::Clock& clock_;
    const std::size_t capacity_;
    const Runner runner_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queues_[3];  // indexed by Priority
    bool stopping_ = false;
    bool listening_ = false;        // under mu_: whether a queue listener is set
    std::uint64_t changes_ = 0;     // under mu_: changes of the queue so far
    std::mutex listener_mu_;        // never taken while mu_ is held
    QueueListener queue_listener_;  // under listener_mu_
    std::uint64_t told_ = 0;        // under listener_mu_: the last change told
    std::atomic<int> running_{0};
    std::vector<std::thread> threads_;
};

}  // namespace tollgate::dispatch
