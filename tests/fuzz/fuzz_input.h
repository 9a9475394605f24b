// Small helpers shared by the fuzz targets (tests/fuzz/*_fuzz.cc): viewing
// libFuzzer's bytes as text and splitting one input into two fields.
// Header-only and free of any part's code, so every target can use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace tollgate::fuzz {

// libFuzzer's input as a string_view (empty for a null pointer).
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    if (data == nullptr || size == 0) return {};
    return {reinterpret_cast<const char*>(data), size};
}

// Splits at the first '\n': the line before it and everything after it.
// Without a '\n', the whole input is the first part and the second is empty.
inline std::pair<std::string_view, std::string_view> split_first_line(std::string_view text) {
    const std::size_t eol = text.find('\n');
    if (eol == std::string_view::npos) return {text, {}};
    return {text.substr(0, eol), text.substr(eol + 1)};
}

}  // namespace tollgate::fuzz
