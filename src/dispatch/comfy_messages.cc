// Every parser here runs parse_untrusted_json() first, then walks the tree
// with find() and explicit type checks only: no at(), no operator[] on const
// values, no get<T>() that could throw. The event-data reader is shared by
// WebSocket frames and history status.messages, which record the same
// execution_* payloads, so timestamps and error text come out identically
// whichever path saw them.
//
// The meter node's figures are the one exception to "a wrong type is an
// error": a malformed reading is skipped rather than failing the history
// entry, because the entry also carries the job's image, and a custom node's
// bad output must not cost the client a result it paid for. The figures are
// read from /history only (never from the `executed` message): every
// successful run reads the entry to find its image, so one path suffices.
#include "dispatch/comfy_messages.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "core/limits.h"
#include "dispatch/json_guard.h"
#include "dispatch/workflow_template.h"

namespace tollgate::dispatch {
namespace {

using json = nlohmann::json;

constexpr const char* kEventInvalid = "comfy_message_invalid";
constexpr const char* kHistoryInvalid = "comfy_history_invalid";
constexpr const char* kResponseInvalid = "comfy_response_invalid";
constexpr std::size_t kResponseBytesMax = core::limits::kComfyMessageBytesMax;
// More VRAM than this on one worker (1 PiB) is not a real answer.
constexpr std::int64_t kVramBytesMax = std::int64_t{1} << 50;

core::Error field_error(const char* code, std::string_view where, std::string_view key,
                        std::string_view problem) {
    return core::make_error(
        code, std::string(where) + ": field \"" + std::string(key) + "\" " + std::string(problem));
}

// Cuts `s` to at most `bytes_max` bytes without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, std::size_t bytes_max) {
    if (s.size() <= bytes_max) return;
    std::size_t cut = bytes_max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
}

std::string trim(std::string_view s) {
    const auto is_space = [](char c) {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
    };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return std::string(s);
}

// Field readers: an absent key leaves `out` alone; a key with the wrong type is an error.
class Fields {
  public:
    Fields(const json& obj, const char* code, std::string_view where)
        : obj_(obj), code_(code), where_(where) {}

    core::Status string(const char* key, std::string& out, bool required = false) const {
        const auto it = obj_.find(key);
        if (it == obj_.end()) return missing(key, required);
        if (!it->is_string()) return field_error(code_, where_, key, "is not a string");
        out = it->get_ref<const std::string&>();
        return {};
    }

    // A string, or null (out = nullopt). Absent: untouched unless required.
    core::Status string_or_null(const char* key, std::optional<std::string>& out,
                                bool required = false) const {
        const auto it = obj_.find(key);
        if (it == obj_.end()) return missing(key, required);
        if (it->is_null()) {
            out.reset();
            return {};
        }
        if (!it->is_string()) return field_error(code_, where_, key, "is not a string or null");
        out = it->get_ref<const std::string&>();
        return {};
    }

    core::Status integer(const char* key, std::int64_t& out, bool required = false) const {
        const auto it = obj_.find(key);
        if (it == obj_.end()) return missing(key, required);
        if (it->is_number_unsigned()) {
            const auto v = it->get<std::uint64_t>();
            if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                return field_error(code_, where_, key, "is out of range");
            }
            out = static_cast<std::int64_t>(v);
            return {};
        }
        if (it->is_number_integer()) {
            out = it->get<std::int64_t>();
            return {};
        }
        return field_error(code_, where_, key, "is not an integer");
    }

    // An integer, or a finite float in int64 range (truncated toward zero).
    core::Status number_as_integer(const char* key, std::int64_t& out) const {
        const auto it = obj_.find(key);
        if (it == obj_.end() || !it->is_number_float()) return integer(key, out);
        const double v = it->get<double>();
        if (!std::isfinite(v) || std::fabs(v) > 9.0e18) {
            return field_error(code_, where_, key, "is out of range");
        }
        out = static_cast<std::int64_t>(v);
        return {};
    }

