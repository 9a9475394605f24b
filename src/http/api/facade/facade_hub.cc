#include "http/api/facade/facade_hub.h"

#include "http/api/facade/comfy_json.h"

namespace tollgate::http::facade {
namespace {

nlohmann::json typed(const char* type, nlohmann::json data) {
    return {{"type", type}, {"data", std::move(data)}};
}

}  // namespace

FacadeHub::FacadeHub(JobReader read_job, const core::Clock& clock)
    : read_job_(std::move(read_job)), clock_(clock) {}

nlohmann::json FacadeHub::status_locked(const std::string& account_id) const {
    std::int64_t remaining = 0;
    for (const auto& [id, t] : jobs_) remaining += t.account_id == account_id ? 1 : 0;
    return {{"status", {{"exec_info", {{"queue_remaining", remaining}}}}}};
}

bool FacadeHub::open(const std::shared_ptr<WsSession>& session, const std::string& account_id,
                     const std::string& client_id) {
    std::lock_guard lock(mu_);
    const SocketKey key{account_id, client_id};
    if (sockets_.size() >= kSocketsMax && sockets_.find(key) == sockets_.end()) return false;
    sockets_[key] = session;
    nlohmann::json data = status_locked(account_id);
    data["sid"] = client_id;
    session->send_text(typed("status", std::move(data)).dump());
    return true;
}

void FacadeHub::close(const std::shared_ptr<WsSession>& session) {
    std::lock_guard lock(mu_);
    std::erase_if(sockets_, [&](const auto& entry) { return entry.second == session; });
}

void FacadeHub::send_locked(const Tracked& t, const nlohmann::json& message) {
    const auto it = sockets_.find({t.account_id, t.client_id});
    if (it == sockets_.end()) return;
    if (!it->second->send_text(message.dump())) sockets_.erase(it);
}

void FacadeHub::track(const std::string& job_id, const std::string& account_id,
                      const std::string& client_id, const std::string& output_node) {
    {
        std::lock_guard lock(mu_);
        if (jobs_.size() >= kTrackedJobsMax) return;
        jobs_[job_id] = Tracked{account_id, client_id, output_node, "", false};
        const Tracked& t = jobs_[job_id];
        send_locked(t, typed("status", status_locked(account_id)));
    }
    // The job may have ended before it was tracked (a reused duplicate, or a
    // very quick failure): its final event then went unheard.
    std::optional<jobs::Job> job = read_job_(job_id);
    if (!job || !jobs::is_final(job->state)) return;
    const std::string state =
        job->cancelled() ? "cancelled" : std::string(jobs::to_string(job->state));
    std::lock_guard lock(mu_);
    finish_locked(job_id, state, job->finished_ms, job->failure_reason);
}

void FacadeHub::on_event(const std::string& job_id, std::string_view event,
                         const nlohmann::json& data, bool final) {
    std::lock_guard lock(mu_);
    if (final) {
        finish_locked(job_id, data.value("state", ""), data.value("finished_ms", std::int64_t{0}),
                      data.value("failure_reason", ""));
        return;
    }
    const auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;
    Tracked& t = it->second;
    const std::string state = data.value("state", "");
    if (event == "state" && state == "queued") {
        send_locked(t, typed("status", status_locked(t.account_id)));
    } else if (event == "state" && state == "running" && !t.started) {
        t.started = true;
        const std::int64_t now_ms = clock_.now_ms();
        send_locked(t, typed("execution_start", {{"prompt_id", job_id}, {"timestamp", now_ms}}));
        send_locked(t, typed("execution_cached", {{"nodes", nlohmann::json::array()},
                                                  {"prompt_id", job_id},
                                                  {"timestamp", now_ms}}));
    } else if (event == "progress") {
        const std::string node = data.value("node", "");
        if (!node.empty() && node != t.last_node) {
            t.last_node = node;
            send_locked(t, typed("executing",
                                 {{"node", node}, {"display_node", node}, {"prompt_id", job_id}}));
        }
        if (data.contains("value") && data.contains("max")) {
            send_locked(t, typed("progress", {{"value", data["value"]},
                                              {"max", data["max"]},
                                              {"prompt_id", job_id},
                                              {"node", node}}));
        }
    }
}

void FacadeHub::finish_locked(const std::string& job_id, const std::string& state,
                              std::int64_t finished_ms, const std::string& failure_reason) {
    const auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;  // already finished
    const Tracked t = it->second;
    jobs_.erase(it);
    const std::int64_t at_ms = finished_ms;
    if (!t.started) {
        send_locked(t, typed("execution_start", {{"prompt_id", job_id}, {"timestamp", at_ms}}));
    }
    if (state == "succeeded") {
        send_locked(t, typed("executed", {{"node", t.output_node},
                                          {"display_node", t.output_node},
                                          {"output", output_images(job_id)},
                                          {"prompt_id", job_id}}));
        send_locked(t, typed("execution_success", {{"prompt_id", job_id}, {"timestamp", at_ms}}));
    } else {
        auto [event, data] =
            failure_message(job_id, state == "cancelled", t.last_node, "", failure_reason, at_ms);
        send_locked(t, typed(event, std::move(data)));
    }
    send_locked(t, typed("status", status_locked(t.account_id)));
    send_locked(t, typed("executing", {{"node", nullptr}, {"prompt_id", job_id}}));
}

std::size_t FacadeHub::sockets() const {
    std::lock_guard lock(mu_);
    return sockets_.size();
}

std::size_t FacadeHub::tracked() const {
    std::lock_guard lock(mu_);
    return jobs_.size();
}

}  // namespace tollgate::http::facade
