// The node classes comfysim knows, described the way ComfyUI's INPUT_TYPES are.
//
// One table drives both prompt validation (validate.h) and /object_info, so
// the two can never disagree. Each input keeps its raw ComfyUI config, e.g.
// ["INT", {"default": 512, "min": 32, "max": 4096}] or [["a.pth", "b.pth"], {}],
// because validation errors echo that config back as `input_config`.
// Immutable after construction; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "comfysim/py_format.h"

namespace tollgate::comfysim {

// What the executor does for a node class.
enum class NodeKind { LoadImage, Colorize, SaveImage, PreviewImage };

struct InputSpec {
    std::string name;
    Json config;                    // [type or choice list] or [type or choice list, options]
    bool required = true;           // false: "optional" section
    bool custom_validated = false;  // checked by the node's VALIDATE_INPUTS, not by min/max/list
};

struct NodeSpec {
    std::string class_type;
    NodeKind kind;
    std::vector<InputSpec> inputs;  // in input_order
    Json hidden;                    // the "hidden" section, {} when none
    std::vector<std::string> output_types;
    std::vector<std::string> output_names;
    bool output_node = false;
    // LoadImage lists the input folder's files as its "image" choices.
    bool lists_input_files = false;
    std::string display_name;
    std::string description;
    std::string python_module;
    std::string category;
};

class NodeTable {
  public:
    explicit NodeTable(std::vector<NodeSpec> nodes);

    // The built-in table: LoadImage, DDColor_Colorize, SaveImage, PreviewImage.
    static const NodeTable& standard();

    // nullptr when the class is unknown.
    const NodeSpec* find(std::string_view class_type) const;
    const std::vector<NodeSpec>& nodes() const { return nodes_; }

    // One /object_info entry; `input_files` fills LoadImage's choice list.
    static Json object_info(const NodeSpec& spec, const std::vector<std::string>& input_files);
    // The whole /object_info answer.
    Json object_info_all(const std::vector<std::string>& input_files) const;

  private:
    std::vector<NodeSpec> nodes_;
};

}  // namespace tollgate::comfysim
