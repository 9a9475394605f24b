#include "http/api/job_events.h"

#include <algorithm>

namespace tollgate::http {
namespace {

// What a job waiting in the dispatch queue hears when its position changes.
nlohmann::json queue_state(const std::string& job_id, std::size_t position) {
    return {{"job_id", job_id}, {"state", "dispatched"}, {"queue_position", position}};
}

}  // namespace

std::string JobEvents::format(std::string_view event, const nlohmann::json& data) {
    std::string out = "event: ";
    out += event;
    out += "\ndata: ";
    out += data.dump();  // one line: dump() without indent escapes every newline
    out += "\n\n";
    return out;
}

bool JobEvents::subscribe(const std::string& job_id, std::shared_ptr<ResponseStream> stream,
                          const Reader& read) {
    std::lock_guard lock(mu_);
    auto it = by_job_.find(job_id);
    if (it != by_job_.end()) {  // forget streams whose clients left
        auto& streams = it->second;
        const auto gone = std::remove_if(streams.begin(), streams.end(),
                                         [](const auto& s) { return !s->is_open(); });
        total_ -= static_cast<std::size_t>(streams.end() - gone);
        streams.erase(gone, streams.end());
        if (streams.empty()) by_job_.erase(it);
    }
    const auto held = by_job_.find(job_id);
    if ((held != by_job_.end() && held->second.size() >= kStreamsPerJobMax) ||
        total_ >= kStreamsMax) {
        return false;
    }
    // Publishers take the lock too, so the state read here and the events
    // after it are in order, with nothing lost or sent twice.
    std::optional<Snapshot> now = read();
    if (!now) {
        stream->close();
        return true;
    }
    if (const auto waiting = queue_.find(job_id); waiting != queue_.end() && !now->final) {
        now->job["queue_position"] = waiting->second;
    }
    stream->send(format("state", now->job));
    if (now->final) {
        stream->close();
        return true;
    }
    by_job_[job_id].push_back(std::move(stream));
    ++total_;
    return true;
}

void JobEvents::publish(const std::string& job_id, std::string_view event,
                        const nlohmann::json& data, bool final) {
    // Sending only queues bytes on each stream, so it happens under the lock:
    // a subscriber's first state and the events after it stay in order.
    std::lock_guard lock(mu_);
    publish_locked(job_id, event, data, final);
}

void JobEvents::publish_locked(const std::string& job_id, std::string_view event,
                               const nlohmann::json& data, bool final) {
    if (final) queue_.erase(job_id);
    if (listener_) listener_(job_id, event, data, final);
    auto it = by_job_.find(job_id);
    if (it == by_job_.end()) return;
    const std::string message = format(event, data);
    for (const auto& stream : it->second) {
        stream->send(message);
        if (final) stream->close();
    }
    if (final) {
        total_ -= it->second.size();
        by_job_.erase(it);
    }
}

std::size_t JobEvents::streams() const {
    std::lock_guard lock(mu_);
    return total_;
}

void JobEvents::set_queue_positions(const std::map<std::string, std::size_t>& positions) {
    std::lock_guard lock(mu_);
    for (const auto& [job_id, position] : positions) {
        const auto was = queue_.find(job_id);
        if (was != queue_.end() && was->second == position) continue;
        publish_locked(job_id, "state", queue_state(job_id, position), false);
    }
    queue_ = positions;
}

std::optional<std::size_t> JobEvents::queue_position(const std::string& job_id) const {
    std::lock_guard lock(mu_);
    const auto it = queue_.find(job_id);
    if (it == queue_.end()) return std::nullopt;
    return it->second;
}

void JobEvents::set_listener(Listener listener) {
    std::lock_guard lock(mu_);
    listener_ = std::move(listener);
}

}  // namespace tollgate::http
