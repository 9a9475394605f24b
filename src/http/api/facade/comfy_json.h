// The ComfyUI facade's answers in ComfyUI's own shapes (comfyui/API.md),
// built from tollgate's jobs and the prompt records the facade keeps
// (facade_files.h). Pure functions.
//
// A prompt record is what /prompt stored: {"number", "prompt_id", "prompt"
// (the graph), "extra_data", "outputs_to_execute", "client_id", "workflow",
// "output_node"}. The prompt id a client sees is the job id; its one output is
// the job's result, named "<job id>.png" in /history and /view.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "jobs/job.h"

namespace tollgate::http::facade {

// {"error": {"type", "code", "message", "details", "extra_info": {}},
//  "node_errors": {}}: ComfyUI's error shape, with the gateway's `code` too.
nlohmann::json comfy_error(const std::string& type, const std::string& message,
                           const std::string& details = "");

// [number, prompt_id, graph, extra_data, outputs_to_execute].
nlohmann::json queue_item(const nlohmann::json& record);

// The job's /history entry (succeeded or failed), as ComfyUI writes it.
nlohmann::json history_entry(const nlohmann::json& record, const jobs::Job& job);

// How a prompt that did not succeed ends, as its WebSocket message and its
// history's last status message: ("execution_interrupted", data) when it was
// cancelled, else ("execution_error", data with `reason` as exception_message).
std::pair<const char*, nlohmann::json> failure_message(const std::string& prompt_id, bool cancelled,
                                                       const std::string& node_id,
                                                       const std::string& node_type,
                                                       const std::string& reason,
                                                       std::int64_t at_ms);

// What the job's executed/outputs carry: {"images": [{filename, subfolder, type}]}.
nlohmann::json output_images(const std::string& job_id);

std::string output_filename(const std::string& job_id);
// The job id an output file name belongs to; nullopt for any other name.
std::optional<std::string> job_of_output(std::string_view filename);

}  // namespace tollgate::http::facade
