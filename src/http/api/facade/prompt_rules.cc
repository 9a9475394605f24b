#include "http/api/facade/prompt_rules.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace tollgate::http::facade {
namespace {

// The nodes of `graph` of `class_type`, in ComfyUI's node order.
std::vector<std::string> nodes_of(const nlohmann::json& graph, const std::string& class_type) {
    std::vector<std::string> ids;
    for (const auto& [id, node] : graph.items()) {
        if (node.is_object() && node.value("class_type", "") == class_type) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end(), dispatch::node_id_less);
    return ids;
}

bool conditions_hold(const nlohmann::json& inputs, const PromptRule& rule) {
    for (const auto& [name, value] : rule.when) {
        const auto it = inputs.find(name);
        if (it == inputs.end() || *it != value) return false;
    }
    return true;
}

// The level a model input size is priced at: the one of that size, else the
// smallest larger one. nullptr when every level is smaller.
const pricing::QualityLevel* level_for(const pricing::WorkflowPrice& price, std::int64_t size) {
    const pricing::QualityLevel* best = nullptr;
    for (const pricing::QualityLevel& level : price.qualities) {
        if (level.model_input_size < size) continue;
        if (best == nullptr || level.model_input_size < best->model_input_size) best = &level;
    }
    return best;
}

std::string decimal(double value) {
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return ec == std::errc() ? std::string(buffer, end) : std::string();
}

std::string class_types(const nlohmann::json& graph) {
    std::set<std::string> names;
    for (const auto& [id, node] : graph.items()) names.insert(node.value("class_type", "?"));
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

}  // namespace

core::Result<PricedPrompt> price_prompt(const nlohmann::json& graph, const PromptRules& rules,
                                        const pricing::PriceBook& book) {
    if (!graph.is_object() || graph.empty() || graph.size() > kPromptNodesMax) {
        return core::make_error("invalid_prompt",
                                "the prompt is an object of 1 to 1000 nodes keyed by node id");
    }
    auto parsed = dispatch::WorkflowTemplate::from_json_text(graph.dump(), "prompt");
    if (!parsed.ok()) return core::make_error("invalid_prompt", parsed.error().message);
    auto shared = std::make_shared<const dispatch::WorkflowTemplate>(std::move(parsed).value());
    const nlohmann::json& load = graph.at(shared->load_image_node_id()).at("inputs");
    const auto image = load.find("image");
    if (image == load.end() || !image->is_string() || image->get<std::string>().empty()) {
        return core::make_error("invalid_prompt",
                                "LoadImage node " + shared->load_image_node_id() +
                                    " names no image: upload one with /upload/image first");
    }
    PricedPrompt out;
    out.image_ref = image->get<std::string>();
    out.graph = shared;

    for (std::size_t r = 0; r < rules.rules.size(); ++r) {
        const PromptRule& rule = rules.rules[r];
        const auto price = book.workflows.find(rule.workflow);
        if (price == book.workflows.end()) continue;  // checked when the config loads
        for (const std::string& id : nodes_of(graph, rule.class_type)) {
            const nlohmann::json& inputs = graph.at(id).at("inputs");
            if (!conditions_hold(inputs, rule)) continue;
            std::string quality;
            if (!rule.size_input.empty()) {
                const auto size = inputs.find(rule.size_input);
                if (size == inputs.end() || !size->is_number()) continue;
                const double value = size->get<double>();
                const pricing::WorkflowPrice& p = price->second;
                if (p.model_input_size_max > 0 &&
                    (value < static_cast<double>(p.model_input_size_min) ||
                     value > static_cast<double>(p.model_input_size_max))) {
                    continue;
                }
                if (!p.qualities.empty()) {
                    const auto level = level_for(p, static_cast<std::int64_t>(std::ceil(value)));
                    if (level == nullptr) {
                        return core::make_error(
                            "unpriced_graph",
                            "node " + id + " asks " + rule.size_input + " " + decimal(value) +
                                ", beyond every quality level of " + rule.workflow);
                    }
                    quality = level->name;
                }
            }
            std::string factor;
            if (!rule.upscale_input.empty()) {
                const auto scale = inputs.find(rule.upscale_input);
                if (scale == inputs.end() || !scale->is_number()) continue;
                factor = decimal(scale->get<double>());
            }
            out.workflow = rule.workflow;
            out.quality = quality;
            out.upscale_factor = factor;
            out.matched = "rule " + std::to_string(r + 1) + " (" + rule.class_type + ")";
            return out;
        }
    }
    if (!rules.default_workflow.empty()) {
        out.workflow = rules.default_workflow;
        out.matched = "default";
        return out;
    }
    return core::make_error("unpriced_graph",
                            "no [facade] rule prices this graph (its nodes: " + class_types(graph) +
                                "), and there is no default_workflow");
}

}  // namespace tollgate::http::facade