    core::Status boolean(const char* key, bool& out) const {
        const auto it = obj_.find(key);
        if (it == obj_.end()) return {};
        if (!it->is_boolean()) return field_error(code_, where_, key, "is not a boolean");
        out = it->get<bool>();
        return {};
    }

    core::Status string_array(const char* key, std::vector<std::string>& out,
                              bool required = false) const {
        const auto it = obj_.find(key);
        if (it == obj_.end()) return missing(key, required);
        if (!it->is_array()) return field_error(code_, where_, key, "is not an array");
        out.clear();
        for (const auto& v : *it) {
            if (!v.is_string()) return field_error(code_, where_, key, "holds a non-string");
            out.push_back(v.get_ref<const std::string&>());
        }
        return {};
    }

  private:
    core::Status missing(const char* key, bool required) const {
        if (!required) return {};
        return field_error(code_, where_, key, "is missing");
    }

    const json& obj_;
    const char* code_;
    std::string_view where_;
};

#define TOLLGATE_RETURN_IF_ERROR(expr)                               \
    do {                                                             \
        if (auto _status = (expr); !_status) return _status.error(); \
    } while (0)

ComfyEvent::Type classify(const std::string& name) {
    using T = ComfyEvent::Type;
    if (name == "status") return T::Status;
    if (name == "execution_start") return T::ExecutionStart;
    if (name == "execution_cached") return T::ExecutionCached;
    if (name == "executing") return T::Executing;
    if (name == "progress") return T::Progress;
    if (name == "executed") return T::Executed;
    if (name == "execution_success") return T::ExecutionSuccess;
    if (name == "execution_error") return T::ExecutionError;
    if (name == "execution_interrupted") return T::ExecutionInterrupted;
    return T::Other;
}

std::string combine_error(const std::string& type, const std::string& message) {
    std::string text = trim(type);
    const std::string msg = trim(message);
    if (!text.empty() && !msg.empty()) text += ": ";
    text += msg;
    truncate_utf8(text, kComfyErrorMessageBytesMax);
    return text;
}

core::Status parse_status(const json& data, const char* code, ComfyEvent& ev) {
    const auto status = data.find("status");
    if (status == data.end() || status->is_null()) return {};
    if (!status->is_object()) return field_error(code, ev.type_name, "status", "is not an object");
    const auto exec_info = status->find("exec_info");
    if (exec_info == status->end()) return {};
    if (!exec_info->is_object()) {
        return field_error(code, ev.type_name, "exec_info", "is not an object");
    }
    return Fields(*exec_info, code, ev.type_name).integer("queue_remaining", ev.queue_remaining);
}

