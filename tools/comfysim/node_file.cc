// Node file parsing. The text is bounded (size, then bracket depth) before
// nlohmann sees it, because copying or destroying a deeply nested value
// recurses. Each entry is then checked field by field; a problem throws a
// BadEntry that never leaves this file and becomes one error naming the file,
// the entry's position (1-based) and its class_type. Checking everything at
// load means validate.cc and executor.cc can trust every spec: a "min" is a
// number, an image_filter has an IMAGE input, a save node has no outputs.
//
// Rejected: a schema library (one more dependency for ~15 fields), and
// silently ignoring unknown keys (an operator's typo would quietly do
// nothing). Keys of /object_info itself are ignored so captures paste in.
#include "comfysim/node_file.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

namespace tollgate::comfysim {
namespace {

constexpr const char* kInvalid = "invalid_node_file";

struct BadEntry {
    std::string problem;
};

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// True when no array/object nests deeper than `depth_max`; skips strings.
bool depth_within(std::string_view text, int depth_max) {
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > depth_max) return false;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return true;
}

bool has_control(std::string_view s, bool allow_newlines) {
    return std::any_of(s.begin(), s.end(), [allow_newlines](char c) {
        const auto u = static_cast<unsigned char>(c);
        if (allow_newlines && (c == '\n' || c == '\t')) return false;
        return u < 0x20 || u == 0x7f;
    });
}

// A short identifier: a class_type, an input name, a type name.
std::string name_value(const Json& v, const std::string& what) {
    if (!v.is_string()) throw BadEntry{what + " must be a string"};
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty()) throw BadEntry{what + " is empty"};
    if (s.size() > kNodeNameBytesMax) {
        throw BadEntry{what + " is longer than " + std::to_string(kNodeNameBytesMax) + " bytes"};
    }
    if (has_control(s, false)) throw BadEntry{what + " contains control characters"};
    return s;
}

std::string text_field(const Json& entry, const char* key, std::string fallback) {
    if (!entry.contains(key)) return fallback;
    const Json& v = entry[key];
    const std::string what = in_quotes(key);
    if (!v.is_string()) throw BadEntry{what + " must be a string"};
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > kNodeTextBytesMax) {
        throw BadEntry{what + " is longer than " + std::to_string(kNodeTextBytesMax) + " bytes"};
    }
    if (has_control(s, true)) throw BadEntry{what + " contains control characters"};
    return s;
}

double number_field(const Json& entry, const char* key, double min, double max) {
    const Json& v = entry[key];
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
        throw BadEntry{in_quotes(key) + " must be a number"};
    }
    const double d = v.get<double>();
    if (d < min || d > max) {
        throw BadEntry{in_quotes(key) + " must be in [" + py_str(Json(min)) + ", " +
                       py_str(Json(max)) + "]"};
    }
    return d;
}

// One input's raw ComfyUI config: [type or choice list] or [..., options].
Json input_config(const Json& v, const std::string& name) {
    const std::string what = "input " + in_quotes(name);
    if (!v.is_array() || v.empty() || v.size() > 2) {
        throw BadEntry{what + " must be [type] or [type, options]"};
    }
    const Json& type = v[0];
    if (type.is_array()) {
        if (type.size() > kNodeChoicesMax) {
            throw BadEntry{what + " has more than " + std::to_string(kNodeChoicesMax) + " choices"};
        }
        for (const auto& c : type) {
            if (!c.is_string() && !c.is_number() && !c.is_boolean()) {
                throw BadEntry{what + " choices must be strings, numbers or booleans"};
            }
        }
    } else if (type.is_string()) {
        name_value(type, what + " type");
    } else {
        throw BadEntry{what + " type must be a type name or a list of choices"};
    }
    if (v.size() == 2) {
        const Json& options = v[1];
        if (!options.is_object()) throw BadEntry{what + " options must be an object"};
        for (const char* bound : {"min", "max"}) {
            if (options.contains(bound) &&
                (!options[bound].is_number() || !std::isfinite(options[bound].get<double>()))) {
                throw BadEntry{what + " option " + in_quotes(bound) + " must be a number"};
            }
        }
        if (options.contains("min") && options.contains("max") &&
            options["max"].get<double>() < options["min"].get<double>()) {
            throw BadEntry{what + " has max < min"};
        }
    }
    return v;
}

