// Sink URLs as operators write them in [usage] export_to, and their names.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace tollgate::usage {

enum class SinkKind { Postgres, ClickHouse };

struct SinkUrl {
    SinkKind kind = SinkKind::Postgres;
    std::string url;   // as written (a password included), for connecting
    std::string name;  // the URL without its password: logs, metrics and cursors
};

// "postgresql://…" or "postgres://…" (libpq's URI form), or
// "clickhouse://host[:port][/database]" (the HTTP interface, port 8123 by
// default, database "default"). Error "invalid_sink_url" names the problem.
core::Result<SinkUrl> parse_sink_url(std::string_view url);

// True when an '@' follows the authority (which ends at the first '/'): a
// password holding a raw '/' puts it there, and then no parser agrees on
// where the password ends. parse_sink_url() refuses such a URL and quotes
// none of it.
bool at_after_authority(std::string_view url);

// How an error message quotes a refused URL: redacted, or "(not shown)"
// when at_after_authority().
std::string url_for_errors(std::string_view url);

// The URL with the password of its user info ("user:secret@") and any
// "password=" query parameter removed.
std::string redact_password(std::string_view url);

}  // namespace tollgate::usage
