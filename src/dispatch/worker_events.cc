// The reader thread owns the PromptWatch and is the only one to touch it;
// everything else (subscriptions, the unclaimed buffer, the connection
// state) lives under mu_. Each subscription has its own condition variable,
// so an event wakes only the job it is for.
#include "dispatch/worker_events.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/assert.h"

namespace tollgate::dispatch {
namespace {

// How long one read of the socket may block before the reader looks at its
// flags again (a stop, an idle close).
constexpr int kReadSliceMs = 100;
// After the handshake, wait this long for the greeting "status" frame: the
// server registers the socket under its clientId before sending it, so once
// it came, events of prompts posted with that id reach this socket.
constexpr int kGreetingWaitMs = 1'000;

std::int64_t steady_now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

struct EventSubscription::State {
    std::string prompt_id;  // guarded by the owner's mu_
    std::deque<ComfyEvent> events;
    bool broken = false;
    std::string broken_reason;
    std::condition_variable cv;
};

EventSubscription::~EventSubscription() { owner_->unsubscribe(state_.get()); }

core::Result<std::optional<ComfyEvent>> EventSubscription::next_event(int wait_ms) {
    std::unique_lock lock(owner_->mu_);
    state_->cv.wait_for(lock, std::chrono::milliseconds(std::max(wait_ms, 0)),
                        [&] { return !state_->events.empty() || state_->broken; });
    if (!state_->events.empty()) {
        ComfyEvent event = std::move(state_->events.front());
        state_->events.pop_front();
        return std::optional<ComfyEvent>(std::move(event));
    }
    if (state_->broken) return core::make_error("worker_ws_closed", state_->broken_reason);
    return std::optional<ComfyEvent>();
}

void EventSubscription::rekey(const std::string& prompt_id) { owner_->rekey(state_, prompt_id); }

WorkerEvents::WorkerEvents(WorkerAddress address, std::string client_id)
    : address_(std::move(address)), client_id_(std::move(client_id)) {
    reader_ = std::thread([this] { run(); });
}

WorkerEvents::~WorkerEvents() {
    stop();
    TOLLGATE_ASSERT(subscriptions_.empty());  // each subscription holds a reference
}

void WorkerEvents::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (reader_.joinable() && reader_.get_id() != std::this_thread::get_id()) reader_.join();
    std::lock_guard lock(mu_);
    break_all("the gateway is stopping");
}

bool WorkerEvents::connected() const {
    std::lock_guard lock(mu_);
    return connected_;
}

std::uint64_t WorkerEvents::connects() const {
    std::lock_guard lock(mu_);
    return connects_;
}

core::Result<std::unique_ptr<EventSubscription>> WorkerEvents::subscribe(
    const std::string& prompt_id, int wait_ms) {
    TOLLGATE_ASSERT(!prompt_id.empty());
    std::unique_lock lock(mu_);
    if (!connected_ && !stopping_) {
        wanted_ = true;
        cv_.notify_all();
        // Wait for the attempt under way (or the one about to start) to end,
        // unless the last one failed and backoff holds the next one back.
        if (steady_now_us() >= next_attempt_us_) {
            const std::uint64_t attempts_before = attempts_;
            cv_.wait_for(lock, std::chrono::milliseconds(std::max(wait_ms, 0)),
                         [&] { return connected_ || stopping_ || attempts_ > attempts_before; });
        }
    }
    if (!connected_ || stopping_) {
        return core::make_error("worker_ws_unavailable",
                                "no WebSocket to " + address_.host_header() + " at the moment");
    }
    if (subscriptions_.size() >= kSubscriptionsMax) {
        return core::make_error("too_many_subscriptions",
                                "the WebSocket to " + address_.host_header() + " follows " +
                                    std::to_string(kSubscriptionsMax) + " prompts already");
    }
    auto state = std::make_shared<EventSubscription::State>();
    state->prompt_id = prompt_id;
    subscriptions_.emplace(prompt_id, state);
    return std::unique_ptr<EventSubscription>(new EventSubscription(shared_from_this(), state));
}

void WorkerEvents::unsubscribe(const EventSubscription::State* state) {
    std::lock_guard lock(mu_);
    auto [first, last] = subscriptions_.equal_range(state->prompt_id);
    for (auto it = first; it != last; ++it) {
        if (it->second.get() == state) {
            subscriptions_.erase(it);
            return;
        }
    }
}

void WorkerEvents::rekey(const StatePtr& state, const std::string& prompt_id) {
    TOLLGATE_ASSERT(!prompt_id.empty());
    std::lock_guard lock(mu_);
    auto [first, last] = subscriptions_.equal_range(state->prompt_id);
    for (auto it = first; it != last; ++it) {
        if (it->second == state) {
            subscriptions_.erase(it);
            break;
        }
    }
    state->prompt_id = prompt_id;
    state->events.clear();  // anything under the proposed id was not this prompt's
    subscriptions_.emplace(prompt_id, state);
    for (auto it = unclaimed_.begin(); it != unclaimed_.end();) {
        if (it->event.prompt_id == prompt_id) {
            state->events.push_back(std::move(it->event));
            it = unclaimed_.erase(it);
        } else {
            ++it;
        }
    }
    state->cv.notify_all();
}

// Under mu_.
void WorkerEvents::break_all(const std::string& why) {
    for (auto& [id, state] : subscriptions_) {
        if (state->broken) continue;
        state->broken = true;
        state->broken_reason = why;
        state->cv.notify_all();
    }
    // Whatever was unclaimed before a gap cannot be trusted to be complete.
    unclaimed_.clear();
}

// Under mu_.
void WorkerEvents::drop_stale_unclaimed(std::int64_t now_us) {
    const std::int64_t oldest_us = now_us - std::int64_t{kUnclaimedAgeMs} * 1000;
    while (!unclaimed_.empty() && (unclaimed_.size() > kUnclaimedEventsMax ||
                                   unclaimed_.front().received_us < oldest_us)) {
        unclaimed_.pop_front();
    }
}

void WorkerEvents::route(ComfyEvent event) {
    if (event.prompt_id.empty()) return;  // status and the like: nobody's in particular
    std::lock_guard lock(mu_);
    auto [first, last] = subscriptions_.equal_range(event.prompt_id);
    if (first == last) {
        const std::int64_t now_us = steady_now_us();
        unclaimed_.push_back({std::move(event), now_us});
        drop_stale_unclaimed(now_us);
        return;
    }
    for (auto it = first; it != last; ++it) {
        EventSubscription::State& state = *it->second;
        if (state.broken) continue;
        if (state.events.size() >= kQueuedEventsMax) {
            state.broken = true;
            state.broken_reason = "fell " + std::to_string(kQueuedEventsMax) + " events behind";
            state.events.clear();
        } else {
            state.events.push_back(event);
        }
        state.cv.notify_all();
    }
}

void WorkerEvents::run() {
    std::unique_ptr<PromptWatch> watch;
    int delay_ms = kReconnectDelayMs;
    std::int64_t idle_since_us = steady_now_us();
    for (;;) {
        {
            std::unique_lock lock(mu_);
            if (stopping_) break;
            if (!watch) {
                // Sleep until someone wants the socket and backoff allows a try.
                cv_.wait(lock, [&] { return stopping_ || wanted_; });
                if (stopping_) break;
                const std::int64_t wait_us = next_attempt_us_ - steady_now_us();
                if (wait_us > 0) {
                    cv_.wait_for(lock, std::chrono::microseconds(wait_us),
                                 [&] { return stopping_; });
                    continue;
                }
            } else if (subscriptions_.empty()) {
                if (steady_now_us() - idle_since_us >= std::int64_t{kIdleCloseMs} * 1000) {
                    watch.reset();
                    connected_ = false;
                    wanted_ = false;
                    unclaimed_.clear();
                    continue;
                }
            } else {
                idle_since_us = steady_now_us();
            }
        }
        if (!watch) {
            auto opened = PromptWatch::connect(address_, client_id_, kConnectTimeoutMs);
            std::optional<ComfyEvent> greeting;
            if (opened) {
                auto first = (*opened)->next_event(kGreetingWaitMs);
                if (!first) {
                    opened = first.error();
                } else if (first->has_value()) {
                    greeting = std::move(**first);
                }
            }
            {
                std::lock_guard lock(mu_);
                ++attempts_;
                if (opened) {
                    watch = std::move(*opened);
                    connected_ = true;
                    ++connects_;
                    delay_ms = kReconnectDelayMs;
                    idle_since_us = steady_now_us();
                } else {
                    spdlog::warn("worker {}: WebSocket unavailable ({}: {}); jobs poll meanwhile",
                                 address_.host_header(), opened.error().code,
                                 opened.error().message);
                    next_attempt_us_ = steady_now_us() + std::int64_t{delay_ms} * 1000;
                    delay_ms = std::min(delay_ms * 2, kReconnectDelayMaxMs);
                }
            }
            cv_.notify_all();
            if (greeting) route(std::move(*greeting));
            continue;
        }
        auto event = watch->next_event(kReadSliceMs);
        if (!event) {
            spdlog::warn("worker {}: WebSocket lost ({}); reconnecting", address_.host_header(),
                         event.error().message);
            watch.reset();
            std::lock_guard lock(mu_);
            connected_ = false;
            wanted_ = !subscriptions_.empty();  // their jobs may subscribe again
            break_all("the WebSocket to the worker was lost: " + event.error().message);
            next_attempt_us_ = steady_now_us() + std::int64_t{delay_ms} * 1000;
            delay_ms = std::min(delay_ms * 2, kReconnectDelayMaxMs);
            continue;
        }
        if (event->has_value()) route(std::move(**event));
    }
    std::lock_guard lock(mu_);
    connected_ = false;
}

WorkerEventHubs::~WorkerEventHubs() {
    std::lock_guard lock(mu_);
    for (auto& [url, hub] : hubs_) hub->stop();
}

core::Result<std::shared_ptr<WorkerEvents>> WorkerEventHubs::for_worker(
    const std::string& base_url) {
    std::lock_guard lock(mu_);
    if (auto it = hubs_.find(base_url); it != hubs_.end()) return it->second;
    if (hubs_.size() >= kWorkersMax) {
        return core::make_error("too_many_workers", "more than " + std::to_string(kWorkersMax) +
                                                        " workers have WebSockets open");
    }
    auto address = parse_worker_url(base_url);
    if (!address) return address.error();
    auto hub = std::make_shared<WorkerEvents>(std::move(*address), client_id_);
    hubs_.emplace(base_url, hub);
    return hub;
}

}  // namespace tollgate::dispatch
