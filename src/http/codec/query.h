// Percent-encoding and query-string parsing for request targets.
//
// Owns the byte-level rules of RFC 3986 percent-encoding and of
// application/x-www-form-urlencoded query strings. Input is untrusted: every
// function accepts any bytes, never throws, and bounds its output (a query
// yields at most kQueryParamsMax parameters). Pure functions with no shared
// state, so any thread may call them; no Asio here (fuzzed on its own).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace tollgate::http {

// A query string yields at most this many parameters; the rest are ignored.
inline constexpr int kQueryParamsMax = 64;

// Decodes %XX escapes and turns '+' into a space (query-value rules). A '%'
// not followed by two hex digits is kept literally.
std::string percent_decode(std::string_view text);

// Decodes %XX escapes but keeps '+' as is (path rules, where '+' is literal).
std::string percent_decode_path(std::string_view text);

// Encodes every byte except RFC 3986 unreserved ones (ALPHA DIGIT - . _ ~)
// as %XX with uppercase hex. percent_decode() inverts it.
std::string percent_encode(std::string_view text);

// Parses "a=1&b=x%20y&flag" into {a:"1", b:"x y", flag:""}. Keys and values
// are percent-decoded with '+' as space. The last value of a repeated key
// wins, pairs with an empty key are ignored, and only the first
// kQueryParamsMax pairs are considered.
std::map<std::string, std::string> parse_query(std::string_view raw);

}  // namespace tollgate::http
