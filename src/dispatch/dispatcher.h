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
// thread. All public methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
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

class Dispatcher {
  public:
    using Runner = std::function<JobOutcome(const JobSpec&, const core::Clock&)>;
    using Callback = std::function<void(JobOutcome)>;

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

    std::size_t queued() const;
    int running() const { return running_.load(); }

  private:
    struct Item {
        JobSpec spec;
        Callback on_done;
    };

    void thread_main();
    std::size_t queued_locked() const;
    static void deliver(const Callback& on_done, JobOutcome outcome);

    const core::Clock& clock_;
    const std::size_t capacity_;
    const Runner runner_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queues_[3];  // indexed by Priority
    bool stopping_ = false;
    std::atomic<int> running_{0};
    std::vector<std::thread> threads_;
};

}  // namespace tollgate::dispatch
