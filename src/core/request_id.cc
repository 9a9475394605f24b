// Request ids (see request_id.h).
#include "core/request_id.h"

#include "core/ids.h"

namespace tollgate::core {
namespace {

thread_local std::string current;

}  // namespace

std::string make_request_id() { return "req_" + random_hex(8); }

bool valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > kRequestIdBytesMax) return false;
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string_view current_request_id() { return current; }

RequestIdScope::RequestIdScope(std::string id) : previous_(std::move(current)) {
    current = std::move(id);
}

RequestIdScope::~RequestIdScope() { current = std::move(previous_); }

}  // namespace tollgate::core