// Fills `ev` (whose type and type_name are set) from the frame's `data`
// object. `data` is not const because Executed's output is moved out of it.
core::Status parse_event_data(json& data, const char* code, ComfyEvent& ev) {
    using T = ComfyEvent::Type;
    const Fields f(data, code, ev.type_name);
    switch (ev.type) {
        case T::Status:
            return parse_status(data, code, ev);
        case T::ExecutionStart:
        case T::ExecutionSuccess:
            TOLLGATE_RETURN_IF_ERROR(f.string("prompt_id", ev.prompt_id, true));
            return f.integer("timestamp", ev.timestamp_ms);
        case T::ExecutionCached:
            TOLLGATE_RETURN_IF_ERROR(f.string("prompt_id", ev.prompt_id, true));
            TOLLGATE_RETURN_IF_ERROR(f.string_array("nodes", ev.cached_nodes));
            return f.integer("timestamp", ev.timestamp_ms);
        case T::Executing:
            TOLLGATE_RETURN_IF_ERROR(f.string_or_null("node", ev.node, true));
            return f.string("prompt_id", ev.prompt_id);
        case T::Progress:
            TOLLGATE_RETURN_IF_ERROR(f.number_as_integer("value", ev.progress_value));
            TOLLGATE_RETURN_IF_ERROR(f.number_as_integer("max", ev.progress_max));
            TOLLGATE_RETURN_IF_ERROR(f.string("prompt_id", ev.prompt_id));
            return f.string_or_null("node", ev.node);
        case T::Executed: {
            TOLLGATE_RETURN_IF_ERROR(f.string("prompt_id", ev.prompt_id));
            TOLLGATE_RETURN_IF_ERROR(f.string_or_null("node", ev.node, true));
            const auto output = data.find("output");
            if (output != data.end() && !output->is_null()) {
                if (!output->is_object()) {
                    return field_error(code, ev.type_name, "output", "is not an object");
                }
                ev.output = std::move(*output);
            }
            return {};
        }
        case T::ExecutionError:
        case T::ExecutionInterrupted: {
            TOLLGATE_RETURN_IF_ERROR(f.string("prompt_id", ev.prompt_id, true));
            TOLLGATE_RETURN_IF_ERROR(f.string_or_null("node_id", ev.node));
            TOLLGATE_RETURN_IF_ERROR(f.string("node_type", ev.node_type));
            TOLLGATE_RETURN_IF_ERROR(f.integer("timestamp", ev.timestamp_ms));
            if (ev.type == T::ExecutionInterrupted) return {};
            std::string exception_type;
            std::string exception_message;
            TOLLGATE_RETURN_IF_ERROR(f.string("exception_type", exception_type));
            TOLLGATE_RETURN_IF_ERROR(f.string("exception_message", exception_message));
            ev.error_message = combine_error(exception_type, exception_message);
            if (ev.error_message.empty()) ev.error_message = "execution error";
            return {};
        }
        case T::Other: {
            // Not interpreted; keep the prompt id when it is a string, for filtering.
            const auto pid = data.find("prompt_id");
            if (pid != data.end() && pid->is_string())
                ev.prompt_id = pid->get_ref<const std::string&>();
            return {};
        }
    }
    return {};
}

std::string summarize_node_errors(const json& node_errors) {
    std::string out;
    if (!node_errors.is_object()) return out;
    std::vector<std::string> ids;
    for (const auto& item : node_errors.items()) ids.push_back(item.key());
    std::sort(ids.begin(), ids.end(), node_id_less);
    for (const auto& id : ids) {
        const json& node = node_errors[id];
        if (!out.empty()) out += "; ";
        out += "node " + id;
        if (!node.is_object()) continue;
        const auto class_type = node.find("class_type");
        if (class_type != node.end() && class_type->is_string()) {
            out += " (" + class_type->get<std::string>() + ")";
        }
        const auto errors = node.find("errors");
        if (errors == node.end() || !errors->is_array()) continue;
        std::string sep = ": ";
        for (const auto& e : *errors) {
            if (!e.is_object()) continue;
            std::string message;
            std::string details;
            (void)Fields(e, kResponseInvalid, "node_errors").string("message", message);
            (void)Fields(e, kResponseInvalid, "node_errors").string("details", details);
            out += sep + trim(message);
            if (!trim(details).empty()) out += " [" + trim(details) + "]";
            sep = ", ";
            if (out.size() > kComfyErrorMessageBytesMax) break;
        }
        if (out.size() > kComfyErrorMessageBytesMax) break;
    }
    std::replace(out.begin(), out.end(), '\n', ' ');
    truncate_utf8(out, kComfyErrorMessageBytesMax);
    return out;
}

