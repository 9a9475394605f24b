#include "http/codec/json_error.h"

#include <nlohmann/json.hpp>

namespace tollgate::http {

std::string json_error_body(std::string_view code, std::string_view message) {
    nlohmann::json body;
    body["error"]["code"] = code;
    body["error"]["message"] = message;
    // `replace` keeps dump() from throwing when a message echoes bytes from a
    // request that are not valid UTF-8.
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tollgate::http
