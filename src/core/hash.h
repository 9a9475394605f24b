// SHA-256 and HMAC-SHA256 of small strings (API keys, request fingerprints,
// signed result URLs, webhook signatures). Upload digests live in
// image/digest.h, which streams. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

namespace tollgate::core {

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// Lowercase hex HMAC-SHA256 (RFC 2104) of `data` under `key` (any length;
// a key longer than the 64-byte block is hashed first, as the RFC says).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Compares two equal-purpose secrets without leaking where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace tollgate::core
