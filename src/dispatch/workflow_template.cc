// Validation happens once, at load, so fill() can be a plain copy-and-set with
// no failure path. Errors name the file and the node so an operator can fix a
// template without reading code. A UI-format export (the editor's "Save",
// with "nodes" and "links" arrays) is the most common mistake, so it gets its
// own message. Parameter bindings are checked at load too, against the
// template's own values: a binding must replace a literal number, so a typo
// in a node id, an input name, or a binding onto a link or a file name fails
// at startup instead of on the worker at the first job.
#include "dispatch/workflow_template.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "core/assert.h"
#include "dispatch/json_guard.h"

namespace tollgate::dispatch {
namespace {

constexpr const char* kInvalid = "invalid_workflow_template";

core::Error invalid(std::string_view source, const std::string& problem) {
    return core::make_error(kInvalid, "workflow template " + std::string(source) + ": " + problem);
}

bool is_all_digits(const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_link(const nlohmann::json& value) {
    return value.is_array() && value.size() == 2 && value[0].is_string() &&
           value[1].is_number_integer();
}

// Checks one node; `id` names it in errors.
core::Status check_node(std::string_view source, const std::string& id, const nlohmann::json& node,
                        const nlohmann::json& graph) {
    if (!node.is_object()) return invalid(source, "node \"" + id + "\" is not an object");
    const auto class_type = node.find("class_type");
    if (class_type == node.end() || !class_type->is_string() ||
        class_type->get_ref<const std::string&>().empty()) {
        return invalid(source, "node \"" + id + "\" has no string class_type");
    }
    const auto inputs = node.find("inputs");
    if (inputs == node.end() || !inputs->is_object()) {
        return invalid(source, "node \"" + id + "\" has no inputs object");
    }
    for (const auto& [name, value] : inputs->items()) {
        if (is_link(value) && !graph.contains(value[0].get_ref<const std::string&>())) {
            return invalid(source, "node \"" + id + "\" input \"" + name +
                                       "\" links to missing node \"" +
                                       value[0].get_ref<const std::string&>() + "\"");
        }
    }
    return {};
}

constexpr const char* kInvalidBinding = "invalid_param_binding";
constexpr std::size_t kBindingTargetBytesMax = 256;

bool is_known_param(std::string_view param) {
    return param == kParamModelInputSize || param == kParamUpscaleFactor || param == kParamTileSize;
}

std::string in_quotes(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    return out.append(1, '"').append(s).append(1, '"');
}

// Checks each binding against the validated graph.
core::Status check_bindings(std::string_view source, const nlohmann::json& graph,
                            const std::vector<ParamBinding>& bindings) {
    if (bindings.size() > kParamBindingsMax) {
        return invalid(source,
                       "more than " + std::to_string(kParamBindingsMax) + " parameter bindings");
    }
    for (std::size_t i = 0; i < bindings.size(); ++i) {
        const ParamBinding& b = bindings[i];
        const std::string where = "param " + in_quotes(b.param) + " bound to node " +
                                  in_quotes(b.node_id) + " input " + in_quotes(b.input) + ": ";
        if (!is_known_param(b.param)) {
            return invalid(source, where +
                                       "unknown parameter (model_input_size, "
                                       "upscale_factor or tile_size)");
        }
        const auto node = graph.find(b.node_id);
        if (node == graph.end()) return invalid(source, where + "no such node");
        const nlohmann::json& inputs = (*node)["inputs"];
        const auto value = inputs.find(b.input);
        if (value == inputs.end()) {
            return invalid(source, where + "the node (" + (*node)["class_type"].get<std::string>() +
                                       ") has no such input");
        }
        // fill() writes these two itself; a job parameter there would
        // overwrite the uploaded image's name or the output prefix.
        const std::string& class_type = (*node)["class_type"].get_ref<const std::string&>();
        if ((class_type == "LoadImage" && b.input == "image") ||
            (class_type == "SaveImage" && b.input == "filename_prefix")) {
            return invalid(source, where + "the gateway fills this input with each job's " +
                                       (class_type == "LoadImage" ? "image" : "output prefix"));
        }
        if (value->is_array()) return invalid(source, where + "the input is a link, not a value");
        if (!value->is_number()) {
            return invalid(source,
                           where + "the input holds " + value->type_name() + ", not a number");
        }
        for (std::size_t j = 0; j < i; ++j) {
            if (bindings[j].node_id == b.node_id && bindings[j].input == b.input) {
                return invalid(source, where + "the input is already bound to " +
                                           in_quotes(bindings[j].param));
            }
        }
    }
    return {};
}

}  // namespace

core::Result<ParamBinding> parse_param_binding(std::string_view param, std::string_view target) {
    if (!is_known_param(param)) {
        return core::make_error(kInvalidBinding,
                                "unknown job parameter " + in_quotes(param.substr(0, 64)) +
                                    " (model_input_size, upscale_factor or tile_size)");
    }
    const bool printable = std::all_of(target.begin(), target.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u != 0x7f;
    });
    const std::size_t dot = target.find('.');
    if (target.size() > kBindingTargetBytesMax || !printable || dot == std::string_view::npos ||
        dot == 0 || dot + 1 == target.size()) {
        return core::make_error(kInvalidBinding, "target " + in_quotes(target.substr(0, 64)) +
                                                     " is not \"<node id>.<input name>\"");
    }
    return ParamBinding{std::string(param), std::string(target.substr(0, dot)),
                        std::string(target.substr(dot + 1))};
}

bool node_id_less(const std::string& a, const std::string& b) {
    const bool a_num = is_all_digits(a);
    const bool b_num = is_all_digits(b);
    if (a_num != b_num) return a_num;  // numeric ids first
    if (a_num && a.size() != b.size()) return a.size() < b.size();
    return a < b;
}

core::Result<WorkflowTemplate> WorkflowTemplate::load(const std::string& path) {
    return load(path, {});
}

core::Result<WorkflowTemplate> WorkflowTemplate::load(const std::string& path,
                                                      const std::vector<ParamBinding>& bindings) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return invalid(path, "cannot open file");
    std::string text;
    char chunk[4096];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        text.append(chunk, static_cast<std::size_t>(in.gcount()));
        if (text.size() > kWorkflowTemplateBytesMax) {
            return invalid(path, "file is larger than " +
                                     std::to_string(kWorkflowTemplateBytesMax) + " bytes");
        }
    }
    if (in.bad()) return invalid(path, "read error");
    return from_json_text(text, path, bindings);
}

