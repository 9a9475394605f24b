// Reading back what the shared backends store as text in Redis: decimal
// integers, index members "<account>\t<id>", and the error for a record that
// does not read as its writer wrote it.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/assert.h"
#include "core/result.h"

namespace tollgate::store::redis {

// The error for a Redis that cannot be reached or did not answer.
inline core::Error redis_unavailable(std::string message) {
    return core::make_error("redis_unavailable", std::move(message));
}

// The error for a reply whose shape does not fit the command `what`.
inline core::Error unexpected_reply(const std::string& what) {
    return core::make_error("redis_error", "unexpected reply to " + what);
}

// A whole decimal int64 ("-12"); nullopt for anything else, empty included.
inline std::optional<std::int64_t> parse_int64(std::string_view text) {
    std::int64_t n = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, n);
    if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
    return n;
}

// The same into *out; false (and *out unchanged) for anything else.
inline bool parse_int64(std::string_view text, std::int64_t* out) {
    auto n = parse_int64(text);
    if (n) *out = *n;
    return n.has_value();
}

// "<account>\t<id>" as the cross-shard indexes hold them; nullopt without a tab.
inline std::optional<std::pair<std::string, std::string>> split_member(std::string_view member) {
    const std::size_t tab = member.find('\t');
    if (tab == std::string_view::npos) return std::nullopt;
    return std::pair<std::string, std::string>(member.substr(0, tab), member.substr(tab + 1));
}

// A figure the store wrote itself, and an index member likewise: one that
// does not read back is a broken invariant (as a failed CHECK would be on
// SQLite), so they are asserted rather than returned as errors.
inline std::int64_t stored_int64(std::string_view text) {
    auto v = parse_int64(text);
    TOLLGATE_ASSERT(v.has_value());
    return *v;
}
inline std::pair<std::string, std::string> stored_member(std::string_view member) {
    auto parts = split_member(member);
    TOLLGATE_ASSERT(parts.has_value());
    return *parts;
}

// Error "storage_error" naming the record that did not read back.
inline core::Error malformed_record(const std::string& what) {
    return core::make_error("storage_error", "malformed Redis record: " + what);
}

}  // namespace tollgate::store::redis
