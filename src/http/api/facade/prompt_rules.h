// The ComfyUI facade's pricing of a client's own graph: which capability of
// the price book (workflow) a prompt is, with which options, and which
// uploaded image it reads.
//
// A prompt is the API-format graph a ComfyUI client POSTs to /prompt. It must
// have the shape tollgate can run and meter (dispatch::WorkflowTemplate: one
// LoadImage, at least one SaveImage, links that resolve). The rules, in
// configuration order, map it to a workflow: a rule names a class_type that
// must be in the graph, literal inputs of that node that must be equal
// (`when`), and optionally the input that holds the model input size
// (`size_input`: the rule then matches only sizes in the workflow's
// model_input_size range, and the size picks the quality level, the cheapest
// level at least that large) and the input that holds an upscale factor
// (`upscale_input`). The first matching rule wins; with none, the
// configured default workflow prices it, or it is refused. Pure: no I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "dispatch/workflow_template.h"
#include "pricing/price_book.h"

namespace tollgate::http::facade {

inline constexpr std::size_t kRulesMax = 256;
inline constexpr std::size_t kRuleConditionsMax = 16;
// A prompt body larger than this is refused (real graphs are a few KB).
inline constexpr std::size_t kPromptBytesMax = 1024 * 1024;
inline constexpr std::size_t kPromptNodesMax = 1000;

struct PromptRule {
    std::string class_type;
    std::string workflow;  // a workflow of the price book and of [workflows]
    std::vector<std::pair<std::string, nlohmann::json>> when;  // input -> literal value
    std::string size_input;                                    // "" for none
    std::string upscale_input;                                 // "" for none
};

struct PromptRules {
    std::vector<PromptRule> rules;
    std::string default_workflow;  // "" refuses graphs no rule matches
};

// [facade] in the configuration.
struct FacadeOptions {
    PromptRules rules;
    // Worker base URLs ("http://host:port") whose /object_info and
    // /system_stats the facade passes on (the first that answers).
    std::vector<std::string> worker_urls;
};

// What a prompt is to the gateway.
struct PricedPrompt {
    std::string workflow;
    std::string quality;         // "" for the workflow's default
    std::string upscale_factor;  // "" for none, else a decimal such as "2"
    std::string image_ref;       // LoadImage's image input, as the client wrote it
    std::string matched;         // which rule: "rule 2 (DDColor_Colorize)" or "default"
    std::shared_ptr<const dispatch::WorkflowTemplate> graph;
};

// Errors (codes as the facade answers them):
//   "invalid_prompt"  the graph is not an object of nodes tollgate can run (the
//                     message says why: no LoadImage, no SaveImage, a bad link...)
//   "unpriced_graph"  no rule matches and there is no default; or the matched
//                     node asks for a model input size beyond every level
core::Result<PricedPrompt> price_prompt(const nlohmann::json& graph, const PromptRules& rules,
                                        const pricing::PriceBook& book);

}  // namespace tollgate::http::facade
