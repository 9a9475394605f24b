// Validation in the order ComfyUI's execution.py uses: first every node's
// class_type (the first unknown one fails the whole prompt), then the set of
// output nodes, then a depth-first check of each output's inputs. Results are
// memoised per node, so a bad upstream node is reported once and lists every
// output that depends on it. Errors that ComfyUI raises as Python exceptions
// (a link to a missing node, a bad slot, a cycle) become
// exception_during_validation on the output being checked, as they do there.
#include "comfysim/validate.h"

#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>

namespace tollgate::comfysim {
namespace {

// A Python exception escaping validate_inputs.
struct PyException {
    std::string type;
    std::string message;
};

struct NodeResult {
    bool valid = true;
    Json reasons = Json::array();
};

Json error_obj(const std::string& type, const std::string& message, const std::string& details,
               Json extra_info) {
    return Json{{"type", type},
                {"message", message},
                {"details", details},
                {"extra_info", std::move(extra_info)}};
}

std::string type_name(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null:
            return "NoneType";
        case Json::value_t::object:
            return "dict";
        case Json::value_t::array:
            return "list";
        case Json::value_t::boolean:
            return "bool";
        case Json::value_t::string:
            return "str";
        case Json::value_t::number_float:
            return "float";
        default:
            return "int";
    }
}

std::string strip(const std::string& s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

// Python int(v); throws PyException with Python's message.
Json py_int(const Json& v) {
    if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
    if (v.is_number_integer() || v.is_number_unsigned()) return v;
    if (v.is_number_float()) return static_cast<std::int64_t>(std::trunc(v.get<double>()));
    if (v.is_string()) {
        const std::string s = strip(v.get<std::string>());
        std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
        bool digits = i < s.size();
        for (std::size_t j = i; j < s.size(); ++j) {
            if (!std::isdigit(static_cast<unsigned char>(s[j]))) digits = false;
        }
        if (digits && s.size() - i <= 18) return std::stoll(s);
        throw PyException{"ValueError", "invalid literal for int() with base 10: " + py_repr(v)};
    }
    throw PyException{"TypeError",
                      "int() argument must be a string, a bytes-like object or a real number, "
                      "not '" +
                          type_name(v) + "'"};
}

Json py_float(const Json& v) {
    if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
        const std::string s = strip(v.get<std::string>());
        char* end = nullptr;
        const double d = s.empty() ? 0.0 : std::strtod(s.c_str(), &end);
        if (!s.empty() && end == s.c_str() + s.size()) return d;
        throw PyException{"ValueError", "could not convert string to float: " + py_repr(v)};
    }
    throw PyException{"TypeError", "float() argument must be a string or a real number, not '" +
                                       type_name(v) + "'"};
}

bool py_truthy(const Json& v) {
    if (v.is_null()) return false;
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number()) return v.get<double>() != 0.0;
    if (v.is_string() || v.is_array() || v.is_object()) return !v.empty();
    return true;
}

bool py_equal(const Json& a, const Json& b) {
    const bool an = a.is_number() || a.is_boolean();
    const bool bn = b.is_number() || b.is_boolean();
    if (an && bn) {
        auto num = [](const Json& j) {
            return j.is_boolean() ? (j.get<bool>() ? 1.0 : 0.0) : j.get<double>();
        };
        return num(a) == num(b);
    }
    return a == b;
}

bool number_less(const Json& a, const Json& b) { return a.get<double>() < b.get<double>(); }

class Validator {
  public:
    Validator(Json& prompt, const NodeTable& table, const ImageExists& image_exists)
        : prompt_(prompt), table_(table), image_exists_(image_exists) {}

    NodeResult validate(const std::string& id) {
        if (auto it = done_.find(id); it != done_.end()) return it->second;
        if (!visiting_.insert(id).second) {
            throw PyException{"RecursionError", "maximum recursion depth exceeded"};
        }
        NodeResult r = validate_inputs(id);
        visiting_.erase(id);
        record(id, r);
        return r;
    }

    void record(const std::string& id, NodeResult r) {
        if (!done_.count(id)) order_.push_back(id);
        done_[id] = std::move(r);
    }

    // After an exception the recursion stack unwound without cleanup.
    void clear_stack() { visiting_.clear(); }
    const std::vector<std::string>& order() const { return order_; }
    const NodeResult& result(const std::string& id) const { return done_.at(id); }

  private:
    NodeResult validate_inputs(const std::string& id) {
        Json& node = prompt_[id];
        const NodeSpec* spec = table_.find(node["class_type"].get<std::string>());
        if (!node.contains("inputs")) throw PyException{"KeyError", "'inputs'"};
        Json& inputs = node["inputs"];
        if (!inputs.is_object()) {
            throw PyException{"TypeError", "list indices must be integers or slices, not str"};
        }
        NodeResult r;
        for (const auto& in : spec->inputs) check_input(in, inputs, r);
        for (const auto& in : spec->inputs) {
            if (in.custom_validated) custom_check(*spec, in, inputs, r);
        }
        if (!r.reasons.empty()) r.valid = false;
        return r;
    }

