// Graph execution for the DDColor node set. Signatures are FNV-1a hashes of a
// canonical text (class, sorted inputs, upstream signatures, file bytes): a
// stand-in for ComfyUI's tuple keys that needs no Python semantics. Simulated
// failures and interrupts are decided through RunHooks so that the state
// machine in sim_state.cc owns randomness and timing.
#include "comfysim/executor.h"

#include <algorithm>
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

constexpr const char* kOomMessage =
    "Allocation on device \nThis error means you ran out of memory on your GPU.\n\nTIPS: If the "
    "workflow worked before you might have accidentally set the batch_size to a large number.";

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
    if (spec != nullptr && spec->kind == NodeKind::LoadImage) {
        auto path = ctx_.storage->annotated_path(py_str(inputs.value("image", Json(""))));
        text += "\nfile=" + (path ? file_digest(*path) : std::string("missing"));
    }
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

void GraphRun::fail(RunResult& result, const std::string& id, std::string type,
                    std::string message) {
    result.outcome = RunOutcome::Error;
    result.node_id = id;
    result.node_type = prompt_[id]["class_type"].get<std::string>();
    result.exception_type = std::move(type);
    result.exception_message = std::move(message) + "\n";
    result.current_inputs = current_inputs(id);
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
        if (it != values_.end() && !it->second.image.empty()) {
            const Image& img = it->second.image;
            repr = "tensor(shape=[1, " + std::to_string(img.height()) + ", " +
                   std::to_string(img.width()) + ", 3], dtype=torch.float32)";
        }
        out[name] = Json::array({repr});
    }
    return out;
}

NodeOutput GraphRun::compute(const std::string& id, const RunHooks& hooks, RunResult& result,
                             bool& ok) {
    const Json& node = prompt_[id];
    const Json& inputs = node["inputs"];
    const NodeSpec* spec = ctx_.table->find(node["class_type"].get<std::string>());
    auto upstream = [&](const char* name) -> Image {
        const Json& link = inputs.at(name);
        return values_.at(link[0].get<std::string>()).image;
    };
    NodeOutput out;
    ok = false;
    switch (spec->kind) {
        case NodeKind::LoadImage: {
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
        case NodeKind::Colorize: {
            Image in = upstream("image");
            if (hooks.fail_colorize()) {
                fail(result, id, "torch.OutOfMemoryError", kOomMessage);
                return out;
            }
            hooks.gpu_work(in.megapixels());
            auto img = colorize(in);
            if (!img) {
                fail(result, id, "RuntimeError", img.error().message);
                return out;
            }
            out.image = std::move(*img);
            break;
        }
        case NodeKind::SaveImage:
        case NodeKind::PreviewImage: {
            const bool preview = spec->kind == NodeKind::PreviewImage;
            const FolderType folder = preview ? FolderType::Temp : FolderType::Output;
            const std::string prefix = preview ? "ComfyUI_temp_" + ctx_.preview_suffix
                                               : py_str(inputs.at("filename_prefix"));
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
            auto saved = save_png(upstream("images"), target->path, text);
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
