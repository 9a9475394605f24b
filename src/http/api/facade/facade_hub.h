// The ComfyUI facade's WebSockets (/ws?clientId=...): each account's sockets
// by client id, and the facade's jobs in flight, so that a job's events reach
// the socket of the account and client_id that queued it, and no other, as
// ComfyUI's own routing does (comfyui/API.md, Who receives what).
//
// JobService's events (job_events.h) become ComfyUI's messages:
//   queued            -> status
//   running           -> execution_start, execution_cached (no nodes)
//   progress of node  -> executing (once per node), progress (with steps)
//   succeeded         -> executed (the output node, the result image),
//                        execution_success, status, executing null
//   failed/cancelled  -> execution_error or execution_interrupted, status,
//                        executing null
// The final messages are sent once per job, whether the final event or
// track()'s own look at the stored job comes first. Bounded: kSocketsMax sockets,
// kTrackedJobsMax jobs. Thread-safe; plain C++ (sockets behind WsSession).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "http/server/server.h"
#include "jobs/job.h"

namespace tollgate::http::facade {

class FacadeHub {
  public:
    static constexpr std::size_t kSocketsMax = 10'000;
    static constexpr std::size_t kTrackedJobsMax = 100'000;

    // Reads a job as stored now (nullopt when it cannot).
    using JobReader = std::function<std::optional<jobs::Job>(const std::string& job_id)>;
    FacadeHub(JobReader read_job, const core::Clock& clock);

    // A socket of `account_id` under `client_id` opened: it gets
    // {"type":"status","data":{"status":{...},"sid":client_id}}. A second
    // socket with the same ids replaces the first, as in ComfyUI. False when
    // kSocketsMax are open.
    bool open(const std::shared_ptr<WsSession>& session, const std::string& account_id,
              const std::string& client_id);
    void close(const std::shared_ptr<WsSession>& session);

    // A prompt was queued: follow job `job_id` for the socket
    // (account_id, client_id); `output_node` is the graph's SaveImage. When
    // the job has already ended, its final messages go out now.
    void track(const std::string& job_id, const std::string& account_id,
               const std::string& client_id, const std::string& output_node);

    // JobEvents' listener.
    void on_event(const std::string& job_id, std::string_view event, const nlohmann::json& data,
                  bool final);

    std::size_t sockets() const;
    std::size_t tracked() const;

  private:
    struct Tracked {
        std::string account_id;
        std::string client_id;
        std::string output_node;
        std::string last_node;
        bool started = false;
    };
    using SocketKey = std::pair<std::string, std::string>;  // account, client id

    void send_locked(const Tracked& t, const nlohmann::json& message);
    nlohmann::json status_locked(const std::string& account_id) const;
    // state: "succeeded", "failed" or "cancelled".
    void finish_locked(const std::string& job_id, const std::string& state,
                       std::int64_t finished_ms, const std::string& failure_reason);

    JobReader read_job_;
    const core::Clock& clock_;
    mutable std::mutex mu_;
    std::map<SocketKey, std::shared_ptr<WsSession>> sockets_;
    std::map<std::string, Tracked> jobs_;
};

}  // namespace tollgate::http::facade