void parse_inputs(const Json& input, NodeSpec& s) {
    if (!input.is_object()) {
        throw BadEntry{"\"input\" must be an object with required/optional/hidden sections"};
    }
    std::set<std::string> names;
    for (const auto& [section, body] : input.items()) {
        const bool required = section == "required";
        if (!required && section != "optional" && section != "hidden") {
            throw BadEntry{"input section " + in_quotes(section) +
                           " is not required, optional or hidden"};
        }
        if (!body.is_object())
            throw BadEntry{"input section " + in_quotes(section) + " must be an object"};
        for (const auto& [name, config] : body.items()) {
            name_value(Json(name), "an input name in " + in_quotes(section));
            if (!names.insert(name).second)
                throw BadEntry{"input " + in_quotes(name) + " appears twice"};
            if (names.size() > kNodeInputsMax) {
                throw BadEntry{"more than " + std::to_string(kNodeInputsMax) + " inputs"};
            }
            if (section == "hidden") {
                name_value(config, "hidden input " + in_quotes(name));
                continue;
            }
            s.inputs.push_back({name, input_config(config, name), required, false});
        }
    }
    s.hidden = input.contains("hidden") ? input["hidden"] : Json::object();
}

std::vector<std::string> name_list(const Json& entry, const char* key) {
    std::vector<std::string> out;
    const Json& v = entry[key];
    if (!v.is_array()) throw BadEntry{in_quotes(key) + " must be an array of strings"};
    if (v.size() > kNodeOutputsMax) {
        throw BadEntry{in_quotes(key) + " has more than " + std::to_string(kNodeOutputsMax) +
                       " entries"};
    }
    for (const auto& n : v) out.push_back(name_value(n, "an entry of " + in_quotes(key)));
    return out;
}

InputSpec* find_input(NodeSpec& s, const std::string& name) {
    for (auto& in : s.inputs) {
        if (in.name == name) return &in;
    }
    return nullptr;
}

// The input's type name, or "COMBO" for a choice list.
std::string type_of(const InputSpec& in) {
    return in.config[0].is_string() ? in.config[0].get<std::string>() : "COMBO";
}

// The first required IMAGE input: what filters, scalers and savers read.
InputSpec& image_input(NodeSpec& s) {
    for (auto& in : s.inputs) {
        if (in.required && type_of(in) == "IMAGE") return in;
    }
    throw BadEntry{"behaviour needs a required IMAGE input"};
}

std::optional<Behaviour> behaviour_from_name(const std::string& name) {
    if (name == "load_image") return Behaviour::LoadImage;
    if (name == "save_image") return Behaviour::SaveImage;
    if (name == "preview_image") return Behaviour::PreviewImage;
    if (name == "image_filter") return Behaviour::ImageFilter;
    if (name == "image_scale") return Behaviour::ImageScale;
    if (name == "meter") return Behaviour::Meter;
    return std::nullopt;
}

// The cost model's keys besides "cost" (node_file.h).
const std::set<std::string> kGpuKeys = {"seconds",         "seconds_per_mp", "vram_mib",
                                        "vram_mib_per_mp", "model_input",    "model",
                                        "tile_input"};

bool is_known_key(const std::string& key) {
    static const std::set<std::string> kOwn = {
        "class_type",   "behaviour",    "effect",      "scale_input",   "scale",
        "method_input", "cost",         "input",       "output",        "output_name",
        "output_node",  "display_name", "description", "python_module", "category"};
    if (kGpuKeys.count(key) > 0) return true;
    // /object_info fields that the table derives or does not model.
    static const std::set<std::string> kIgnored = {"name",
                                                   "input_order",
                                                   "is_input_list",
                                                   "output_is_list",
                                                   "output_tooltips",
                                                   "search_aliases",
                                                   "has_intermediate_output",
                                                   "deprecated",
                                                   "experimental",
                                                   "dev_only",
                                                   "api_node"};
    return key.rfind('_', 0) == 0 || kOwn.count(key) > 0 || kIgnored.count(key) > 0;
}

