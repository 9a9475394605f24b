#include "dispatch/prompt_tracker.h"

#include <utility>

namespace tollgate::dispatch {
namespace {

// Only events that can change a prompt's state are worth buffering.
bool relevant(const ComfyEvent& e) {
    using T = ComfyEvent::Type;
    return e.type == T::ExecutionStart || e.type == T::Executing || e.type == T::ExecutionSuccess ||
           e.type == T::ExecutionError || e.type == T::ExecutionInterrupted;
}

}  // namespace

void PromptTracker::on_event(const ComfyEvent& event) {
    if (!relevant(event)) return;
    if (prompt_id_.empty()) {
        if (buffered_.size() >= kBufferedEventsMax) buffered_.erase(buffered_.begin());
        buffered_.push_back(event);
        return;
    }
    apply(event);
}

void PromptTracker::set_prompt_id(std::string prompt_id) {
    TOLLGATE_ASSERT(prompt_id_.empty() && !prompt_id.empty());
    prompt_id_ = std::move(prompt_id);
    std::vector<ComfyEvent> replay = std::move(buffered_);
    buffered_.clear();
    for (const auto& e : replay) apply(e);
}

void PromptTracker::apply(const ComfyEvent& e) {
    using T = ComfyEvent::Type;
    if (finished_) return;
    const bool ours = e.prompt_id == prompt_id_;
    switch (e.type) {
        case T::ExecutionStart:
            if (!ours) return;
            started_ = true;
            if (state_ == State::Waiting) state_ = State::Running;
            start_ms_ = e.timestamp_ms;
            return;
        case T::ExecutionSuccess:
            if (!ours) return;
            started_ = true;
            state_ = State::Succeeded;
            end_ms_ = e.timestamp_ms;
            return;
        case T::ExecutionError:
            if (!ours) return;
            started_ = true;
            state_ = State::Failed;
            end_ms_ = e.timestamp_ms;
            error_message_ = e.error_message;
            return;
        case T::ExecutionInterrupted:
            if (!ours) return;
            started_ = true;
            state_ = State::Interrupted;
            end_ms_ = e.timestamp_ms;
            return;
        case T::Executing:
            if (e.node.has_value()) {
                if (ours) started_ = true;
                return;
            }
            if (ours || (e.prompt_id.empty() && started_)) finished_ = true;
            return;
        default:
            return;
    }
}

}  // namespace tollgate::dispatch
