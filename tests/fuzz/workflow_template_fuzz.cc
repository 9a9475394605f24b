// Fuzz target: WorkflowTemplate::from_json_text() and fill()
// (src/dispatch/workflow_template.h), over API-format workflow files.
//
// The whole input is the template text. It is loaded without bindings and
// with a fixed binding of node "2"'s model_input_size (the shipped DDColor
// graphs). Checks: failures are "invalid_workflow_template"; a loaded
// template has one LoadImage node and SaveImage nodes in node-id order; and,
// as an oracle for the binding rules, binding the first literal number
// inputs to distinct parameters must load (unless one of them is an input
// fill() writes itself, which must be refused), and fill() must write the
// image, the prefix and each bound value where they belong.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "dispatch/workflow_template.h"
#include "fuzz/fuzz_input.h"

namespace {

using namespace tollgate;
using dispatch::ParamBinding;
using dispatch::WorkflowTemplate;

constexpr std::size_t kInputBytesMax = 64 * 1024;
constexpr std::string_view kSource = "fuzz.api.json";
const std::string kImageRef = "fuzz/in.png";
const std::string kPrefix = "fuzz/out";
constexpr std::int64_t kModelInputSize = 640;
constexpr std::int64_t kTileSize = 384;
constexpr double kUpscaleFactor = 2.5;

// Inputs fill() writes itself, which no binding may target.
bool filled_by_gateway(const nlohmann::json& node, const std::string& input) {
    const std::string& class_type = node["class_type"].get_ref<const std::string&>();
    return (class_type == "LoadImage" && input == "image") ||
           (class_type == "SaveImage" && input == "filename_prefix");
}

// One binding per parameter, onto the first literal number inputs found; it
// stops at an input fill() writes itself, setting `onto_filled`.
std::vector<ParamBinding> bindable(const WorkflowTemplate& t, bool& onto_filled) {
    static constexpr const char* kParams[] = {
        dispatch::kParamModelInputSize, dispatch::kParamTileSize, dispatch::kParamUpscaleFactor};
    std::vector<ParamBinding> bindings;
    onto_filled = false;
    for (const auto& [id, node] : t.graph().items()) {
        for (const auto& [name, value] : node["inputs"].items()) {
            if (bindings.size() == std::size(kParams) || onto_filled) return bindings;
            if (!value.is_number()) continue;
            onto_filled = filled_by_gateway(node, name);
            bindings.push_back({kParams[bindings.size()], id, name});
        }
    }
    return bindings;
}

void check_filled(const WorkflowTemplate& t) {
    const dispatch::JobParams params{kModelInputSize, kUpscaleFactor, kTileSize};
    const nlohmann::json graph = t.fill(kImageRef, kPrefix, params);
    TOLLGATE_ASSERT(graph.size() == t.graph().size());
    TOLLGATE_ASSERT(graph[t.load_image_node_id()]["inputs"]["image"] == kImageRef);
    for (const std::string& id : t.save_image_node_ids()) {
        TOLLGATE_ASSERT(graph[id]["inputs"]["filename_prefix"] == kPrefix);
    }
    for (const ParamBinding& b : t.bindings()) {
        const nlohmann::json& value = graph[b.node_id]["inputs"][b.input];
        if (b.param == dispatch::kParamModelInputSize) TOLLGATE_ASSERT(value == kModelInputSize);
        if (b.param == dispatch::kParamTileSize) TOLLGATE_ASSERT(value == kTileSize);
        if (b.param == dispatch::kParamUpscaleFactor) TOLLGATE_ASSERT(value == kUpscaleFactor);
    }
}

void check_loaded(const WorkflowTemplate& t) {
    TOLLGATE_ASSERT(!t.load_image_node_id().empty());
    const auto& saves = t.save_image_node_ids();
    TOLLGATE_ASSERT(!saves.empty());
    TOLLGATE_ASSERT(std::is_sorted(saves.begin(), saves.end(), dispatch::node_id_less));
    (void)dispatch::model_key(t);
    check_filled(t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kInputBytesMax) return 0;
    const std::string_view text = fuzz::as_text(data, size);

    const auto plain = WorkflowTemplate::from_json_text(text, kSource);
    if (!plain.ok()) {
        TOLLGATE_ASSERT(plain.error().code == "invalid_workflow_template");
    } else {
        check_loaded(*plain);
        bool onto_filled = false;
        const std::vector<ParamBinding> bindings = bindable(*plain, onto_filled);
        const auto bound = WorkflowTemplate::from_json_text(text, kSource, bindings);
        if (onto_filled) {
            TOLLGATE_ASSERT(!bound.ok() && bound.error().code == "invalid_workflow_template");
        } else {
            TOLLGATE_ASSERT(bound.ok() && bound->bindings().size() == bindings.size());
            check_loaded(*bound);
        }
    }

    const auto binding =
        dispatch::parse_param_binding(dispatch::kParamModelInputSize, "2.model_input_size");
    TOLLGATE_ASSERT(binding.ok());
    const auto ddcolor = WorkflowTemplate::from_json_text(text, kSource, {*binding});
    if (ddcolor.ok()) {
        check_loaded(*ddcolor);
    } else {
        TOLLGATE_ASSERT(ddcolor.error().code == "invalid_workflow_template");
    }
    return 0;
}