// Applies one history status.messages item ([name, data]) to `entry`.
core::Status apply_history_message(json& item, HistoryEntry& entry) {
    if (!item.is_array() || item.size() < 2 || !item[0].is_string() || !item[1].is_object()) {
        return core::make_error(kHistoryInvalid,
                                "history status.messages item is not [string, object]");
    }
    ComfyEvent ev;
    ev.type_name = item[0].get<std::string>();
    ev.type = classify(ev.type_name);
    TOLLGATE_RETURN_IF_ERROR(parse_event_data(item[1], kHistoryInvalid, ev));
    switch (ev.type) {
        case ComfyEvent::Type::ExecutionStart:
            entry.execution_start_ms = ev.timestamp_ms;
            break;
        case ComfyEvent::Type::ExecutionSuccess:
            entry.execution_end_ms = ev.timestamp_ms;
            break;
        case ComfyEvent::Type::ExecutionError:
            entry.execution_end_ms = ev.timestamp_ms;
            entry.error_message = ev.error_message;
            break;
        case ComfyEvent::Type::ExecutionInterrupted:
            entry.execution_end_ms = ev.timestamp_ms;
            entry.interrupted = true;
            break;
        default:
            break;
    }
    return {};
}

core::Status parse_history_status(json& status, HistoryEntry& entry) {
    if (status.is_null()) return {};
    if (!status.is_object())
        return core::make_error(kHistoryInvalid, "history status is not an object");
    entry.has_status = true;
    const Fields f(status, kHistoryInvalid, "history status");
    TOLLGATE_RETURN_IF_ERROR(f.string("status_str", entry.status_str));
    TOLLGATE_RETURN_IF_ERROR(f.boolean("completed", entry.completed));
    const auto messages = status.find("messages");
    if (messages == status.end() || messages->is_null()) return {};
    if (!messages->is_array()) {
        return core::make_error(kHistoryInvalid, "history status.messages is not an array");
    }
    for (auto& item : *messages) TOLLGATE_RETURN_IF_ERROR(apply_history_message(item, entry));
    return {};
}

// One figure of a meter reading: absent or null leaves `out` alone (-1); an
// integer in [0, value_max] is read. False for anything else (a float, a
// string, a negative or too large number): the reading is malformed.
bool read_meter_figure(const json& reading, const char* key, std::int64_t value_max,
                       std::int64_t& out) {
    const auto it = reading.find(key);
    if (it == reading.end() || it->is_null()) return true;
    std::int64_t value = -1;
    if (it->is_number_unsigned()) {
        const auto u = it->get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(value_max)) return false;
        value = static_cast<std::int64_t>(u);
    } else if (it->is_number_integer()) {
        value = it->get<std::int64_t>();
    } else {
        return false;
    }
    if (value < 0 || value > value_max) return false;
    out = value;
    return true;
}

// True when `key` is absent, null or a string.
bool meter_text_ok(const json& reading, const char* key) {
    const auto it = reading.find(key);
    return it == reading.end() || it->is_null() || it->is_string();
}

// One reading of the meter's list, or nullopt when it is malformed.
std::optional<MeterFigures> parse_meter_reading(const json& reading) {
    if (!reading.is_object()) return std::nullopt;
    const auto version = reading.find("version");
    if (version == reading.end() || !version->is_number_integer() ||
        version->get<std::int64_t>() != kMeterShapeVersion) {
        return std::nullopt;
    }
    MeterFigures figures;
    std::int64_t wall_ms = -1;
    if (!read_meter_figure(reading, "wall_ms", kMeterWallMsMax, wall_ms) ||
        !read_meter_figure(reading, "gpu_peak_bytes", kMeterGpuPeakBytesMax,
                           figures.gpu_peak_bytes) ||
        !meter_text_ok(reading, "wall_source") || !meter_text_ok(reading, "device")) {
        return std::nullopt;
    }
    const auto source = reading.find("wall_source");
    if (source != reading.end() && source->is_string() &&
        source->get_ref<const std::string&>() == "execution_start") {
        figures.wall_ms = wall_ms;
    }
    return figures;
}

