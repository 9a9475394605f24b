// libvips reports errors into a global buffer, not through return values.
#pragma once

#include <cstddef>
#include <string>

namespace tollgate::image {

inline constexpr std::size_t kVipsReasonBytesMax = 200;

// The first non-empty line of libvips' error buffer, trimmed and cut to
// kVipsReasonBytesMax bytes, or "" when the buffer holds none. Clears the
// buffer.
std::string take_vips_error();

}  // namespace tollgate::image
