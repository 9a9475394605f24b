// One WebSocket per worker, shared by every job tollgate runs there.
//
// ComfyUI sends a prompt's events (execution_start, executing, progress,
// executed, execution_success/error/interrupted) only to the socket whose
// clientId is the prompt's client_id, and its queue "status" to every
// socket. A socket per job therefore makes the worker send each status
// change once per job in flight, and the gateway parse it as often: with
// dozens of jobs on one worker that traffic is quadratic. A WorkerEvents
// keeps one socket to its worker under one client id and hands each event
// carrying a prompt_id to the job that subscribed to that id; events without
// one (status, reconnect-style executing) are dropped, since they cannot be
// told apart.
//
// Early and unknown ids: a job subscribes under the prompt id it proposes
// before it posts the prompt, so events that arrive before POST /prompt has
// answered are routed already. Old servers ignore the proposed id; events
// for ids nobody follows are kept for a while (kUnclaimedEventsMax,
// kUnclaimedAgeMs) so that rekey() to the id the worker returned replays
// them.
//
// Drops: when the socket fails, every subscription is marked broken (its job
// falls back to polling /history and /queue), and the socket reconnects with
// backoff. A job may subscribe again once connected() is true, then look at
// /history once to catch what it missed.
//
// The socket is opened on the first subscribe() and closed after
// kIdleCloseMs without subscriptions. Each WorkerEvents runs one reader
// thread while open. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/result.h"
#include "dispatch/comfy_client.h"
#include "dispatch/comfy_messages.h"

namespace tollgate::dispatch {

class WorkerEvents;

// The events of one prompt, as its worker's socket delivers them. Owned by
// the job following the prompt; destroying it unsubscribes.
class EventSubscription {
  public:
    ~EventSubscription();
    EventSubscription(const EventSubscription&) = delete;
    EventSubscription& operator=(const EventSubscription&) = delete;

    // The next event of the prompt, waiting at most `wait_ms`; nullopt when
    // none came in time. Error "worker_ws_closed" once the socket failed (or
    // this subscription fell behind by kQueuedEventsMax events): the job
    // must poll from then on.
    core::Result<std::optional<ComfyEvent>> next_event(int wait_ms);

    // Follows `prompt_id` instead (the worker chose another id than the one
    // subscribed): events already received for it are replayed first.
    void rekey(const std::string& prompt_id);

    struct State;  // shared with the WorkerEvents; see worker_events.cc

  private:
    friend class WorkerEvents;
    EventSubscription(std::shared_ptr<WorkerEvents> owner, std::shared_ptr<State> state)
        : owner_(std::move(owner)), state_(std::move(state)) {}

    std::shared_ptr<WorkerEvents> owner_;
    std::shared_ptr<State> state_;
};

class WorkerEvents : public std::enable_shared_from_this<WorkerEvents> {
  public:
    // Events a subscription may have waiting before it is marked broken.
    static constexpr std::size_t kQueuedEventsMax = 1'024;
    // Events for ids nobody follows, kept for rekey(), and how long.
    static constexpr std::size_t kUnclaimedEventsMax = 256;
    static constexpr int kUnclaimedAgeMs = 30'000;
    // Subscriptions one worker's socket serves at once.
    static constexpr std::size_t kSubscriptionsMax = 10'000;
    // Connecting (TCP, handshake, first status message) must finish within this.
    static constexpr int kConnectTimeoutMs = 5'000;
    // After a failed connect or a drop, wait this long before the next try,
    // doubling up to the maximum.
    static constexpr int kReconnectDelayMs = 100;
    static constexpr int kReconnectDelayMaxMs = 5'000;
    // The socket closes after this long without subscriptions.
    static constexpr int kIdleCloseMs = 60'000;

    // Use WorkerEventHubs::for_worker(); shared ownership keeps the hub
    // alive while a subscription exists.
    WorkerEvents(WorkerAddress address, std::string client_id);
    ~WorkerEvents();
    WorkerEvents(const WorkerEvents&) = delete;
    WorkerEvents& operator=(const WorkerEvents&) = delete;

    // The client_id to post prompts with, so that their events reach this socket.
    const std::string& client_id() const { return client_id_; }
    bool connected() const;
    // Sockets opened so far (reconnects included), for tests and /admin.
    std::uint64_t connects() const;

    // Subscribes to the events of `prompt_id`, opening the socket first if
    // needed and waiting up to `wait_ms` for it. Errors:
    // "worker_ws_unavailable" (not connected in time, or the last attempt
    // failed and the next is not due yet), "too_many_subscriptions".
    core::Result<std::unique_ptr<EventSubscription>> subscribe(const std::string& prompt_id,
                                                               int wait_ms);

    // Stops the reader thread and breaks every subscription. Idempotent.
    void stop();

  private:
    friend class EventSubscription;
    using StatePtr = std::shared_ptr<EventSubscription::State>;
    struct Unclaimed {
        ComfyEvent event;
        std::int64_t received_us;
    };

    void run();
    void route(ComfyEvent event);
    void break_all(const std::string& why);
    void unsubscribe(const EventSubscription::State* state);
    void rekey(const StatePtr& state, const std::string& prompt_id);
    void drop_stale_unclaimed(std::int64_t now_us);

    const WorkerAddress address_;
    const std::string client_id_;

    mutable std::mutex mu_;
    std::condition_variable cv_;  // the reader waits for work; subscribers for a connect
    bool stopping_ = false;
    bool wanted_ = false;         // a subscriber asked for the socket
    bool connected_ = false;      // the socket is open and has greeted us
    std::uint64_t attempts_ = 0;  // connect attempts finished
    std::uint64_t connects_ = 0;
    std::int64_t next_attempt_us_ = 0;                    // no new attempt before this (backoff)
    std::multimap<std::string, StatePtr> subscriptions_;  // by prompt id
    std::deque<Unclaimed> unclaimed_;
    std::thread reader_;
};

// The WorkerEvents of every worker, created on first use, keyed by base URL.
class WorkerEventHubs {
  public:
    // Distinct workers served; for_worker() of one more is refused.
    static constexpr std::size_t kWorkersMax = 1'024;

    // `client_id` is shared by every worker's socket: "tollgate-<instance>".
    explicit WorkerEventHubs(std::string client_id) : client_id_(std::move(client_id)) {}
    ~WorkerEventHubs();

    // The hub of the worker at `base_url`; errors "invalid_worker_url" and
    // "too_many_workers".
    core::Result<std::shared_ptr<WorkerEvents>> for_worker(const std::string& base_url);
    const std::string& client_id() const { return client_id_; }

  private:
    const std::string client_id_;
    std::mutex mu_;
    std::map<std::string, std::shared_ptr<WorkerEvents>> hubs_;
};

}  // namespace tollgate::dispatch
