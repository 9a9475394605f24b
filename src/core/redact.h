// Caller input shown back in an error message or a log line.
//
// A client may put a secret anywhere: an API key in a query value instead of
// the Authorization header, say. Whatever echoes the caller's text therefore
// goes through quote_input(), which bounds it and never shows anything that
// looks like a key. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tollgate::core {

// The most bytes of input an error message shows, and a log line.
inline constexpr std::size_t kEchoBytesMax = 40;
inline constexpr std::size_t kLogEchoBytesMax = 160;
// A run of this many hex digits is taken for a secret.
inline constexpr std::size_t kSecretHexRunMin = 32;

// True when `text` holds an API key ("tg_" followed by hex digits) or any
// run of kSecretHexRunMin hex digits.
bool looks_like_secret(std::string_view text);

// `input` in double quotes: at most `max_bytes` bytes (longer input is cut
// and ends in "..."), bytes outside printable ASCII shown as '?'; input that
// looks_like_secret() is shown as "(not shown)".
std::string quote_input(std::string_view input, std::size_t max_bytes = kEchoBytesMax);

}  // namespace tollgate::core
