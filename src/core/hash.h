// SHA-256 of small strings (API keys, request fingerprints). Upload digests
// live in image/digest.h, which streams.
#pragma once

#include <string>
#include <string_view>

namespace tollgate::core {

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// Compares two equal-purpose secrets without leaking where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace tollgate::core
