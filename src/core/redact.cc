#include "core/redact.h"

namespace tollgate::core {
namespace {

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

bool looks_like_secret(std::string_view text) {
    std::size_t run = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text.compare(i, 3, "tg_") == 0 && i + 3 < text.size() && is_hex(text[i + 3])) {
            return true;
        }
        run = is_hex(text[i]) ? run + 1 : 0;
        if (run >= kSecretHexRunMin) return true;
    }
    return false;
}

std::string quote_input(std::string_view input, std::size_t max_bytes) {
    if (looks_like_secret(input)) return "(not shown)";
    const bool cut = input.size() > max_bytes;
    std::string out = "\"";
    for (char c : input.substr(0, max_bytes)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    out += cut ? "...\"" : "\"";
    return out;
}

}  // namespace tollgate::core