    void check_input(const InputSpec& in, Json& inputs, NodeResult& r) {
        const Json& type = in.config[0];
        const Json options = in.config.size() > 1 ? in.config[1] : Json::object();
        const Json info = Json::array({type, options});
        if (!inputs.contains(in.name)) {
            if (in.required) {
                r.reasons.push_back(error_obj("required_input_missing", "Required input is missing",
                                              in.name, {{"input_name", in.name}}));
            }
            return;
        }
        Json val = inputs[in.name];
        if (val.is_array()) {
            check_link(in, info, val, r);
            return;
        }
        if (val.is_object() && val.contains("__value__")) val = val["__value__"];
        const std::string type_str = type.is_string() ? type.get<std::string>() : "";
        try {
            if (type_str == "INT") val = py_int(val);
            if (type_str == "FLOAT") val = py_float(val);
            if (type_str == "STRING") val = py_str(val);
            if (type_str == "BOOLEAN") val = py_truthy(val);
            if (!type_str.empty() && (type_str == "INT" || type_str == "FLOAT" ||
                                      type_str == "STRING" || type_str == "BOOLEAN")) {
                inputs[in.name] = val;
            }
        } catch (const PyException& ex) {
            r.reasons.push_back(
                error_obj("invalid_input_type",
                          "Failed to convert an input value to a " + type_str + " value",
                          in.name + ", " + py_str(val) + ", " + ex.message,
                          {{"input_name", in.name},
                           {"input_config", info},
                           {"received_value", val},
                           {"exception_message", ex.message}}));
            return;
        }
        if (in.custom_validated) return;
        if (options.contains("min") && val.is_number() && number_less(val, options["min"])) {
            r.reasons.push_back(error_obj(
                "value_smaller_than_min",
                "Value " + py_str(val) + " smaller than min of " + py_str(options["min"]), in.name,
                {{"input_name", in.name}, {"input_config", info}, {"received_value", val}}));
            return;
        }
        if (options.contains("max") && val.is_number() && number_less(options["max"], val)) {
            r.reasons.push_back(error_obj(
                "value_bigger_than_max",
                "Value " + py_str(val) + " bigger than max of " + py_str(options["max"]), in.name,
                {{"input_name", in.name}, {"input_config", info}, {"received_value", val}}));
            return;
        }
        if (type.is_array()) check_choice(in, info, type, val, r);
    }

    void check_choice(const InputSpec& in, const Json& info, const Json& choices, const Json& val,
                      NodeResult& r) {
        for (const auto& c : choices) {
            if (py_equal(c, val)) return;
        }
        Json input_config = info;
        std::string list_info;
        if (choices.size() > 20) {
            list_info = "(list of length " + std::to_string(choices.size()) + ")";
            input_config = nullptr;
        } else {
            list_info = py_repr(choices);
        }
        r.reasons.push_back(error_obj(
            "value_not_in_list", "Value not in list",
            in.name + ": '" + py_str(val) + "' not in " + list_info,
            {{"input_name", in.name}, {"input_config", input_config}, {"received_value", val}}));
    }

    void check_link(const InputSpec& in, const Json& info, const Json& val, NodeResult& r) {
        if (val.size() != 2) {
            r.reasons.push_back(error_obj(
                "bad_linked_input",
                "Bad linked input, must be a length-2 list of [node_id, slot_index]", in.name,
                {{"input_name", in.name}, {"input_config", info}, {"received_value", val}}));
            return;
        }
        const Json& from = val[0];
        if (!from.is_string() || !prompt_.contains(from.get<std::string>())) {
            throw PyException{"KeyError", py_repr(from)};
        }
        const std::string from_id = from.get<std::string>();
        const NodeSpec* from_spec = table_.find(prompt_[from_id]["class_type"].get<std::string>());
        if (!val[1].is_number_integer() && !val[1].is_number_unsigned()) {
            throw PyException{"TypeError",
                              "tuple indices must be integers or slices, not " + type_name(val[1])};
        }
        const auto slot = val[1].get<std::int64_t>();
        const auto n_out = static_cast<std::int64_t>(from_spec->output_types.size());
        if (slot >= n_out || slot < -n_out)
            throw PyException{"IndexError", "tuple index out of range"};
        const std::string received =
            from_spec->output_types[static_cast<std::size_t>(slot < 0 ? slot + n_out : slot)];
        const std::string wanted = info[0].is_string() ? info[0].get<std::string>() : "COMBO";
        if (received != wanted && received != "*" && wanted != "*") {
            r.reasons.push_back(error_obj(
                "return_type_mismatch", "Return type mismatch between linked nodes",
                in.name + ", received_type(" + received + ") mismatch input_type(" + wanted + ")",
                {{"input_name", in.name},
                 {"input_config", info},
                 {"received_type", received},
                 {"linked_node", val}}));
            return;
        }
        if (!validate(from_id).valid) r.valid = false;
    }

