// A blocking client for one ComfyUI worker: HTTP calls and the WebSocket that
// reports a prompt's progress.
//
// Every HTTP call takes a kept-alive connection to its worker from a
// process-wide pool (or opens one), runs async Beast operations bounded by a
// deadline on that connection's own io_context, and returns when they
// finish, so a dispatch thread can call it like ordinary blocking code while
// a stalled worker can never hold the thread past the timeout (blocking Asio
// calls ignore SO_RCVTIMEO). A ComfyClient or PromptWatch is used by one
// thread at a time; different objects share only the pool, which is
// thread-safe. No Asio types appear here; the one implementation file holds
// all of Beast.
//
// Error codes every call may return:
//   "worker_unreachable"      resolve or connect failed (or timed out); the request was not sent
//   "worker_timeout"          the request was sent but no complete answer came in time
//   "worker_connection_lost"  the connection broke after the request began
//   "worker_http_error"       an unexpected HTTP status (the message has status and body start)
//   "worker_response_too_large" the answer exceeded its byte limit
//   "comfy_response_invalid"  the answer could not be understood
// plus "prompt_rejected" from queue_prompt().
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/result.h"
#include "dispatch/comfy_messages.h"

namespace tollgate::dispatch {

// Where a worker listens, from a base URL "http://host[:port][/base/path]".
struct WorkerAddress {
    std::string host;       // a name, an IPv4 address, or an IPv6 address without brackets
    std::string port;       // "80" when the URL names none
    std::string base_path;  // "" or "/prefix" without a trailing slash; prepended to every route
    // The Host header value ("host:port", IPv6 in brackets).
    std::string host_header() const;
};

// Parses a worker base URL. Only http:// is supported. Errors: "invalid_worker_url".
core::Result<WorkerAddress> parse_worker_url(std::string_view url);

class ComfyClient {
  public:
    explicit ComfyClient(WorkerAddress address) : address_(std::move(address)) {}

    // Parses `base_url` (see parse_worker_url()).
    static core::Result<ComfyClient> create(std::string_view base_url);

    const WorkerAddress& address() const { return address_; }

    // The time limit of each following call, from connect to the end of the answer.
    // Clamped to [1, kComfyRequestTimeoutMs].
    void set_request_timeout_ms(int timeout_ms);
    int request_timeout_ms() const { return request_timeout_ms_; }

    // POST /upload/image: multipart with image=<bytes as filename>, type=input,
    // subfolder, overwrite=true.
    core::Result<UploadedImage> upload_image(std::string_view bytes, std::string_view filename,
                                             std::string_view subfolder);

    // POST /prompt with {prompt, client_id, prompt_id}. The returned prompt_id is
    // the one to follow (old servers ignore ours). A 400 gives "prompt_rejected"
    // with a summary of error and node_errors.
    core::Result<QueuedPrompt> queue_prompt(const nlohmann::json& graph, std::string_view client_id,
                                            std::string_view prompt_id);

    // GET /history/{prompt_id}: the raw JSON ("{}" until the prompt is finished).
    core::Result<std::string> get_history(std::string_view prompt_id);

    // POST /history {"delete": [prompt_id]}.
    core::Status delete_history(std::string_view prompt_id);

    // POST /queue {"delete": [prompt_id]}: removes it if still pending (not if running).
    core::Status delete_queued(std::string_view prompt_id);

    // POST /interrupt {"prompt_id": ...}: stops that prompt if it is the one
    // running (between nodes). Old servers ignore the id and stop whatever
    // runs, so call it only for a prompt seen running.
    core::Status interrupt(std::string_view prompt_id);

    // GET /view?filename=&subfolder=&type=: the file's bytes, at most kComfyResultBytesMax.
    core::Result<std::string> view(const OutputImage& image);

    // GET /queue and GET /system_stats: the raw JSON.
    core::Result<std::string> get_queue();
    core::Result<std::string> system_stats();

  private:
    WorkerAddress address_;
    int request_timeout_ms_ = core::limits::kComfyRequestTimeoutMs;
};

// The WebSocket ws://host:port/ws?clientId=<client_id> of one job. Connect it
// before queueing the prompt: events are only sent to the socket whose
// clientId matches the prompt's client_id, and nothing is replayed.
class PromptWatch {
  public:
    // With no frame (data or pong) for this long, the socket is declared dead;
    // a ping is sent after half of it.
    static constexpr int kIdleTimeoutMs = 20'000;

    ~PromptWatch();
    PromptWatch(const PromptWatch&) = delete;
    PromptWatch& operator=(const PromptWatch&) = delete;

    // Connects and completes the handshake within `timeout_ms`. Errors:
    // "worker_unreachable", "worker_timeout", "worker_ws_failed" (handshake refused).
    static core::Result<std::unique_ptr<PromptWatch>> connect(const WorkerAddress& address,
                                                              std::string_view client_id,
                                                              int timeout_ms);

    // The next parsed text event, waiting at most `wait_ms`; nullopt when none
    // arrived in time (the read stays pending and the next call continues it).
    // Binary frames and frames that fail to parse are skipped. Errors
    // ("worker_ws_closed") mean the socket is finished; later calls fail too.
    core::Result<std::optional<ComfyEvent>> next_event(int wait_ms);

    // Text frames that failed to parse so far (skipped, for logging).
    int skipped_frames() const { return skipped_frames_; }

  private:
    struct Impl;
    explicit PromptWatch(std::unique_ptr<Impl> impl);

    std::unique_ptr<Impl> impl_;
    int skipped_frames_ = 0;
};

}  // namespace tollgate::dispatch
