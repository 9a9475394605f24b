// Prompt validation with ComfyUI's rules and error shapes.
//
// validate_prompt() mirrors execution.py's validate_prompt/validate_inputs:
// every node needs a known class_type (else missing_node_type), the graph needs
// an output node (else prompt_no_outputs), and each output is validated
// through its links; failures become node_errors keyed by node id, each
// {errors, dependent_outputs, class_type}. If at least one output is valid the
// prompt is accepted and the bad outputs are dropped, exactly as ComfyUI does.
// Pure apart from the `image_exists` callback; any thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "comfysim/node_table.h"
#include "comfysim/py_format.h"

namespace tollgate::comfysim {

struct Validation {
    bool ok = false;
    Json error;                        // null when ok
    std::vector<std::string> outputs;  // output node ids to execute, in prompt order
    Json node_errors = Json::object();
    // The graph with INT/FLOAT inputs coerced, as ComfyUI stores it.
    Json prompt;
};

// Answers LoadImage's custom check: does "<subfolder>/<name>[ [type]]" exist?
using ImageExists = std::function<bool(const std::string& annotated_name)>;

// `prompt` must be a JSON object (callers answer 500 otherwise, as ComfyUI
// does). `partial_targets` is the optional partial_execution_targets list.
Validation validate_prompt(const Json& prompt, const NodeTable& table,
                           const ImageExists& image_exists, const Json& partial_targets = nullptr);

// True for a UUID in canonical lowercase hyphenated form.
bool is_canonical_uuid(const std::string& s);

}  // namespace tollgate::comfysim
