// The node table. The built-in entries live in nodes.json, compiled into the
// binary, so that the code holds no per-node knowledge: DDColor_Colorize's
// entry is the one ComfyUI-DDColor publishes (see the shared object_info
// capture) and the core nodes follow ComfyUI's nodes.py. Only inputs that
// affect validation or the executor are modelled; the object_info text
// matches the real shape field for field.
#include "comfysim/node_table.h"

#include <algorithm>
#include <cstdio>

#include "comfysim/node_file.h"
#include "core/assert.h"

namespace tollgate::comfysim {
namespace {

Json string_list(const std::vector<std::string>& v) {
    Json out = Json::array();
    for (const auto& s : v) out.push_back(s);
    return out;
}

}  // namespace

NodeTable::NodeTable(std::vector<NodeSpec> nodes) : nodes_(std::move(nodes)) {
    for (const auto& n : nodes_) TOLLGATE_ASSERT(n.output_types.size() == n.output_names.size());
}

const NodeTable& NodeTable::standard() {
    static const NodeTable table = [] {
        auto specs = parse_node_file(builtin_nodes_json(), "nodes.json (built in)");
        // The file is part of the build and tested; a bad one is a programmer error.
        if (!specs.ok()) std::fprintf(stderr, "%s\n", specs.error().message.c_str());
        TOLLGATE_ASSERT(specs.ok());
        return NodeTable(std::move(specs).value());
    }();
    return table;
}

core::Result<NodeTable> NodeTable::load(const std::vector<std::filesystem::path>& node_files) {
    NodeTable table = standard();
    for (const auto& path : node_files) {
        auto specs = read_node_file(path);
        if (!specs.ok()) return specs.error();
        auto next = table.extended(std::move(specs).value());
        if (!next.ok()) {
            return core::make_error(next.error().code,
                                    "nodes file " + path.string() + ": " + next.error().message);
        }
        table = std::move(next).value();
    }
    return table;
}

core::Result<NodeTable> NodeTable::extended(std::vector<NodeSpec> extra) const {
    std::vector<NodeSpec> nodes = nodes_;
    for (auto& spec : extra) {
        auto same = std::find_if(nodes.begin(), nodes.end(), [&](const NodeSpec& n) {
            return n.class_type == spec.class_type;
        });
        if (same != nodes.end()) {
            *same = std::move(spec);
        } else {
            nodes.push_back(std::move(spec));
        }
    }
    if (nodes.size() > kNodeTableEntriesMax) {
        return core::make_error("invalid_node_file", "the table would hold more than " +
                                                         std::to_string(kNodeTableEntriesMax) +
                                                         " node classes");
    }
    return NodeTable(std::move(nodes));
}

const NodeSpec* NodeTable::find(std::string_view class_type) const {
    for (const auto& n : nodes_) {
        if (n.class_type == class_type) return &n;
    }
    return nullptr;
}

Json NodeTable::object_info(const NodeSpec& spec, const std::vector<std::string>& input_files) {
    Json required = Json::object();
    Json optional = Json::object();
    Json required_order = Json::array();
    Json optional_order = Json::array();
    for (const auto& in : spec.inputs) {
        Json config = in.config;
        if (spec.lists_input_files && in.custom_validated) config[0] = string_list(input_files);
        (in.required ? required : optional)[in.name] = config;
        (in.required ? required_order : optional_order).push_back(in.name);
    }
    Json input = {{"required", required}};
    Json order = {{"required", required_order}};
    if (!optional.empty()) {
        input["optional"] = optional;
        order["optional"] = optional_order;
    }
    if (!spec.hidden.empty()) {
        input["hidden"] = spec.hidden;
        Json hidden_order = Json::array();
        for (const auto& [k, v] : spec.hidden.items()) hidden_order.push_back(k);
        order["hidden"] = hidden_order;
    }
    Json info;
    info["input"] = input;
    info["input_order"] = order;
    info["is_input_list"] = false;
    info["output"] = string_list(spec.output_types);
    info["output_is_list"] = Json::array();
    for (std::size_t i = 0; i < spec.output_types.size(); ++i)
        info["output_is_list"].push_back(false);
    info["output_name"] = string_list(spec.output_names);
    info["name"] = spec.class_type;
    info["display_name"] = spec.display_name;
    info["description"] = spec.description;
    info["python_module"] = spec.python_module;
    info["category"] = spec.category;
    info["output_node"] = spec.output_node;
    info["has_intermediate_output"] = false;
    info["search_aliases"] = Json::array();
    return info;
}

Json NodeTable::object_info_all(const std::vector<std::string>& input_files) const {
    Json out = Json::object();
    for (const auto& n : nodes_) out[n.class_type] = object_info(n, input_files);
    return out;
}

}  // namespace tollgate::comfysim
