// Reading the Redis ledger scripts' answers. Internal to the Redis backend.
//
// Every script answers an array whose first element is a status word; the
// rest are integers, texts, nils (Lua false: "none") or nested arrays. A
// reply of another shape is a bug on one side or the other, so the readers
// assert rather than guess.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/assert.h"
#include "core/result.h"
#include "store/redis/redis_client.h"

namespace tollgate::ledger::redis_reply {

using store::redis::Reply;

inline const std::string& word(const Reply& r) {
    TOLLGATE_ASSERT(r.type == Reply::Type::Array && !r.elements.empty());
    TOLLGATE_ASSERT(r.elements[0].type == Reply::Type::String);
    return r.elements[0].text;
}

inline std::int64_t integer(const Reply& r, std::size_t i) {
    TOLLGATE_ASSERT(r.type == Reply::Type::Array && i < r.elements.size());
    TOLLGATE_ASSERT(r.elements[i].type == Reply::Type::Integer);
    return r.elements[i].integer;
}

inline std::optional<std::int64_t> optional_integer(const Reply& r, std::size_t i) {
    TOLLGATE_ASSERT(r.type == Reply::Type::Array && i < r.elements.size());
    if (r.elements[i].is_nil()) return std::nullopt;
    return integer(r, i);
}

inline const std::string& text(const Reply& r, std::size_t i) {
    TOLLGATE_ASSERT(r.type == Reply::Type::Array && i < r.elements.size());
    TOLLGATE_ASSERT(r.elements[i].type == Reply::Type::String);
    return r.elements[i].text;
}

// A script error that a broken invariant raised becomes "ledger_invariant";
// any other error passes through.
inline core::Error script_error(const core::Error& e) {
    if (e.message.find("ledger invariant") != std::string::npos)
        return core::Error{"ledger_invariant", e.message};
    return e;
}

}  // namespace tollgate::ledger::redis_reply
