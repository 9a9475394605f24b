#include "dispatch/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "core/assert.h"
#include "core/limits.h"

namespace tollgate::dispatch {

Dispatcher::Dispatcher(int threads, const core::Clock& clock)
    : Dispatcher(threads, clock,
                 static_cast<std::size_t>(threads > 0 ? threads : 1) * kQueuedJobsPerThread,
                 [](const JobSpec& spec, const core::Clock& c) { return run_job(spec, c); }) {}

Dispatcher::Dispatcher(int threads, const core::Clock& clock, std::size_t queue_capacity,
                       Runner runner)
    : clock_(clock), capacity_(queue_capacity), runner_(std::move(runner)) {
    TOLLGATE_ASSERT(threads >= 1 && threads <= core::limits::kDispatchThreadsMax);
    TOLLGATE_ASSERT(queue_capacity >= 1);
    TOLLGATE_ASSERT(runner_ != nullptr);
    threads_.reserve(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { thread_main(); });
}

Dispatcher::~Dispatcher() { stop(); }

bool Dispatcher::submit(JobSpec spec, Callback on_done, Priority priority) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ || queued_locked() >= capacity_) return false;
        queues_[static_cast<int>(priority)].push_back(Item{std::move(spec), std::move(on_done)});
    }
    cv_.notify_one();
    return true;
}

bool Dispatcher::cancel(const std::string& job_id) {
    Item item;
    {
        std::lock_guard<std::mutex> lock(mu_);
        bool found = false;
        for (auto& queue : queues_) {
            auto it = std::find_if(queue.begin(), queue.end(),
                                   [&](const Item& i) { return i.spec.job_id == job_id; });
            if (it == queue.end()) continue;
            item = std::move(*it);
            queue.erase(it);
            found = true;
            break;
        }
        if (!found) return false;
    }
    JobOutcome outcome;
    outcome.kind = JobOutcomeKind::Cancelled;
    outcome.reason = "cancelled: nothing was sent to a worker";
    outcome.worker_url = item.spec.worker_url;
    deliver(item.on_done, std::move(outcome));
    return true;
}

void Dispatcher::stop() {
    std::deque<Item> dropped;
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        for (auto& queue : queues_) {
            for (auto& item : queue) dropped.push_back(std::move(item));
            queue.clear();
        }
    }
    cv_.notify_all();
    for (auto& item : dropped) {
        JobOutcome outcome;
        outcome.kind = JobOutcomeKind::WorkerUnreachable;
        outcome.reason = kReasonDispatcherStopped;
        outcome.worker_url = item.spec.worker_url;
        deliver(item.on_done, std::move(outcome));
    }
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
}

std::size_t Dispatcher::queued_locked() const {
    return queues_[0].size() + queues_[1].size() + queues_[2].size();
}

std::size_t Dispatcher::queued() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queued_locked();
}

void Dispatcher::thread_main() {
    for (;;) {
        Item item;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || queued_locked() > 0; });
            if (stopping_) return;  // stop() hands queued items back itself
            for (auto& queue : queues_) {
                if (queue.empty()) continue;
                item = std::move(queue.front());
                queue.pop_front();
                break;
            }
            ++running_;
        }
        JobOutcome outcome;
        try {
            outcome = runner_(item.spec, clock_);
        } catch (const std::exception& e) {  // run_job never throws; a custom runner might
            outcome.kind = JobOutcomeKind::ProtocolError;
            outcome.reason = std::string("internal_error: ") + e.what();
            outcome.worker_url = item.spec.worker_url;
        }
        // Settle first; the worker-side cleanup the run left (its history
        // delete) is nobody's latency.
        std::function<void()> after_settle = std::move(outcome.after_settle);
        deliver(item.on_done, std::move(outcome));
        if (after_settle) {
            try {
                after_settle();
            } catch (const std::exception& e) {
                spdlog::error("dispatch after_settle threw: {}", e.what());
            }
        }
        --running_;
    }
}

void Dispatcher::deliver(const Callback& on_done, JobOutcome outcome) {
    if (!on_done) return;
    try {
        on_done(std::move(outcome));
    } catch (const std::exception& e) {
        spdlog::error("dispatch on_done threw: {}", e.what());
    } catch (...) {
        spdlog::error("dispatch on_done threw a non-exception");
    }
}

}  // namespace tollgate::dispatch