    void custom_check(const NodeSpec& spec, const InputSpec& in, const Json& inputs,
                      NodeResult& r) {
        if (spec.behaviour != Behaviour::LoadImage) return;
        if (!inputs.contains(in.name) || inputs[in.name].is_array()) return;
        const std::string name = py_str(inputs[in.name]);
        if (image_exists_(name)) return;
        r.reasons.push_back(
            error_obj("custom_validation_failed", "Custom validation failed for node",
                      in.name + " - Invalid image file: " + name, {{"input_name", in.name}}));
    }

    Json& prompt_;
    const NodeTable& table_;
    const ImageExists& image_exists_;
    std::map<std::string, NodeResult> done_;
    std::vector<std::string> order_;
    std::set<std::string> visiting_;
};

Json missing_node(const std::string& id, const Json& node) {
    const Json meta = node.value("_meta", Json::object());
    const Json title = meta.is_object() ? meta.value("title", Json()) : Json();
    if (!node.contains("class_type")) {
        const std::string shown = title.is_string() ? title.get<std::string>() : "#" + id;
        return error_obj("missing_node_type",
                         "Node '" + shown +
                             "' has no class_type. The workflow may be corrupted or a custom node "
                             "may be missing.",
                         "Node ID '#" + id + "'",
                         {{"node_id", id}, {"class_type", nullptr}, {"node_title", title}});
    }
    const Json& class_type = node["class_type"];
    const Json node_title = title.is_null() ? class_type : title;
    return error_obj(
        "missing_node_type",
        "Node '" + py_str(node_title) + "' not found. The custom node may not be installed.",
        "Node ID '#" + id + "'",
        {{"node_id", id}, {"class_type", class_type}, {"node_title", node_title}});
}

bool in_targets(const Json& targets, const std::string& id) {
    if (targets.is_null()) return true;
    if (!targets.is_array()) return false;
    for (const auto& t : targets) {
        if (t.is_string() && t.get<std::string>() == id) return true;
    }
    return false;
}

}  // namespace

Validation validate_prompt(const Json& prompt, const NodeTable& table,
                           const ImageExists& image_exists, const Json& partial_targets) {
    Validation v;
    v.prompt = prompt;
    std::vector<std::string> outputs;
    for (const auto& [id, node] : prompt.items()) {
        const NodeSpec* spec = nullptr;
        if (node.is_object() && node.contains("class_type") && node["class_type"].is_string()) {
            spec = table.find(node["class_type"].get<std::string>());
        }
        if (spec == nullptr) {
            v.error = missing_node(id, node.is_object() ? node : Json::object());
            return v;
        }
        if (spec->output_node && in_targets(partial_targets, id)) outputs.push_back(id);
    }
    if (outputs.empty()) {
        v.error = error_obj("prompt_no_outputs", "Prompt has no outputs", "", Json::object());
        return v;
    }
    Validator validator(v.prompt, table, image_exists);
    std::vector<std::string> bad_outputs;
    for (const auto& o : outputs) {
        bool valid = false;
        try {
            valid = validator.validate(o).valid;
        } catch (const PyException& ex) {
            NodeResult r;
            r.valid = false;
            r.reasons.push_back(
                error_obj("exception_during_validation", "Exception when validating node",
                          ex.message, {{"exception_type", ex.type}, {"traceback", Json::array()}}));
            validator.clear_stack();
            validator.record(o, r);
        }
        if (valid) {
            v.outputs.push_back(o);
            continue;
        }
        for (const auto& id : validator.order()) {
            const NodeResult& r = validator.result(id);
            if (r.valid || r.reasons.empty()) continue;
            if (!v.node_errors.contains(id)) {
                v.node_errors[id] = {{"errors", r.reasons},
                                     {"dependent_outputs", Json::array()},
                                     {"class_type", v.prompt[id]["class_type"]}};
            }
            v.node_errors[id]["dependent_outputs"].push_back(o);
        }
    }
    if (v.outputs.empty()) {
        std::string details;
        for (const auto& [id, entry] : v.node_errors.items()) {
            for (const auto& e : entry["errors"]) {
                if (!details.empty()) details += "\n";
                details += e["message"].get<std::string>() + ": " + e["details"].get<std::string>();
            }
        }
        v.error = error_obj("prompt_outputs_failed_validation", "Prompt outputs failed validation",
                            details, Json::object());
        return v;
    }
    v.ok = true;
    return v;
}

bool is_canonical_uuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

}  // namespace tollgate::comfysim
