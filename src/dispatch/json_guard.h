// The one entry point through which dispatch parses JSON it did not write
// (worker responses, WebSocket frames, template files).
//
// nlohmann's parser is iterative, but copying, comparing or dumping a value is
// recursive, so a hostile document nested a million levels deep could exhaust
// the stack later. parse_untrusted_json() therefore bounds the size and the
// nesting depth before parsing, and never throws. Pure; any thread.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/result.h"

namespace tollgate::dispatch {

// Deeper documents are rejected. ComfyUI's deepest (history with a graph) is ~8.
inline constexpr int kJsonDepthMax = 64;

// Parses `text` as one JSON document. Errors (code `error_code`): larger than
// `bytes_max`, nested deeper than kJsonDepthMax, or not valid JSON.
core::Result<nlohmann::json> parse_untrusted_json(std::string_view text, std::size_t bytes_max,
                                                  const char* error_code);

// True when no array/object in `text` nests deeper than `depth_max`. Brackets
// inside strings are skipped; the text need not be valid JSON.
bool json_depth_within(std::string_view text, int depth_max);

}  // namespace tollgate::dispatch
