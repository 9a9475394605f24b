// Follows one prompt through the WebSocket events of a worker.
//
// Events can arrive before POST /prompt has answered with the prompt id, and
// old servers ignore the id we propose, so the tracker buffers events (a
// bounded number) until set_prompt_id() names the id the worker returned,
// then replays them. Events for other prompt ids are ignored. The prompt is
// finished when "executing" arrives with node null for it; execution_error or
// execution_interrupted come just before that. A reconnect-style "executing"
// without a prompt_id counts only once this prompt has started, because our
// client_id is private to one job. Pure and single-threaded: owned by the
// thread running the job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dispatch/comfy_messages.h"

namespace tollgate::dispatch {

class PromptTracker {
  public:
    // Events buffered before the prompt id is known; older ones are dropped.
    static constexpr std::size_t kBufferedEventsMax = 256;

    enum class State { Waiting, Running, Succeeded, Failed, Interrupted };

    void on_event(const ComfyEvent& event);
    // Sets the id to follow and replays the buffered events. Call once.
    void set_prompt_id(std::string prompt_id);

    const std::string& prompt_id() const { return prompt_id_; }
    // "executing" with node null seen for this prompt.
    bool finished() const { return finished_; }
    // Waiting/Running until an execution_success/error/interrupted event.
    State state() const { return state_; }
    std::int64_t execution_start_ms() const { return start_ms_; }  // 0 if unknown
    std::int64_t execution_end_ms() const { return end_ms_; }      // 0 if unknown
    const std::string& error_message() const { return error_message_; }

  private:
    void apply(const ComfyEvent& event);

    std::string prompt_id_;
    std::vector<ComfyEvent> buffered_;
    bool finished_ = false;
    bool started_ = false;
    State state_ = State::Waiting;
    std::int64_t start_ms_ = 0;
    std::int64_t end_ms_ = 0;
    std::string error_message_;
};

}  // namespace tollgate::dispatch
