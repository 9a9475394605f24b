// Parsers for what a ComfyUI worker sends back: WebSocket text frames, the
// POST /prompt answer, /history/{id} and /queue. See the shared API.md notes
// for the contract, including the older servers' shapes handled here.
//
// Every input is untrusted (a worker may be compromised, buggy or not ComfyUI
// at all), so each parser bounds the size and nesting, never throws, and
// type-checks every field it reads; a field that is present with the wrong
// type is an error, an absent optional field takes its default. Unknown keys
// are ignored. Pure functions with no shared state: any thread; fuzzed.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::dispatch {

// Error messages taken from worker data are cut to this many bytes.
inline constexpr std::size_t kComfyErrorMessageBytesMax = 2000;

// One WebSocket text frame ({"type": ..., "data": {...}}).
struct ComfyEvent {
    enum class Type {
        Status,                // data.status.exec_info.queue_remaining
        ExecutionStart,        // prompt_id, timestamp
        ExecutionCached,       // prompt_id, nodes, timestamp
        Executing,             // node (null: the prompt is finished), prompt_id (may be absent)
        Progress,              // value, max, prompt_id and node when present
        Executed,              // node, output, prompt_id
        ExecutionSuccess,      // prompt_id, timestamp
        ExecutionError,        // prompt_id, node, node_type, error_message, timestamp
        ExecutionInterrupted,  // prompt_id, node, node_type, timestamp
        Other,                 // any other type (progress_state, feature_flags, custom nodes)
    };
    Type type = Type::Other;
    std::string type_name;  // the frame's "type" string as sent
    std::string prompt_id;  // empty when the frame has none
    // Executing: the node id, or nullopt for "node": null (prompt finished).
    // Executed/Progress/ExecutionError/ExecutionInterrupted: the node id when present.
    std::optional<std::string> node;
    std::string node_type;                  // ExecutionError/ExecutionInterrupted
    std::int64_t timestamp_ms = 0;          // epoch ms; 0 when absent (old servers)
    std::int64_t queue_remaining = -1;      // Status; -1 when absent
    std::int64_t progress_value = 0;        // Progress
    std::int64_t progress_max = 0;          // Progress
    std::vector<std::string> cached_nodes;  // ExecutionCached
    // ExecutionError: "<exception_type>: <exception_message>", trimmed, at most
    // kComfyErrorMessageBytesMax bytes.
    std::string error_message;
    nlohmann::json output;  // Executed: the node's UI output object
};

// Parses one text frame. Errors (code "comfy_message_invalid"): larger than
// kComfyMessageBytesMax, not JSON, not {"type": string, "data": object}, or a
// known event with a missing or wrongly typed field.
core::Result<ComfyEvent> parse_comfy_event(std::string_view text);

// One image a node saved, as listed in history outputs (and by /view's query).
struct OutputImage {
    std::string node_id;  // the output node that produced it
    std::string filename;
    std::string subfolder;
    std::string type;  // "output", "temp" or "input"
};

// What Tollgate's meter node (comfyui/tollgate_meter; comfysim's TollgateMeter)
// measured of a prompt. The node's UI output, found under its node id in the
// history outputs, is
//   {"tollgate_meter": [{"version": 1, "wall_ms": 3512, "wall_source": "execution_start",
//                        "gpu_peak_bytes": 1409286144, "device": "cuda:0"}]}
// with each figure an integer or null. -1 stands for a figure not measured.
struct MeterFigures {
    // Milliseconds from the prompt's execution_start to the meter. Only a
    // reading whose wall_source is "execution_start" counts: "since_previous"
    // includes the worker's idle time.
    std::int64_t wall_ms = -1;
    // The CUDA device's peak allocated bytes during the prompt (null without CUDA).
    std::int64_t gpu_peak_bytes = -1;

    bool operator==(const MeterFigures&) const = default;
};

// The meter's UI key and the one shape version read; other versions are ignored.
inline constexpr const char* kMeterUiKey = "tollgate_meter";
inline constexpr std::int64_t kMeterShapeVersion = 1;
// Readings beyond these bounds are no prompt's and are ignored: a week (the
// real node reports longer as null), and 1 PiB of GPU memory.
inline constexpr std::int64_t kMeterWallMsMax = std::int64_t{7} * 24 * 3600 * 1000;
inline constexpr std::int64_t kMeterGpuPeakBytesMax = std::int64_t{1} << 50;
// At most this many readings of one prompt are looked at (in node-id order);
// a graph has one meter, rarely a few.
inline constexpr int kMeterReadingsMax = 16;