core::Result<WorkflowTemplate> WorkflowTemplate::from_json_text(std::string_view text,
                                                                std::string_view source_name) {
    return from_json_text(text, source_name, {});
}

core::Result<WorkflowTemplate> WorkflowTemplate::from_json_text(
    std::string_view text, std::string_view source_name,
    const std::vector<ParamBinding>& bindings) {
    auto parsed = parse_untrusted_json(text, kWorkflowTemplateBytesMax, kInvalid);
    if (!parsed) return invalid(source_name, parsed.error().message);
    nlohmann::json& graph = *parsed;
    if (!graph.is_object()) return invalid(source_name, "top level is not a JSON object of nodes");
    if (graph.contains("nodes") && graph.contains("links")) {
        return invalid(source_name,
                       "this is a UI-format workflow; export it in API format instead");
    }
    if (graph.empty()) return invalid(source_name, "no nodes");

    WorkflowTemplate t;
    int load_image_count = 0;
    for (const auto& [id, node] : graph.items()) {
        if (id.empty()) return invalid(source_name, "a node has an empty id");
        if (auto status = check_node(source_name, id, node, graph); !status) return status.error();
        const auto& class_type = node["class_type"].get_ref<const std::string&>();
        if (class_type == "LoadImage") {
            ++load_image_count;
            t.load_image_node_id_ = id;
        } else if (class_type == "SaveImage") {
            t.save_image_node_ids_.push_back(id);
        }
    }
    if (load_image_count != 1) {
        return invalid(source_name, "expected exactly one LoadImage node, found " +
                                        std::to_string(load_image_count));
    }
    if (t.save_image_node_ids_.empty()) {
        return invalid(source_name, "expected at least one SaveImage node, found none");
    }
    std::sort(t.save_image_node_ids_.begin(), t.save_image_node_ids_.end(), node_id_less);
    if (auto status = check_bindings(source_name, graph, bindings); !status) {
        return status.error();
    }
    t.bindings_ = bindings;
    t.source_name_ = std::string(source_name);
    t.graph_ = std::move(graph);
    return t;
}

nlohmann::json WorkflowTemplate::fill(const std::string& image_ref,
                                      const std::string& filename_prefix) const {
    nlohmann::json graph = graph_;
    graph[load_image_node_id_]["inputs"]["image"] = image_ref;
    for (const auto& id : save_image_node_ids_) {
        graph[id]["inputs"]["filename_prefix"] = filename_prefix;
    }
    return graph;
}

nlohmann::json WorkflowTemplate::fill(const std::string& image_ref,
                                      const std::string& filename_prefix,
                                      const JobParams& params) const {
    nlohmann::json graph = fill(image_ref, filename_prefix);
    for (const ParamBinding& b : bindings_) {
        nlohmann::json& input = graph[b.node_id]["inputs"][b.input];
        if (b.param == kParamModelInputSize && params.model_input_size) {
            input = *params.model_input_size;
        } else if (b.param == kParamTileSize && params.tile_size) {
            input = *params.tile_size;
        } else if (b.param == kParamUpscaleFactor && params.upscale_factor) {
            // A NaN would reach the worker as null; the quote never makes one.
            TOLLGATE_ASSERT(std::isfinite(*params.upscale_factor));
            input = *params.upscale_factor;
        }
    }
    return graph;
}

std::string model_key(const WorkflowTemplate& workflow) {
    static constexpr std::string_view kModelExtensions[] = {
        ".pth", ".pt", ".ckpt", ".safetensors", ".bin", ".onnx", ".gguf"};
    std::set<std::string> files;
    for (const auto& [id, node] : workflow.graph().items()) {
        const auto inputs = node.find("inputs");
        if (inputs == node.end() || !inputs->is_object()) continue;
        for (const auto& [name, value] : inputs->items()) {
            if (!value.is_string()) continue;
            const std::string& text = value.get_ref<const std::string&>();
            for (std::string_view ext : kModelExtensions) {
                if (text.ends_with(ext)) {
                    files.insert(text);
                    break;
                }
            }
        }
    }
    std::string key;
    for (const std::string& file : files) {
        if (!key.empty()) key += ',';
        key += file;
    }
    return key;
}

}  // namespace tollgate::dispatch