void check_outputs(const NodeSpec& s, const std::set<std::string>& allowed) {
    for (const auto& t : s.output_types) {
        if (!allowed.count(t))
            throw BadEntry{"output type " + in_quotes(t) + " is not supported by this behaviour"};
    }
}

std::int64_t mib_field(const Json& e, const char* key) {
    if (!e.contains(key)) return 0;
    return static_cast<std::int64_t>(number_field(e, key, 0.0, kNodeVramMibMax) * 1024.0 * 1024.0);
}

// The cost model of an image_filter / image_scale node (node_file.h).
void apply_gpu_cost(const Json& e, NodeSpec& s) {
    s.fixed_seconds = e.contains("seconds") || e.contains("seconds_per_mp");
    if (s.fixed_seconds && e.contains("cost")) {
        throw BadEntry{"\"cost\" and \"seconds\"/\"seconds_per_mp\" exclude each other"};
    }
    s.cost = e.contains("cost") ? number_field(e, "cost", 0.0, kNodeCostMax) : 1.0;
    if (s.fixed_seconds) {
        s.cost = 0.0;
        if (e.contains("seconds")) s.seconds = number_field(e, "seconds", 0.0, kNodeSecondsMax);
        if (e.contains("seconds_per_mp")) {
            s.seconds_per_megapixel = number_field(e, "seconds_per_mp", 0.0, kNodeSecondsMax);
        }
    }
    s.vram_bytes = mib_field(e, "vram_mib");
    s.vram_bytes_per_megapixel = mib_field(e, "vram_mib_per_mp");
    if (e.contains("model_input") && e.contains("model")) {
        throw BadEntry{"\"model_input\" and \"model\" exclude each other"};
    }
    if (e.contains("model_input")) {
        s.model_input = name_value(e["model_input"], "\"model_input\"");
        const InputSpec* in = find_input(s, s.model_input);
        if (in == nullptr || (type_of(*in) != "COMBO" && type_of(*in) != "STRING")) {
            throw BadEntry{"\"model_input\" " + in_quotes(s.model_input) +
                           " must name a choice-list or STRING input"};
        }
    }
    if (e.contains("model")) s.model = name_value(e["model"], "\"model\"");
    if (e.contains("tile_input")) {
        s.tile_input = name_value(e["tile_input"], "\"tile_input\"");
        const InputSpec* in = find_input(s, s.tile_input);
        if (in == nullptr || type_of(*in) != "INT") {
            throw BadEntry{"\"tile_input\" " + in_quotes(s.tile_input) + " must name an INT input"};
        }
    }
}