// One /history/{id} entry.
struct HistoryEntry {
    bool has_status = false;  // false on servers before Jan 2024
    std::string status_str;   // "success" or "error" (interrupts are "error" too)
    bool completed = false;
    std::vector<OutputImage> images;  // in ascending node-id order, then list order
    // From status.messages; 0 when absent.
    std::int64_t execution_start_ms = 0;
    std::int64_t execution_end_ms = 0;  // success, error or interrupt timestamp
    bool interrupted = false;
    std::string error_message;  // as ComfyEvent::error_message; empty unless an error was recorded
    // From the outputs of meter nodes. A reading that is malformed (a wrong
    // type, a version other than 1, a figure out of bounds) is ignored whole
    // and never makes the entry invalid. With several readings (several meter
    // nodes), each figure is the largest: the meter that ran last measured the
    // longest wall time, and node ids say nothing of the order nodes ran in;
    // the real node resets the GPU peak after each reading, so the prompt's
    // peak is the largest one reported.
    MeterFigures meter;
};

// Parses a /history/{id} response (an object keyed by prompt id). Returns
// nullopt when `prompt_id` is absent: queued, running, unknown or forgotten.
// Errors (code "comfy_history_invalid"): too large, not JSON, wrong shapes.
core::Result<std::optional<HistoryEntry>> parse_history_entry(std::string_view history_json,
                                                              std::string_view prompt_id);

// The images of a finished prompt. Errors: "comfy_history_invalid" as above;
// "history_not_found" when the entry is absent; "execution_error" (message
// as ComfyEvent::error_message, or "execution_interrupted") when status_str is "error".
core::Result<std::vector<OutputImage>> parse_history_outputs(std::string_view history_json,
                                                             std::string_view prompt_id);

// The 200 answer to POST /upload/image.
struct UploadedImage {
    std::string name;       // the stored name (may differ from the one sent)
    std::string subfolder;  // echoed subfolder ("" if none)
    // The value for LoadImage.inputs.image: "subfolder/name", or "name".
    std::string image_ref() const;
};

// Parses a 200 answer ({"name", "subfolder", "type"}). Errors
// ("comfy_response_invalid"): bad JSON, no non-empty string name.
core::Result<UploadedImage> parse_upload_response(std::string_view body);

// The 200 answer to POST /prompt.
struct QueuedPrompt {
    std::string prompt_id;
    double number = 0;  // queue priority; an int unless the client sent `number`
    // Non-empty when some outputs failed validation but the prompt was still queued.
    std::string node_errors_summary;
};

// Parses a 200 answer. Errors (code "comfy_response_invalid"): bad JSON or no string prompt_id.
core::Result<QueuedPrompt> parse_queue_prompt_response(std::string_view body);

// A one-line human summary of a 400 answer to POST /prompt, e.g.
// "Prompt outputs failed validation: Value smaller than min of 32: model_input_size;
// node 2 (DDColor_Colorize): Value 8 smaller than min of 32 [model_input_size]".
// Handles the object `error` of current servers, the string `error` and list
// `node_errors` of old ones, and bodies that are not JSON. Never empty.
std::string summarize_prompt_rejection(std::string_view body);

// Whether `prompt_id` is running or pending in a GET /queue answer. Errors
// (code "comfy_response_invalid"): bad JSON or wrong shapes.
core::Result<bool> queue_contains(std::string_view queue_json, std::string_view prompt_id);

// How many prompts are running or pending in a GET /queue answer, not
// counting those whose extra_data.client_id starts with `own_client_prefix`
// (the gateway's own, which it counts itself). Errors as queue_contains().
core::Result<int> queue_depth_of_others(std::string_view queue_json,
                                        std::string_view own_client_prefix);

// The VRAM of a GET /system_stats answer, summed over its devices.
struct SystemStats {
    std::int64_t vram_total_bytes = 0;
    std::int64_t vram_free_bytes = 0;
};

// Errors ("comfy_response_invalid"): bad JSON, no `devices` array, or a
// device whose vram_total/vram_free are not non-negative integers with
// free <= total.
core::Result<SystemStats> parse_system_stats(std::string_view body);

}  // namespace tollgate::dispatch
