// The web pages' static files: the operator dashboard (/dashboard) and the
// customer page (/, /app/), both built by `make` into the asset directory.
// A request names one plain file of one directory, never a path: no
// directories, no dot files, only known types, at most kAssetBytesMax. The
// pages hold nothing secret (they ask for a credential and read everything
// through the API with it), so serving them needs no authentication. Pure
// file reads; any thread.
#pragma once

#include <string>
#include <string_view>

#include "http/server/server.h"

namespace tollgate::http {

// The file `name` of `dir` as a 200 with its type, no-cache and the given
// Content-Security-Policy, or 404 not_found when the name is not one plain
// file of a known type there (or `dir` is empty). GET and HEAD only (405
// otherwise).
Response static_asset(const Request& request, const std::string& dir, std::string_view name,
                      std::string_view content_security_policy);

}  // namespace tollgate::http