void apply_behaviour(const Json& e, NodeSpec& s) {
    const bool filter = s.behaviour == Behaviour::ImageFilter;
    const bool scaler = s.behaviour == Behaviour::ImageScale;
    if (e.contains("effect") != filter) {
        throw BadEntry{filter ? "image_filter needs an \"effect\""
                              : "\"effect\" applies only to image_filter"};
    }
    if (!scaler) {
        for (const char* key : {"scale_input", "scale", "method_input"}) {
            if (e.contains(key)) throw BadEntry{in_quotes(key) + " applies only to image_scale"};
        }
    }
    if (!filter && !scaler) {
        for (const char* key : {"cost", "seconds", "seconds_per_mp", "vram_mib", "vram_mib_per_mp",
                                "model_input", "model", "tile_input"}) {
            if (e.contains(key)) {
                throw BadEntry{in_quotes(key) + " applies only to image_filter and image_scale"};
            }
        }
    }
    switch (s.behaviour) {
        case Behaviour::LoadImage: {
            InputSpec* image = find_input(s, "image");
            if (image == nullptr || !image->required || !image->config[0].is_array()) {
                throw BadEntry{"load_image needs a required choice-list input \"image\""};
            }
            image->custom_validated = true;
            s.lists_input_files = true;
            if (s.output_types.empty() || s.output_types[0] != "IMAGE") {
                throw BadEntry{"load_image's first output must be IMAGE"};
            }
            check_outputs(s, {"IMAGE", "MASK"});
            if (s.output_node) throw BadEntry{"load_image cannot be an output node"};
            return;
        }
        case Behaviour::SaveImage:
        case Behaviour::PreviewImage: {
            s.image_input = image_input(s).name;
            if (s.behaviour == Behaviour::SaveImage) {
                const InputSpec* prefix = find_input(s, "filename_prefix");
                if (prefix == nullptr || !prefix->required || type_of(*prefix) != "STRING") {
                    throw BadEntry{"save_image needs a required STRING input \"filename_prefix\""};
                }
            }
            if (!s.output_types.empty()) throw BadEntry{"save and preview nodes have no outputs"};
            if (!s.output_node) throw BadEntry{"save and preview nodes must be output nodes"};
            return;
        }
        case Behaviour::Meter:
            s.image_input = image_input(s).name;
            if (s.output_types != std::vector<std::string>{"IMAGE"}) {
                throw BadEntry{"a meter has exactly one output, IMAGE"};
            }
            if (!s.output_node) throw BadEntry{"a meter must be an output node"};
            return;
        case Behaviour::ImageFilter:
        case Behaviour::ImageScale:
            break;
    }
    s.image_input = image_input(s).name;
    if (std::find(s.output_types.begin(), s.output_types.end(), "IMAGE") == s.output_types.end()) {
        throw BadEntry{"behaviour needs an IMAGE output"};
    }
    check_outputs(s, {"IMAGE", "MASK", "STRING"});
    if (s.output_node) throw BadEntry{"image_filter and image_scale cannot be output nodes"};
    apply_gpu_cost(e, s);
    if (filter) {
        const std::string name = name_value(e["effect"], "\"effect\"");
        const auto effect = effect_from_name(name);
        if (!effect) {
            throw BadEntry{"unknown effect " + in_quotes(name) +
                           " (identity, colorize, denoise, despeckle, sharpen, grayscale, "
                           "annotate)"};
        }
        s.effect = *effect;
        return;
    }
    if (e.contains("scale_input") == e.contains("scale")) {
        throw BadEntry{"image_scale needs exactly one of \"scale_input\" and \"scale\""};
    }
    if (e.contains("scale")) {
        s.scale = number_field(e, "scale", 0.0, kNodeScaleMax);
        if (s.scale <= 0.0) throw BadEntry{"\"scale\" must be positive"};
    } else {
        s.scale_input = name_value(e["scale_input"], "\"scale_input\"");
        const InputSpec* in = find_input(s, s.scale_input);
        if (in == nullptr || (type_of(*in) != "INT" && type_of(*in) != "FLOAT")) {
            throw BadEntry{"\"scale_input\" " + in_quotes(s.scale_input) +
                           " must name an INT or FLOAT input"};
        }
    }
    if (e.contains("method_input")) {
        s.method_input = name_value(e["method_input"], "\"method_input\"");
        const InputSpec* in = find_input(s, s.method_input);
        if (in == nullptr || type_of(*in) != "COMBO") {
            throw BadEntry{"\"method_input\" " + in_quotes(s.method_input) +
                           " must name a choice-list input"};
        }
    }
}