// Folds the meter readings of one node's UI output into `meter` (see
// HistoryEntry::meter); `readings` counts those looked at so far. Anything
// malformed is skipped: the figures are for the usage record, and a bad one
// must not fail a job whose image is fine.
void read_meter_output(const json& node, MeterFigures& meter, int& readings) {
    const auto list = node.find(kMeterUiKey);
    if (list == node.end() || !list->is_array()) return;
    for (const json& reading : *list) {
        if (readings >= kMeterReadingsMax) return;
        ++readings;
        const std::optional<MeterFigures> figures = parse_meter_reading(reading);
        if (!figures) continue;
        meter.wall_ms = std::max(meter.wall_ms, figures->wall_ms);
        meter.gpu_peak_bytes = std::max(meter.gpu_peak_bytes, figures->gpu_peak_bytes);
    }
}

core::Status parse_history_images(const json& outputs, HistoryEntry& entry) {
    if (outputs.is_null()) return {};
    if (!outputs.is_object())
        return core::make_error(kHistoryInvalid, "history outputs is not an object");
    std::vector<std::string> ids;
    for (const auto& item : outputs.items()) ids.push_back(item.key());
    std::sort(ids.begin(), ids.end(), node_id_less);
    int meter_readings = 0;
    for (const auto& id : ids) {
        const json& node = outputs[id];
        if (!node.is_object()) {
            return core::make_error(kHistoryInvalid,
                                    "history output of node " + id + " is not an object");
        }
        read_meter_output(node, entry.meter, meter_readings);
        const auto images = node.find("images");
        if (images == node.end()) continue;
        if (!images->is_array()) {
            return core::make_error(kHistoryInvalid,
                                    "history images of node " + id + " is not an array");
        }
        for (const auto& image : *images) {
            if (!image.is_object()) {
                return core::make_error(kHistoryInvalid,
                                        "history image of node " + id + " is not an object");
            }
            OutputImage out{id, "", "", "output"};
            const Fields f(image, kHistoryInvalid, "history image");
            TOLLGATE_RETURN_IF_ERROR(f.string("filename", out.filename, true));
            TOLLGATE_RETURN_IF_ERROR(f.string("subfolder", out.subfolder));
            TOLLGATE_RETURN_IF_ERROR(f.string("type", out.type));
            entry.images.push_back(std::move(out));
        }
    }
    return {};
}

}  // namespace

core::Result<ComfyEvent> parse_comfy_event(std::string_view text) {
    auto parsed = parse_untrusted_json(text, core::limits::kComfyMessageBytesMax, kEventInvalid);
    if (!parsed) return parsed.error();
    json& root = *parsed;
    if (!root.is_object()) return core::make_error(kEventInvalid, "frame is not a JSON object");
    ComfyEvent ev;
    TOLLGATE_RETURN_IF_ERROR(
        Fields(root, kEventInvalid, "frame").string("type", ev.type_name, true));
    ev.type = classify(ev.type_name);
    const auto data = root.find("data");
    if (data == root.end() || !data->is_object()) {
        if (ev.type == ComfyEvent::Type::Other) return ev;
        return core::make_error(kEventInvalid, ev.type_name + ": data is missing or not an object");
    }
    TOLLGATE_RETURN_IF_ERROR(parse_event_data(*data, kEventInvalid, ev));
    return ev;
}

core::Result<std::optional<HistoryEntry>> parse_history_entry(std::string_view history_json,
                                                              std::string_view prompt_id) {
    auto parsed = parse_untrusted_json(history_json, kResponseBytesMax, kHistoryInvalid);
    if (!parsed) return parsed.error();
    json& root = *parsed;
    if (!root.is_object()) return core::make_error(kHistoryInvalid, "history is not a JSON object");
    const auto it = root.find(std::string(prompt_id));
    if (it == root.end()) return std::optional<HistoryEntry>{};
    if (!it->is_object())
        return core::make_error(kHistoryInvalid, "history entry is not an object");
    HistoryEntry entry;
    const auto outputs = it->find("outputs");
    if (outputs != it->end()) TOLLGATE_RETURN_IF_ERROR(parse_history_images(*outputs, entry));
    const auto status = it->find("status");
    if (status != it->end()) TOLLGATE_RETURN_IF_ERROR(parse_history_status(*status, entry));
    return std::optional<HistoryEntry>(std::move(entry));
}

