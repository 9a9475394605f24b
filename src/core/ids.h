// Identifiers and secrets: random, unguessable, printable.
//
// Every id comes from the operating system's CSPRNG (OpenSSL RAND_bytes), so
// ids double as capabilities where needed (API keys, result names).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tollgate::core {

// `n_bytes` random bytes as lowercase hex (2 * n_bytes characters).
std::string random_hex(std::size_t n_bytes);

// A random UUID v4 in canonical lowercase hyphenated form, as ComfyUI wants
// for a client-supplied prompt_id.
std::string uuid_v4();

// A prefixed id such as "job_019ad0c3b2f4e81c…" (prefix, underscore, 24 hex
// characters): the creation time in Unix milliseconds (12 hex digits, so ids
// sort by creation time) and 48 random bits. Time-ordered keys land at the
// right edge of the b-trees that index them, so a batch of inserts dirties a
// few shared pages instead of one random page each. An id reveals when it was
// made; it is never a secret (API keys and result names use random_hex()).
std::string new_id(std::string_view prefix);

// Lowercase hex of arbitrary bytes.
std::string to_hex(const unsigned char* data, std::size_t size);

}  // namespace tollgate::core