NodeSpec parse_entry(const Json& e, std::string& class_type) {
    if (!e.is_object()) throw BadEntry{"an entry must be a JSON object"};
    if (!e.contains("class_type")) throw BadEntry{"missing \"class_type\""};
    NodeSpec s;
    s.class_type = name_value(e["class_type"], "\"class_type\"");
    class_type = s.class_type;
    for (const auto& [key, value] : e.items()) {
        if (!is_known_key(key)) throw BadEntry{"unknown field " + in_quotes(key)};
    }
    if (!e.contains("behaviour")) {
        throw BadEntry{
            "missing \"behaviour\" (load_image, save_image, preview_image, "
            "image_filter, image_scale or meter)"};
    }
    const std::string behaviour = name_value(e["behaviour"], "\"behaviour\"");
    const auto b = behaviour_from_name(behaviour);
    if (!b) throw BadEntry{"unknown behaviour " + in_quotes(behaviour)};
    s.behaviour = *b;
    if (!e.contains("input")) throw BadEntry{"missing \"input\""};
    parse_inputs(e["input"], s);
    s.output_types = e.contains("output") ? name_list(e, "output") : std::vector<std::string>{};
    s.output_names = e.contains("output_name") ? name_list(e, "output_name") : s.output_types;
    if (s.output_names.size() != s.output_types.size()) {
        throw BadEntry{"\"output_name\" and \"output\" differ in length"};
    }
    if (e.contains("output_node")) {
        if (!e["output_node"].is_boolean()) throw BadEntry{"\"output_node\" must be true or false"};
        s.output_node = e["output_node"].get<bool>();
    }
    s.display_name = text_field(e, "display_name", s.class_type);
    s.description = text_field(e, "description", "");
    s.python_module = text_field(e, "python_module", "custom_nodes");
    s.category = text_field(e, "category", "sd");  // ComfyUI's default CATEGORY
    apply_behaviour(e, s);
    return s;
}

core::Error file_error(std::string_view source, const std::string& problem) {
    return core::make_error(kInvalid, "nodes file " + std::string(source) + ": " + problem);
}

}  // namespace

core::Result<std::vector<NodeSpec>> parse_node_file(std::string_view text,
                                                    std::string_view source) {
    if (text.size() > kNodeFileBytesMax) {
        return file_error(source, "larger than " + std::to_string(kNodeFileBytesMax) + " bytes");
    }
    if (!depth_within(text, kNodeFileDepthMax)) {
        return file_error(source,
                          "nested deeper than " + std::to_string(kNodeFileDepthMax) + " levels");
    }
    Json doc;
    try {
        doc = Json::parse(text.begin(), text.end());
    } catch (const Json::exception& e) {
        return file_error(source, std::string("not valid JSON: ") + e.what());
    }
    if (!doc.is_array()) return file_error(source, "the top level must be an array of entries");
    if (doc.size() > kNodeTableEntriesMax) {
        return file_error(source, "more than " + std::to_string(kNodeTableEntriesMax) + " entries");
    }
    std::vector<NodeSpec> out;
    std::map<std::string, std::size_t> seen;  // class_type -> 1-based position
    for (std::size_t i = 0; i < doc.size(); ++i) {
        std::string class_type;
        std::string problem;
        try {
            NodeSpec spec = parse_entry(doc[i], class_type);
            if (auto [it, fresh] = seen.emplace(class_type, i + 1); !fresh) {
                problem = "class_type repeats entry " + std::to_string(it->second);
            } else {
                out.push_back(std::move(spec));
                continue;
            }
        } catch (const BadEntry& bad) {
            problem = bad.problem;
        } catch (const Json::exception& e) {
            problem = e.what();  // a shape the checks above missed
        }
        std::string where = "entry " + std::to_string(i + 1);
        if (!class_type.empty()) where += " (" + in_quotes(class_type) + ")";
        return file_error(source, where + ": " + problem);
    }
    return out;
}

core::Result<std::vector<NodeSpec>> read_node_file(const std::filesystem::path& path) {
    const std::string name = path.string();
    std::ifstream in(path, std::ios::binary);
    if (!in) return file_error(name, "cannot open file");
    std::string text;
    char chunk[4096];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        text.append(chunk, static_cast<std::size_t>(in.gcount()));
        if (text.size() > kNodeFileBytesMax) {
            return file_error(name, "larger than " + std::to_string(kNodeFileBytesMax) + " bytes");
        }
    }
    if (in.bad()) return file_error(name, "read error");
    return parse_node_file(text, name);
}

}  // namespace tollgate::comfysim
