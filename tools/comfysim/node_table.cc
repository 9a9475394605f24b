// The standard node table. DDColor_Colorize's entry is the one ComfyUI-DDColor
// publishes (see the shared object_info capture); the core nodes follow
// ComfyUI's nodes.py. Only inputs that affect validation or the executor are
// modelled; the object_info text matches the real shape field for field.
#include "comfysim/node_table.h"

#include "core/assert.h"

namespace tollgate::comfysim {
namespace {

constexpr const char* kSaveTooltip =
    "The prefix for the file to save. This may include formatting information such as "
    "%date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.";
constexpr const char* kSaveDescription = "Saves the input images to your ComfyUI output directory.";

NodeSpec load_image() {
    NodeSpec s;
    s.class_type = "LoadImage";
    s.kind = NodeKind::LoadImage;
    s.inputs = {{"image", Json::array({Json::array(), {{"image_upload", true}}}), true, true}};
    s.hidden = Json::object();
    s.output_types = {"IMAGE", "MASK"};
    s.output_names = {"IMAGE", "MASK"};
    s.lists_input_files = true;
    s.display_name = "Load Image";
    s.python_module = "nodes";
    s.category = "image";
    return s;
}

NodeSpec ddcolor() {
    NodeSpec s;
    s.class_type = "DDColor_Colorize";
    s.kind = NodeKind::Colorize;
    s.inputs = {
        {"image", Json::array({"IMAGE"}), true, false},
        {"model_input_size",
         Json::array({"INT", {{"default", 512}, {"min", 32}, {"max", 4096}, {"step", 32}}}), true,
         false},
        {"checkpoint",
         Json::array({Json::array({"ddcolor_paper_tiny.pth", "ddcolor_paper.pth",
                                   "ddcolor_modelscope.pth", "ddcolor_artistic.pth"}),
                      {{"default", "ddcolor_paper_tiny.pth"}}}),
         true, false},
    };
    s.hidden = Json::object();
    s.output_types = {"IMAGE"};
    s.output_names = {"colorized_image"};
    s.display_name = "DDColor_Colorize";
    s.python_module = "custom_nodes.ComfyUI-DDColor";
    s.category = "DDColor";
    return s;
}

NodeSpec save_image() {
    NodeSpec s;
    s.class_type = "SaveImage";
    s.kind = NodeKind::SaveImage;
    s.inputs = {
        {"images", Json::array({"IMAGE", {{"tooltip", "The images to save."}}}), true, false},
        {"filename_prefix",
         Json::array({"STRING", {{"default", "ComfyUI"}, {"tooltip", kSaveTooltip}}}), true, false},
    };
    s.hidden = {{"prompt", "PROMPT"}, {"extra_pnginfo", "EXTRA_PNGINFO"}};
    s.output_node = true;
    s.display_name = "Save Image";
    s.description = kSaveDescription;
    s.python_module = "nodes";
    s.category = "image";
    return s;
}

NodeSpec preview_image() {
    NodeSpec s;
    s.class_type = "PreviewImage";
    s.kind = NodeKind::PreviewImage;
    s.inputs = {{"images", Json::array({"IMAGE"}), true, false}};
    s.hidden = {{"prompt", "PROMPT"}, {"extra_pnginfo", "EXTRA_PNGINFO"}};
    s.output_node = true;
    s.display_name = "Preview Image";
    s.description = kSaveDescription;
    s.python_module = "nodes";
    s.category = "image";
    return s;
}

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
    static const NodeTable table({load_image(), ddcolor(), save_image(), preview_image()});
    return table;
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
