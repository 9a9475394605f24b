#include "image/vips_error.h"

#include <vips/vips.h>

#include <string_view>

namespace tollgate::image {

std::string take_vips_error() {
    char* buffer = vips_error_buffer_copy();
    std::string_view all = buffer != nullptr ? buffer : "";
    std::string line;
    while (!all.empty() && line.empty()) {
        const std::size_t end = all.find('\n');
        std::string_view candidate = all.substr(0, end);
        all = end == std::string_view::npos ? std::string_view() : all.substr(end + 1);
        const std::size_t first = candidate.find_first_not_of(" \t\r");
        if (first == std::string_view::npos) continue;
        const std::size_t last = candidate.find_last_not_of(" \t\r");
        line = std::string(candidate.substr(first, last - first + 1));
    }
    g_free(buffer);
    if (line.size() > kVipsReasonBytesMax) line.resize(kVipsReasonBytesMax);
    return line;
}

}  // namespace tollgate::image
