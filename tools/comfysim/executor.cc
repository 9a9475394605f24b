// Graph execution over the node table's generic behaviours. Signatures are FNV-1a hashes of a
// canonical text (class, sorted inputs, upstream signatures, file bytes): a
// stand-in for ComfyUI's tuple keys that needs no Python semantics. Simulated
// failures and interrupts are decided through RunHooks so that the state
// machine in sim_state.cc owns randomness and timing. image_scale computes
// its size as ComfyUI's ImageScaleBy does, round(side * factor) with
// Python's round-half-even, which std::nearbyint gives under the default
// rounding mode.
#include "comfysim/executor.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

namespace tollgate::comfysim {
namespace {

std::string fnv1a_hex(std::string_view data) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : data) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

std::string file_digest(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return "missing";
    const std::string bytes(std::istreambuf_iterator<char>(in), {});
    return fnv1a_hex(bytes);
}

bool is_link(const Json& v) { return v.is_array() && v.size() == 2 && v[0].is_string(); }

// torch's out-of-memory text under cudaMallocAsync, and ComfyUI's tips for it.
constexpr const char* kOomType = "torch.OutOfMemoryError";
constexpr const char* kOomMessage = "Allocation on device ";
constexpr const char* kOomTips =
    "This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before "
    "you might have accidentally set the batch_size to a large number.";

}  // namespace

const NodeOutput* NodeCache::find(const std::string& signature) const {
    auto it = entries_.find(signature);
    return it == entries_.end() ? nullptr : &it->second;
}

void NodeCache::put(const std::string& signature, NodeOutput output) {
    entries_[signature] = std::move(output);
}

void NodeCache::keep_only(const std::set<std::string>& keep) {
    for (auto it = entries_.begin(); it != entries_.end();) {
        it = keep.count(it->first) ? std::next(it) : entries_.erase(it);
    }
}

GraphRun::GraphRun(const Json& prompt, std::vector<std::string> outputs, RunContext context)
    : prompt_(prompt), outputs_(std::move(outputs)), ctx_(std::move(context)) {
    std::set<std::string> keep;
    for (const auto& [id, node] : prompt_.items()) keep.insert(signature(id));
    if (!ctx_.use_cache) keep.clear();
    ctx_.cache->keep_only(keep);
    for (const auto& [id, node] : prompt_.items()) {
        if (ctx_.use_cache && ctx_.cache->find(signature(id)) != nullptr) cached_.push_back(id);
    }
}

std::string GraphRun::signature(const std::string& id) {
    if (auto it = signatures_.find(id); it != signatures_.end()) return it->second;
    signatures_[id] = "cycle";  // validation rejects cycles; this only stops recursion
    const Json& node = prompt_[id];
    // Nodes no output depends on were never validated and may lack inputs.
    const Json inputs =
        node.contains("inputs") && node["inputs"].is_object() ? node["inputs"] : Json::object();
    std::string text = node["class_type"].get<std::string>();
    std::vector<std::string> names;
    for (const auto& [name, value] : inputs.items()) names.push_back(name);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        const Json& v = inputs[name];
        text += "\n" + name + "=";
        if (is_link(v) && prompt_.contains(v[0].get<std::string>())) {
            text += "link(" + signature(v[0].get<std::string>()) + "," + v[1].dump() + ")";
        } else {
            text += v.dump();
        }
    }
    const NodeSpec* spec = ctx_.table->find(node["class_type"].get<std::string>());
    if (spec != nullptr && spec->behaviour == Behaviour::LoadImage) {
        auto path = ctx_.storage->annotated_path(py_str(inputs.value("image", Json(""))));
        text += "\nfile=" + (path ? file_digest(*path) : std::string("missing"));
    }
    if (spec != nullptr && spec->behaviour == Behaviour::Meter) text += "\nrun=" + ctx_.run_id;
    return signatures_[id] = fnv1a_hex(text);
}

