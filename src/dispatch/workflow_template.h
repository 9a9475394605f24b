// A ComfyUI workflow in API format, validated once at load, filled per job.
//
// Owns the shape rules tollgate relies on: the file is a JSON object of nodes
// keyed by node id; every node has a string `class_type` and an object
// `inputs`; there is exactly one LoadImage node (where the job's uploaded
// image goes) and at least one SaveImage node (where the result comes from);
// every link ["<node id>", <slot>] points at a node that exists. A template
// is immutable after load, so any thread may call fill() concurrently.
// Pure: no network, no Asio.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::dispatch {

// A template file larger than this is rejected (real ones are a few KB).
inline constexpr std::size_t kWorkflowTemplateBytesMax = 1024 * 1024;

class WorkflowTemplate {
  public:
    // Reads and validates `path`. Errors: "invalid_workflow_template" (unreadable file, bad
    // JSON, or a shape problem); the message names the file and the problem.
    static core::Result<WorkflowTemplate> load(const std::string& path);

    // Validates `text`; `source_name` (usually the path) only appears in error messages.
    static core::Result<WorkflowTemplate> from_json_text(std::string_view text,
                                                         std::string_view source_name);

    // A copy of the graph with LoadImage.inputs.image = image_ref and every
    // SaveImage.inputs.filename_prefix = filename_prefix. Everything else is unchanged.
    nlohmann::json fill(const std::string& image_ref, const std::string& filename_prefix) const;

    const std::string& source_name() const { return source_name_; }
    const nlohmann::json& graph() const { return graph_; }
    const std::string& load_image_node_id() const { return load_image_node_id_; }
    // SaveImage node ids in ascending node-id order ("2" before "10").
    const std::vector<std::string>& save_image_node_ids() const { return save_image_node_ids_; }

  private:
    WorkflowTemplate() = default;

    std::string source_name_;
    nlohmann::json graph_;
    std::string load_image_node_id_;
    std::vector<std::string> save_image_node_ids_;
};

// Orders node ids as ComfyUI users expect: numeric ids by value ("2" < "10"),
// then any non-numeric ids lexicographically.
bool node_id_less(const std::string& a, const std::string& b);

}  // namespace tollgate::dispatch
