// A ComfyUI workflow in API format, validated once at load, filled per job.
//
// Owns the shape rules tollgate relies on: the file is a JSON object of nodes
// keyed by node id; every node has a string `class_type` and an object
// `inputs`; there is exactly one LoadImage node (where the job's uploaded
// image goes) and at least one SaveImage node (where the result comes from);
// every link ["<node id>", <slot>] points at a node that exists; and every
// parameter binding names a known job parameter and a literal number input
// of an existing node. A template is immutable after load, so any thread may
// call fill() concurrently. Pure: no network, no Asio.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::dispatch {

// A template file larger than this is rejected (real ones are a few KB).
inline constexpr std::size_t kWorkflowTemplateBytesMax = 1024 * 1024;
// A template may bind at most this many inputs to job parameters.
inline constexpr std::size_t kParamBindingsMax = 32;

// The job parameters a template can bind.
inline constexpr const char* kParamModelInputSize = "model_input_size";  // INT
inline constexpr const char* kParamUpscaleFactor = "upscale_factor";     // FLOAT
inline constexpr const char* kParamTileSize = "tile_size";               // INT

// One job parameter written into one node input: param -> node_id.input.
struct ParamBinding {
    std::string param;
    std::string node_id;
    std::string input;
};

// Per-job values. An empty value leaves the template's own value in place.
struct JobParams {
    std::optional<std::int64_t> model_input_size;
    std::optional<double> upscale_factor;
    std::optional<std::int64_t> tile_size;
};

// Parses a config binding such as ("model_input_size", "2.model_input_size"):
// `target` is "<node id>.<input name>", split at the first '.'. Errors:
// "invalid_param_binding" for an unknown parameter name or a malformed target.
core::Result<ParamBinding> parse_param_binding(std::string_view param, std::string_view target);

class WorkflowTemplate {
  public:
    // Reads and validates `path`. Errors: "invalid_workflow_template" (unreadable file, bad
    // JSON, or a shape problem); the message names the file and the problem.
    static core::Result<WorkflowTemplate> load(const std::string& path);

    // As load(path), and checks each binding: a known parameter, a node that
    // exists, and an input of that node holding a literal number (not a link).
    // The same node input may not be bound twice. Errors name the file, the
    // parameter and the node.
    static core::Result<WorkflowTemplate> load(const std::string& path,
                                               const std::vector<ParamBinding>& bindings);

    // Validates `text`; `source_name` (usually the path) only appears in error messages.
    static core::Result<WorkflowTemplate> from_json_text(std::string_view text,
                                                         std::string_view source_name);
    static core::Result<WorkflowTemplate> from_json_text(std::string_view text,
                                                         std::string_view source_name,
                                                         const std::vector<ParamBinding>& bindings);

    // A copy of the graph with LoadImage.inputs.image = image_ref and every
    // SaveImage.inputs.filename_prefix = filename_prefix. Everything else is unchanged.
    nlohmann::json fill(const std::string& image_ref, const std::string& filename_prefix) const;

    // As above, and each bound input whose parameter has a value in `params`
    // gets that value (INT parameters as integers, upscale_factor as a float).
    nlohmann::json fill(const std::string& image_ref, const std::string& filename_prefix,
                        const JobParams& params) const;

    const std::vector<ParamBinding>& bindings() const { return bindings_; }

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
    std::vector<ParamBinding> bindings_;
};

// The model files the graph loads: every string input that names a file with
// a model extension (.pth, .pt, .ckpt, .safetensors, .bin, .onnx, .gguf),
// sorted, unique, joined with ",". Two workflows with the same key warm each
// other on a worker; "" when the graph names no model file.
std::string model_key(const WorkflowTemplate& workflow);

// Orders node ids as ComfyUI users expect: numeric ids by value ("2" < "10"),
// then any non-numeric ids lexicographically.
bool node_id_less(const std::string& a, const std::string& b);

}  // namespace tollgate::dispatch