RunResult GraphRun::execute(const RunHooks& hooks) {
    RunResult result;
    std::set<std::string> done;
    for (const auto& out : outputs_) {
        if (!visit(out, hooks, result, done)) break;
    }
    for (const auto& [id, node] : prompt_.items()) {
        const bool in_cache =
            ctx_.use_cache ? ctx_.cache->find(signature(id)) != nullptr : values_.count(id) > 0;
        if (in_cache) result.current_outputs.push_back(id);
    }
    return result;
}

bool GraphRun::visit(const std::string& id, const RunHooks& hooks, RunResult& result,
                     std::set<std::string>& done) {
    if (done.count(id)) return true;
    const bool root = std::find(outputs_.begin(), outputs_.end(), id) != outputs_.end();
    if (ctx_.use_cache) {
        if (const NodeOutput* hit = ctx_.cache->find(signature(id))) {
            values_[id] = *hit;
            done.insert(id);
            if (root) {
                // ComfyUI re-sends a cached output node's UI without running it.
                result.executed.push_back(id);
                if (!hit->ui.is_null()) {
                    hooks.executed(id, hit->ui);
                    result.outputs[id] = hit->ui;
                    result.meta[id] = {{"node_id", id},
                                       {"display_node", id},
                                       {"parent_node", nullptr},
                                       {"real_node_id", id}};
                }
            }
            return true;
        }
    }
    for (const auto& [name, v] : prompt_[id]["inputs"].items()) {
        if (is_link(v) && !visit(v[0].get<std::string>(), hooks, result, done)) return false;
    }
    done.insert(id);
    return run_node(id, hooks, result);
}

bool GraphRun::run_node(const std::string& id, const RunHooks& hooks, RunResult& result) {
    hooks.executing(id);
    if (hooks.interrupted()) {
        result.outcome = RunOutcome::Interrupted;
        result.node_id = id;
        result.node_type = prompt_[id]["class_type"].get<std::string>();
        return false;
    }
    bool ok = true;
    NodeOutput out = compute(id, hooks, result, ok);
    if (!ok) return false;
    values_[id] = out;
    if (ctx_.use_cache) ctx_.cache->put(signature(id), out);
    result.executed.push_back(id);
    if (!out.ui.is_null()) {
        hooks.executed(id, out.ui);
        result.outputs[id] = out.ui;
        result.meta[id] = {
            {"node_id", id}, {"display_node", id}, {"parent_node", nullptr}, {"real_node_id", id}};
    }
    return true;
}

void GraphRun::fail(RunResult& result, const std::string& id, std::string type, std::string message,
                    const std::string& tips) {
    result.outcome = RunOutcome::Error;
    result.node_id = id;
    result.node_type = prompt_[id]["class_type"].get<std::string>();
    result.exception_type = std::move(type);
    result.exception_message = std::move(message) + "\n" + tips;
    result.current_inputs = current_inputs(id);
}

GpuWork GraphRun::gpu_work(const std::string& id, const NodeSpec& spec, const Image& in, int width,
                           int height) const {
    GpuWork work;
    work.spec = &spec;
    work.node_id = id;
    if (!spec.model_input.empty()) {
        work.model = py_str(input_or_default(id, spec, spec.model_input));
    } else {
        work.model = spec.model;
    }
    const double out_megapixels = static_cast<double>(width) * height / 1e6;
    work.megapixels = std::max(in.megapixels(), out_megapixels);
    work.vram_megapixels = work.megapixels;
    if (!spec.tile_input.empty()) {
        const Json tile = input_or_default(id, spec, spec.tile_input);
        const double side = tile.is_number() ? tile.get<double>() : 0.0;
        const int longest = std::max({in.width(), in.height(), width, height});
        if (side >= 1.0 && longest > side) {
            work.vram_megapixels = std::min(work.megapixels, side * side / 1e6);
        }
    }
    return work;
}