core::Result<std::vector<OutputImage>> parse_history_outputs(std::string_view history_json,
                                                             std::string_view prompt_id) {
    auto entry = parse_history_entry(history_json, prompt_id);
    if (!entry) return entry.error();
    if (!entry->has_value()) {
        return core::make_error("history_not_found",
                                "no history entry for prompt " + std::string(prompt_id));
    }
    HistoryEntry& e = **entry;
    if (e.status_str == "error") {
        if (e.interrupted) return core::make_error("execution_error", "execution_interrupted");
        return core::make_error("execution_error",
                                e.error_message.empty() ? "execution error" : e.error_message);
    }
    return std::move(e.images);
}

std::string UploadedImage::image_ref() const {
    return subfolder.empty() ? name : subfolder + "/" + name;
}

core::Result<UploadedImage> parse_upload_response(std::string_view body) {
    auto parsed = parse_untrusted_json(body, kResponseBytesMax, kResponseInvalid);
    if (!parsed) return parsed.error();
    const json& root = *parsed;
    if (!root.is_object())
        return core::make_error(kResponseInvalid, "/upload/image answer is not an object");
    UploadedImage up;
    const Fields f(root, kResponseInvalid, "/upload/image answer");
    TOLLGATE_RETURN_IF_ERROR(f.string("name", up.name, true));
    TOLLGATE_RETURN_IF_ERROR(f.string("subfolder", up.subfolder));
    if (up.name.empty())
        return core::make_error(kResponseInvalid, "/upload/image answer has an empty name");
    return up;
}

core::Result<QueuedPrompt> parse_queue_prompt_response(std::string_view body) {
    auto parsed = parse_untrusted_json(body, kResponseBytesMax, kResponseInvalid);
    if (!parsed) return parsed.error();
    const json& root = *parsed;
    if (!root.is_object())
        return core::make_error(kResponseInvalid, "/prompt answer is not an object");
    QueuedPrompt q;
    TOLLGATE_RETURN_IF_ERROR(
        Fields(root, kResponseInvalid, "/prompt answer").string("prompt_id", q.prompt_id, true));
    if (q.prompt_id.empty())
        return core::make_error(kResponseInvalid, "/prompt answer has an empty prompt_id");
    const auto number = root.find("number");
    if (number != root.end()) {
        if (!number->is_number()) {
            return field_error(kResponseInvalid, "/prompt answer", "number", "is not a number");
        }
        q.number = number->get<double>();
    }
    const auto node_errors = root.find("node_errors");
    if (node_errors != root.end()) q.node_errors_summary = summarize_node_errors(*node_errors);
    return q;
}

std::string summarize_prompt_rejection(std::string_view body) {
    auto parsed = parse_untrusted_json(body, kResponseBytesMax, kResponseInvalid);
    if (!parsed || !parsed->is_object())
        return "worker rejected the prompt (answer is not a JSON object)";
    const json& root = *parsed;
    std::string out;
    const auto error = root.find("error");
    if (error != root.end() && error->is_string()) {
        out = trim(error->get_ref<const std::string&>());  // old servers: "no prompt"
    } else if (error != root.end() && error->is_object()) {
        std::string type;
        std::string message;
        std::string details;
        const Fields f(*error, kResponseInvalid, "error");
        (void)f.string("type", type);
        (void)f.string("message", message);
        (void)f.string("details", details);
        out = trim(message);
        if (!trim(details).empty()) out += (out.empty() ? "" : ": ") + trim(details);
        if (!type.empty()) out += " (" + trim(type) + ")";
    }
    const auto node_errors = root.find("node_errors");
    if (node_errors != root.end()) {
        const std::string nodes = summarize_node_errors(*node_errors);
        if (!nodes.empty()) out += (out.empty() ? "" : "; ") + nodes;
    }
    std::replace(out.begin(), out.end(), '\n', ';');
    if (out.empty()) out = "worker rejected the prompt without a reason";
    truncate_utf8(out, kComfyErrorMessageBytesMax);
    return out;
}

