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
    QueueChange change;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ || queued_locked() >= capacity_) return false;
        queues_[static_cast<int>(priority)].push_back(Item{std::move(spec), std::move(on_done)});
        change = changed_locked();
    }
    cv_.notify_one();
    tell(std::move(change));
    return true;
}

bool Dispatcher::cancel(const std::string& job_id) {
    Item item;
    QueueChange change;
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
        change = changed_locked();
    }
    tell(std::move(change));
    JobOutcome outcome;
    outcome.kind = JobOutcomeKind::Cancelled;
    outcome.reason = "cancelled: nothing was sent to a worker";
    outcome.worker_url = item.spec.worker_url;
    deliver(item.on_done, std::move(outcome));
    return true;
}

void Dispatcher::stop() {
    std::deque<Item> dropped;
    QueueChange change;
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        for (auto& queue : queues_) {
            for (auto& item : queue) dropped.push_back(std::move(item));
            queue.clear();
        }
        if (!dropped.empty()) change = changed_locked();
    }
    cv_.notify_all();
    tell(std::move(change));
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

std::vector<QueuedPosition> Dispatcher::positions_locked() const {
    std::vector<QueuedPosition> out;
    out.reserve(queued_locked());  // at most capacity_
    for (const auto& queue : queues_) {
        for (const Item& item : queue) out.push_back({item.spec.job_id, out.size()});
    }
    return out;
}

std::vector<QueuedPosition> Dispatcher::positions() const {
    std::lock_guard<std::mutex> lock(mu_);
    return positions_locked();
}

void Dispatcher::set_queue_listener(QueueListener listener) {
    // listener_mu_ first: a call under way ends before the listener is replaced.
    std::lock_guard<std::mutex> told(listener_mu_);
    std::lock_guard<std::mutex> lock(mu_);
    queue_listener_ = std::move(listener);
    listening_ = queue_listener_ != nullptr;
    told_ = changes_;  // the new listener hears of changes from now on
}

Dispatcher::QueueChange Dispatcher::changed_locked() {
    QueueChange change;
    ++changes_;
    if (!listening_) return change;
    change.seq = changes_;
    change.positions = positions_locked();
    return change;
}

void Dispatcher::tell(QueueChange change) {
    if (change.seq == 0) return;
    // One call at a time, in the order of the changes: a thread that was
    // overtaken (its change is older than one told already) skips its own.
    std::lock_guard<std::mutex> lock(listener_mu_);
    if (change.seq <= told_ || !queue_listener_) return;
    told_ = change.seq;
    try {
        queue_listener_(std::move(change.positions));
    } catch (const std::exception& e) {
        spdlog::error("dispatch queue listener threw: {}", e.what());
    } catch (...) {
        spdlog::error("dispatch queue listener threw a non-exception");
    }
}

void Dispatcher::thread_main() {
    for (;;) {
        Item item;
        QueueChange change;
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
            change = changed_locked();
        }
        // Before the job starts, so that no position of it is told after.
        tell(std::move(change));
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
