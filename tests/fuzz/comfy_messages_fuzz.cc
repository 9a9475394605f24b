// Fuzz target: the parsers of what a ComfyUI worker sends back
// (src/dispatch/comfy_messages.h): WebSocket frames, /history/{id},
// POST /prompt answers (200 and 400), /upload/image, /queue and
// /system_stats.
//
// The whole input is fed to every parser. The prompt id that /history and
// /queue are asked about is the first key of the input when it is a JSON
// object (so a real history answer finds its entry), and a fixed id
// otherwise. Checks: every failure has its documented code, and successes
// keep their documented promises (bounded error texts cut on UTF-8
// boundaries, output images in node-id order, non-empty ids, VRAM free <=
// total).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/limits.h"
#include "dispatch/comfy_messages.h"
#include "dispatch/json_guard.h"
#include "dispatch/workflow_template.h"
#include "fuzz/fuzz_input.h"

namespace {

using namespace tollgate;
using dispatch::kComfyErrorMessageBytesMax;

constexpr std::size_t kInputBytesMax = 64 * 1024;

// A complete UTF-8 text: the cut at kComfyErrorMessageBytesMax never splits
// a sequence (worker text is valid UTF-8, as nlohmann checks when parsing).
bool ends_on_utf8_boundary(const std::string& s) {
    std::size_t i = s.size();
    std::size_t continuation = 0;
    while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) {
        --i;
        ++continuation;
    }
    if (i == 0) return continuation == 0;
    const auto lead = static_cast<unsigned char>(s[i - 1]);
    std::size_t expected = 0;
    if (lead >= 0xF0) {
        expected = 3;
    } else if (lead >= 0xE0) {
        expected = 2;
    } else if (lead >= 0xC0) {
        expected = 1;
    }
    return continuation == expected;
}

void check_text(const std::string& text) {
    TOLLGATE_ASSERT(text.size() <= kComfyErrorMessageBytesMax);
    TOLLGATE_ASSERT(ends_on_utf8_boundary(text));
}

void check_event(std::string_view text) {
    const auto event = dispatch::parse_comfy_event(text);
    if (!event.ok()) {
        TOLLGATE_ASSERT(event.error().code == "comfy_message_invalid");
        return;
    }
    check_text(event->error_message);
    using Type = dispatch::ComfyEvent::Type;
    if (event->type == Type::ExecutionError) TOLLGATE_ASSERT(!event->error_message.empty());
    if (event->type != Type::Other) TOLLGATE_ASSERT(!event->type_name.empty());
    TOLLGATE_ASSERT(event->output.is_null() || event->output.is_object());
}

void check_history(std::string_view text, const std::string& prompt_id) {
    const auto entry = dispatch::parse_history_entry(text, prompt_id);
    if (!entry.ok()) {
        TOLLGATE_ASSERT(entry.error().code == "comfy_history_invalid");
    } else if (entry->has_value()) {
        const dispatch::HistoryEntry& e = **entry;
        check_text(e.error_message);
        TOLLGATE_ASSERT(
            std::is_sorted(e.images.begin(), e.images.end(), [](const auto& a, const auto& b) {
                return dispatch::node_id_less(a.node_id, b.node_id);
            }));
    }
    const auto outputs = dispatch::parse_history_outputs(text, prompt_id);
    if (!outputs.ok()) {
        const std::string& code = outputs.error().code;
        TOLLGATE_ASSERT(code == "comfy_history_invalid" || code == "history_not_found" ||
                        code == "execution_error");
        if (code == "execution_error") check_text(outputs.error().message);
    }
}

void check_responses(std::string_view text, const std::string& prompt_id) {
    if (const auto up = dispatch::parse_upload_response(text); up.ok()) {
        TOLLGATE_ASSERT(!up->name.empty() && up->image_ref().ends_with(up->name));
    } else {
        TOLLGATE_ASSERT(up.error().code == "comfy_response_invalid");
    }
    if (const auto queued = dispatch::parse_queue_prompt_response(text); queued.ok()) {
        TOLLGATE_ASSERT(!queued->prompt_id.empty());
        check_text(queued->node_errors_summary);
    } else {
        TOLLGATE_ASSERT(queued.error().code == "comfy_response_invalid");
    }
    const std::string rejection = dispatch::summarize_prompt_rejection(text);
    TOLLGATE_ASSERT(!rejection.empty() && rejection.find('\n') == std::string::npos);
    check_text(rejection);
    const auto contains = dispatch::queue_contains(text, prompt_id);
    const auto depth = dispatch::queue_depth_of_others(text, "tollgate-");
    // queue_contains() may stop at its item before a malformed one; the
    // depth reads every item, so its success implies the other's.
    if (depth.ok()) {
        TOLLGATE_ASSERT(*depth >= 0 && contains.ok());
    } else {
        TOLLGATE_ASSERT(depth.error().code == "comfy_response_invalid");
    }
    if (!contains.ok()) TOLLGATE_ASSERT(contains.error().code == "comfy_response_invalid");
    if (const auto stats = dispatch::parse_system_stats(text); stats.ok()) {
        TOLLGATE_ASSERT(stats->vram_free_bytes >= 0);
        TOLLGATE_ASSERT(stats->vram_free_bytes <= stats->vram_total_bytes);
    } else {
        TOLLGATE_ASSERT(stats.error().code == "comfy_response_invalid");
    }
}

// The first key of a JSON object input, else a fixed id.
std::string prompt_id_of(std::string_view text) {
    const auto parsed = dispatch::parse_untrusted_json(
        text, static_cast<std::size_t>(core::limits::kComfyMessageBytesMax), "fuzz");
    if (parsed.ok() && parsed->is_object() && !parsed->empty()) return parsed->begin().key();
    return "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kInputBytesMax) return 0;
    const std::string_view text = fuzz::as_text(data, size);
    const std::string prompt_id = prompt_id_of(text);
    check_event(text);
    check_history(text, prompt_id);
    check_responses(text, prompt_id);
    return 0;
}
