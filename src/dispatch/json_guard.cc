#include "dispatch/json_guard.h"

#include <string>

namespace tollgate::dispatch {

bool json_depth_within(std::string_view text, int depth_max) {
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
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
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return true;
}

core::Result<nlohmann::json> parse_untrusted_json(std::string_view text, std::size_t bytes_max,
                                                  const char* error_code) {
    if (text.size() > bytes_max) {
        return core::make_error(error_code, "JSON document of " + std::to_string(text.size()) +
                                                " bytes exceeds the limit of " +
                                                std::to_string(bytes_max));
    }
    if (!json_depth_within(text, kJsonDepthMax)) {
        return core::make_error(
            error_code, "JSON nested deeper than " + std::to_string(kJsonDepthMax) + " levels");
    }
    nlohmann::json parsed = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                                  /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return core::make_error(error_code, "not valid JSON");
    return parsed;
}

}  // namespace tollgate::dispatch