Json GraphRun::current_inputs(const std::string& id) const {
    Json out = Json::object();
    for (const auto& [name, v] : prompt_[id]["inputs"].items()) {
        if (!is_link(v)) {
            out[name] = Json::array({v});
            continue;
        }
        auto it = values_.find(v[0].get<std::string>());
        std::string repr = "tensor(<unavailable>)";
        if (it != values_.end() && output_type(v) == "STRING") {
            repr = py_repr(Json(it->second.text));
        } else if (it != values_.end() && !it->second.image.empty()) {
            const Image& img = it->second.image;
            repr = "tensor(shape=[1, " + std::to_string(img.height()) + ", " +
                   std::to_string(img.width()) + ", 3], dtype=torch.float32)";
        }
        out[name] = Json::array({repr});
    }
    return out;
}

const Image* GraphRun::upstream(const std::string& id, const std::string& input,
                                RunResult& result) {
    const Json& value = prompt_.at(id).at("inputs").at(input);
    if (is_link(value)) return &values_.at(value[0].get<std::string>()).image;
    // Validation lets a literal through to an IMAGE input, as ComfyUI's does;
    // the node then fails on it.
    const char* type = value.is_string()         ? "str"
                       : value.is_boolean()      ? "bool"
                       : value.is_number_float() ? "float"
                       : value.is_number()       ? "int"
                       : value.is_array()        ? "list"
                       : value.is_object()       ? "dict"
                                                 : "NoneType";
    fail(result, id, "AttributeError",
         "'" + std::string(type) + "' object has no attribute 'shape'");
    return nullptr;
}

std::string GraphRun::output_type(const Json& link) const {
    const NodeSpec* from =
        ctx_.table->find(prompt_.at(link[0].get<std::string>())["class_type"].get<std::string>());
    if (from == nullptr || !link[1].is_number_integer()) return "";
    const auto n = static_cast<std::int64_t>(from->output_types.size());
    const auto slot = link[1].get<std::int64_t>();
    if (slot >= n || slot < -n) return "";
    return from->output_types[static_cast<std::size_t>(slot < 0 ? slot + n : slot)];
}

Json GraphRun::input_or_default(const std::string& id, const NodeSpec& spec,
                                const std::string& name) const {
    const Json& inputs = prompt_.at(id).at("inputs");
    if (inputs.contains(name)) return inputs[name];
    for (const auto& in : spec.inputs) {
        if (in.name == name && in.config.size() > 1) return in.config[1].value("default", Json());
    }
    return nullptr;
}

bool GraphRun::transform(const std::string& id, const NodeSpec& spec, const RunHooks& hooks,
                         RunResult& result, NodeOutput& out) {
    const Image* source = upstream(id, spec.image_input, result);
    if (source == nullptr) return false;
    const Image& in = *source;
    int width = in.width();
    int height = in.height();
    if (spec.behaviour == Behaviour::ImageScale) {
        double factor = spec.scale;
        if (!spec.scale_input.empty()) {
            const Json value = input_or_default(id, spec, spec.scale_input);
            if (!value.is_number()) {
                fail(result, id, "TypeError",
                     "unsupported operand type(s) for *: 'int' and '" +
                         std::string(value.is_null() ? "NoneType" : value.type_name()) + "'");
                return false;
            }
            factor = value.get<double>();
        }
        const double w = std::nearbyint(in.width() * factor);
        const double h = std::nearbyint(in.height() * factor);
        if (w < 1 || h < 1) {
            fail(result, id, "RuntimeError",
                 "Input and output sizes should be greater than 0, but got input (H: " +
                     std::to_string(in.height()) + ", W: " + std::to_string(in.width()) +
                     ") output (H: " + std::to_string(static_cast<long long>(h)) +
                     ", W: " + std::to_string(static_cast<long long>(w)) + ")");
            return false;
        }
        if (w * h / 1e6 > kScaledMegapixelsMax) {
            fail(result, id, kOomType, kOomMessage, kOomTips);
            return false;
        }
        width = static_cast<int>(w);
        height = static_cast<int>(h);
    }
    if (spec.is_gpu() &&
        hooks.gpu_work(gpu_work(id, spec, in, width, height)) == GpuOutcome::OutOfMemory) {
        fail(result, id, kOomType, kOomMessage, kOomTips);
        return false;
    }
    core::Result<Image> img = in;
    if (spec.behaviour == Behaviour::ImageScale) {
        const Json method =
            spec.method_input.empty() ? Json() : input_or_default(id, spec, spec.method_input);
        img = resize(in, width, height,
                     resample_from_name(method.is_string() ? method.get<std::string>() : ""));
    } else {
        img = apply_effect(in, spec.effect);
    }
    if (!img) {
        fail(result, id, "RuntimeError", img.error().message);
        return false;
    }
    out.image = std::move(*img);
    if (std::find(spec.output_types.begin(), spec.output_types.end(), "STRING") !=
        spec.output_types.end()) {
        // A stand-in for recognised text: deterministic and tied to the picture.
        out.text = "simulated text, 1 region, " + std::to_string(out.image.width()) + "x" +
                   std::to_string(out.image.height());
    }
    return true;
}

