// Live events of jobs, for GET /v1/jobs/{id}/events (server-sent events).
//
// JobService publishes what happens to a job while this process follows it
// (queued on a worker, running, progress of a node, the final state), and
// every stream subscribed to that job receives it as one SSE message:
//   event: <name>\ndata: <JSON on one line>\n\n
// The final event closes the job's streams and forgets them. Events are not
// stored: a subscriber sees what happens after it subscribed (the API sends
// the job's current state first). Bounded: at most kStreamsPerJobMax streams
// per job and kStreamsMax in all. It also keeps where each job waiting in
// the gateway's dispatch queue stands (set_queue_positions), to tell its
// streams. Thread-safe; plain C++ (no Asio).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/server/server.h"

namespace tollgate::http {

class JobEvents {
  public:
    static constexpr std::size_t kStreamsPerJobMax = 16;
    static constexpr std::size_t kStreamsMax = 10'000;

    // One SSE message.
    static std::string format(std::string_view event, const nlohmann::json& data);

    // The job as it is now: its JSON and whether that state is final; nullopt
    // when the job is gone.
    struct Snapshot {
        nlohmann::json job;
        bool final = false;
    };
    using Reader = std::function<std::optional<Snapshot>()>;

    // Sends the job's current state (from `read`, called under the lock so
    // that no event falls between it and the subscription) as a "state"
    // event, with its "queue_position" while it waits in the dispatch queue,
    // then keeps the stream for what follows, or closes it when that state is
    // final. False (nothing sent or kept) when a limit is reached.
    bool subscribe(const std::string& job_id, std::shared_ptr<ResponseStream> stream,
                   const Reader& read);
    // Sends to the job's streams; `final` also closes them and forgets the job.
    void publish(const std::string& job_id, std::string_view event, const nlohmann::json& data,
                 bool final);
    std::size_t streams() const;

    // The positions of all the jobs waiting in the dispatch queue now (job id
    // -> jobs that run before it), as the dispatcher reports them, in order.
    // Each job whose position is new or changed gets a "state" event
    // {job_id, state: "dispatched", queue_position}; a job not listed has
    // left the queue and its position is forgotten. At most as many jobs as
    // the dispatch queue holds.
    void set_queue_positions(const std::map<std::string, std::size_t>& positions);
    // The job's position in the dispatch queue; nullopt when it is not there.
    std::optional<std::size_t> queue_position(const std::string& job_id) const;

    // Also called with every published event (under the events' lock, so in
    // order; it must be quick and must not publish). Set before any event.
    using Listener = std::function<void(const std::string& job_id, std::string_view event,
                                        const nlohmann::json& data, bool final)>;
    void set_listener(Listener listener);

  private:
    void publish_locked(const std::string& job_id, std::string_view event,
                        const nlohmann::json& data, bool final);

    mutable std::mutex mu_;
    std::map<std::string, std::vector<std::shared_ptr<ResponseStream>>> by_job_;
    std::size_t total_ = 0;
    std::map<std::string, std::size_t> queue_;  // job id -> position in the dispatch queue
    Listener listener_;
};

}  // namespace tollgate::http
