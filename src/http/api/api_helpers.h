// Request and response helpers shared by the API's route files.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"
#include "http/server/server.h"

namespace tollgate::http {

Response json_response(int status, const nlohmann::json& body);
// The 404 of a path no route serves.
Response not_found();
// Request bodies nest no deeper than this (the API's own are 2-3 levels deep).
inline constexpr int kJsonBodyDepthMax = 16;

// The request body as a JSON object, at most core::limits::kJsonBodyBytesMax
// bytes and kJsonBodyDepthMax levels deep. Errors: "payload_too_large",
// "invalid_json".
core::Result<nlohmann::json> json_body(const Request& request);
// An optional string field of a JSON body: "" when absent, error `code` when
// present but not a string.
core::Result<std::string> optional_string(const nlohmann::json& body, const char* field,
                                          const char* code);

}  // namespace tollgate::http
