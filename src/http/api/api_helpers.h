// Request and response helpers shared by the API's route files.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/time_zone.h"
#include "http/server/server.h"
#include "ledger/ledger.h"

namespace tollgate::http {

Response json_response(int status, const nlohmann::json& body);
// A 429 that says when to come back (Retry-After, whole seconds).
Response retry_later(const std::string& code, const std::string& message,
                     std::int64_t retry_after_s);
// The request's path as a log line shows it: bounded, and never anything
// that looks like a secret (core::quote_input).
std::string log_path(const Request& request);
// "Bearer <token>" → token; empty when absent or malformed.
std::string bearer_token(const Request& request);
// The scope a /v1 route of this method needs: read for GET and HEAD, jobs
// for POST and DELETE; nullopt for other methods (no route takes them).
std::optional<ledger::KeyScope> required_scope(const std::string& method);
// The 404 of a resource a route does not find.
Response not_found();
// The 404 of a path no route serves (routes.h kNoRouteMessage).
Response no_route();
// The request body as a JSON object, at most core::limits::kJsonBodyBytesMax
// bytes and kJsonRequestDepthMax levels deep (json_requests.h). Errors: "payload_too_large",
// "invalid_json".
core::Result<nlohmann::json> json_body(const Request& request);
// An optional string field of a JSON body: "" when absent, error `code` when
// present but not a string.
core::Result<std::string> optional_string(const nlohmann::json& body, const char* field,
                                          const char* code);

// An instant from a query parameter: unix milliseconds, or a date/time on
// `zone`'s clock (core::parse_local_time_ms); `fallback` when empty. Error
// "invalid_time".
core::Result<std::int64_t> parse_instant_ms(const std::string& text, std::int64_t fallback,
                                            const core::TimeZone& zone);

}  // namespace tollgate::http