NodeOutput GraphRun::compute(const std::string& id, const RunHooks& hooks, RunResult& result,
                             bool& ok) {
    const Json& node = prompt_[id];
    const Json& inputs = node["inputs"];
    const NodeSpec* spec = ctx_.table->find(node["class_type"].get<std::string>());
    NodeOutput out;
    ok = false;
    switch (spec->behaviour) {
        case Behaviour::LoadImage: {
            const std::string name = py_str(inputs.at("image"));
            auto path = ctx_.storage->annotated_path(name);
            if (!path) {
                fail(result, id, "FileNotFoundError",
                     "[Errno 2] No such file or directory: '" + name + "'");
                return out;
            }
            auto img = load_image(*path);
            if (!img) {
                fail(result, id, "PIL.UnidentifiedImageError", img.error().message);
                return out;
            }
            out.image = std::move(*img);
            break;
        }
        case Behaviour::ImageFilter:
        case Behaviour::ImageScale:
            if (!transform(id, *spec, hooks, result, out)) return out;
            break;
        case Behaviour::Meter: {
            const Image* image = upstream(id, spec->image_input, result);
            if (image == nullptr) return out;
            out.image = *image;  // the same pixels, passed through
            out.ui = meter_ui(hooks.meter ? std::optional(hooks.meter()) : std::nullopt);
            break;
        }
        case Behaviour::SaveImage:
        case Behaviour::PreviewImage: {
            const bool preview = spec->behaviour == Behaviour::PreviewImage;
            const FolderType folder = preview ? FolderType::Temp : FolderType::Output;
            const std::string prefix = preview ? "ComfyUI_temp_" + ctx_.preview_suffix
                                               : py_str(inputs.at("filename_prefix"));
            const Image* image = upstream(id, spec->image_input, result);
            if (image == nullptr) return out;
            auto target = ctx_.storage->next_save_target(prefix, folder);
            if (!target) {
                fail(result, id, "Exception", target.error().message);
                return out;
            }
            std::vector<std::pair<std::string, std::string>> text = {{"prompt", prompt_.dump()}};
            if (ctx_.extra_pnginfo.is_object()) {
                for (const auto& [k, v] : ctx_.extra_pnginfo.items())
                    text.emplace_back(k, v.dump());
            }
            auto saved = save_png(*image, target->path, text);
            if (!saved) {
                fail(result, id, "OSError", saved.error().message);
                return out;
            }
            out.ui = {{"images", Json::array({{{"filename", target->filename},
                                               {"subfolder", target->subfolder},
                                               {"type", folder_type_name(folder)}}})}};
            break;
        }
    }
    ok = true;
    return out;
}

}  // namespace tollgate::comfysim
