// The JSON body of every error response: {"error":{"code":..,"message":..}}.
//
// Owns the wire shape of errors, so that the server's own 400/413/431/500
// answers and the API handlers' answers look the same to clients. `code` is a
// stable snake_case identifier (part of the public contract); `message` is
// for humans. Pure function, safe from any thread; never throws (invalid
// UTF-8 is replaced with U+FFFD rather than rejected).
#pragma once

#include <string>
#include <string_view>

namespace tollgate::http {

std::string json_error_body(std::string_view code, std::string_view message);

}  // namespace tollgate::http
