// The one table from error codes to HTTP statuses. Codes are stable public
// identifiers (docs/api.md); an unknown code is a 500, which is a bug to fix
// here, not in the caller.
#pragma once

#include <string_view>

#include "core/result.h"
#include "http/server/server.h"

namespace tollgate::http {

int status_for(std::string_view code);

// {"error": {"code", "message"}} with the mapped status.
Response error_response(const core::Error& error);
Response error_response(std::string_view code, std::string_view message);

}  // namespace tollgate::http