namespace {

// Calls `fn` with each running and pending item of a GET /queue answer
// (checked to be an array whose [1] is the prompt id string); stops early
// when `fn` returns true.
core::Status for_each_queue_item(std::string_view queue_json,
                                 const std::function<bool(const json& item)>& fn) {
    auto parsed = parse_untrusted_json(queue_json, kResponseBytesMax, kResponseInvalid);
    if (!parsed) return parsed.error();
    const json& root = *parsed;
    if (!root.is_object())
        return core::make_error(kResponseInvalid, "/queue answer is not an object");
    for (const char* key : {"queue_running", "queue_pending"}) {
        const auto list = root.find(key);
        if (list == root.end()) continue;
        if (!list->is_array())
            return field_error(kResponseInvalid, "/queue answer", key, "is not an array");
        for (const auto& item : *list) {
            if (!item.is_array() || item.size() < 2 || !item[1].is_string()) {
                return field_error(kResponseInvalid, "/queue answer", key,
                                   "holds a malformed item");
            }
            if (fn(item)) return {};
        }
    }
    return {};
}

}  // namespace

core::Result<bool> queue_contains(std::string_view queue_json, std::string_view prompt_id) {
    bool found = false;
    core::Status s = for_each_queue_item(queue_json, [&](const json& item) {
        found = item[1].get_ref<const std::string&>() == prompt_id;
        return found;
    });
    if (!s) return s.error();
    return found;
}

core::Result<int> queue_depth_of_others(std::string_view queue_json,
                                        std::string_view own_client_prefix) {
    int depth = 0;
    core::Status s = for_each_queue_item(queue_json, [&](const json& item) {
        bool ours = false;
        if (item.size() >= 4 && item[3].is_object()) {
            const auto client = item[3].find("client_id");
            ours = client != item[3].end() && client->is_string() &&
                   client->get_ref<const std::string&>().starts_with(own_client_prefix);
        }
        if (!ours) ++depth;
        return false;
    });
    if (!s) return s.error();
    return depth;
}

core::Result<SystemStats> parse_system_stats(std::string_view body) {
    auto parsed = parse_untrusted_json(body, kResponseBytesMax, kResponseInvalid);
    if (!parsed) return parsed.error();
    const json& root = *parsed;
    if (!root.is_object())
        return core::make_error(kResponseInvalid, "/system_stats answer is not an object");
    const auto devices = root.find("devices");
    if (devices == root.end() || !devices->is_array()) {
        return field_error(kResponseInvalid, "/system_stats answer", "devices",
                           "is missing or not an array");
    }
    SystemStats stats;
    for (const auto& device : *devices) {
        if (!device.is_object()) {
            return field_error(kResponseInvalid, "/system_stats answer", "devices",
                               "holds a device that is not an object");
        }
        const auto total = device.find("vram_total");
        const auto free = device.find("vram_free");
        if (total == device.end() || free == device.end() || !total->is_number_integer() ||
            !free->is_number_integer() || total->get<std::int64_t>() < 0 ||
            free->get<std::int64_t>() < 0 ||
            free->get<std::int64_t>() > total->get<std::int64_t>() ||
            total->get<std::int64_t>() > kVramBytesMax) {
            return field_error(kResponseInvalid, "/system_stats answer", "devices",
                               "holds a device without valid vram_total and vram_free");
        }
        stats.vram_total_bytes += total->get<std::int64_t>();
        stats.vram_free_bytes += free->get<std::int64_t>();
        if (stats.vram_total_bytes > kVramBytesMax) {
            return field_error(kResponseInvalid, "/system_stats answer", "devices",
                               "report more VRAM than any machine has");
        }
    }
    return stats;
}

}  // namespace tollgate::dispatch

#undef TOLLGATE_RETURN_IF_ERROR
