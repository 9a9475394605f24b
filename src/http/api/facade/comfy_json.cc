#include "http/api/facade/comfy_json.h"

#include <algorithm>

namespace tollgate::http::facade {
namespace {

constexpr std::string_view kOutputSuffix = ".png";

nlohmann::json message(const char* event, const nlohmann::json& data) {
    return nlohmann::json::array({event, data});
}

}  // namespace

nlohmann::json comfy_error(const std::string& type, const std::string& message,
                           const std::string& details) {
    return {{"error",
             {{"type", type},
              {"code", type},
              {"message", message},
              {"details", details},
              {"extra_info", nlohmann::json::object()}}},
            {"node_errors", nlohmann::json::object()}};
}

nlohmann::json queue_item(const nlohmann::json& record) {
    return nlohmann::json::array({record.value("number", 0), record.value("prompt_id", ""),
                                  record.value("prompt", nlohmann::json::object()),
                                  record.value("extra_data", nlohmann::json::object()),
                                  record.value("outputs_to_execute", nlohmann::json::array())});
}

std::pair<const char*, nlohmann::json> failure_message(const std::string& prompt_id, bool cancelled,
                                                       const std::string& node_id,
                                                       const std::string& node_type,
                                                       const std::string& reason,
                                                       std::int64_t at_ms) {
    nlohmann::json data = {{"prompt_id", prompt_id},
                           {"node_id", node_id},
                           {"node_type", node_type},
                           {"executed", nlohmann::json::array()},
                           {"timestamp", at_ms}};
    if (cancelled) return {"execution_interrupted", std::move(data)};
    data["exception_message"] = reason;
    data["exception_type"] = "tollgate.JobFailed";
    data["traceback"] = nlohmann::json::array();
    data["current_inputs"] = nlohmann::json::object();
    data["current_outputs"] = nlohmann::json::array();
    return {"execution_error", std::move(data)};
}

nlohmann::json output_images(const std::string& job_id) {
    return {{"images", nlohmann::json::array({{{"filename", output_filename(job_id)},
                                               {"subfolder", ""},
                                               {"type", "output"}}})}};
}

nlohmann::json history_entry(const nlohmann::json& record, const jobs::Job& job) {
    const std::string& id = job.id;
    const std::string node = record.value("output_node", "");
    const bool succeeded = job.state == jobs::JobState::Succeeded;
    nlohmann::json messages = nlohmann::json::array();
    messages.push_back(
        message("execution_start", {{"prompt_id", id}, {"timestamp", job.created_ms}}));
    nlohmann::json outputs = nlohmann::json::object();
    nlohmann::json meta = nlohmann::json::object();
    if (succeeded) {
        outputs[node] = output_images(id);
        meta[node] = {{"node_id", node},
                      {"display_node", node},
                      {"parent_node", nullptr},
                      {"real_node_id", node}};
        messages.push_back(
            message("execution_success", {{"prompt_id", id}, {"timestamp", job.finished_ms}}));
    } else {
        auto [event, data] = failure_message(id, job.cancelled(), node, "SaveImage",
                                             job.failure_reason, job.finished_ms);
        messages.push_back(message(event, data));
    }
    return {{"prompt", queue_item(record)},
            {"outputs", outputs},
            {"status",
             {{"status_str", succeeded ? "success" : "error"},
              {"completed", succeeded},
              {"messages", messages}}},
            {"meta", meta}};
}

std::string output_filename(const std::string& job_id) {
    return job_id + std::string(kOutputSuffix);
}

std::optional<std::string> job_of_output(std::string_view filename) {
    if (filename.size() <= kOutputSuffix.size() || !filename.ends_with(kOutputSuffix)) {
        return std::nullopt;
    }
    const std::string_view id = filename.substr(0, filename.size() - kOutputSuffix.size());
    if (id.size() > 100 || !id.starts_with("job_")) return std::nullopt;
    const bool plain = std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
    if (!plain) return std::nullopt;
    return std::string(id);
}

}  // namespace tollgate::http::facade
