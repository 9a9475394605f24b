// Absolute http:// URLs given by clients (webhook targets).
//
// Owns the one URL shape Tollgate calls out to on a client's behalf:
// "http://host[:port][/path][?query]", where host is a DNS name, an IPv4
// address or a bracketed IPv6 address. Userinfo ("user@"), fragments, spaces
// and control bytes are refused, and the whole URL is at most `bytes_max`
// bytes. Input is untrusted: parse_http_url() accepts any bytes and never
// throws. Pure function, any thread, no Asio (fuzzed on its own).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tollgate::http {

struct HttpUrl {
    std::string host;    // a name or an address; IPv6 without its brackets
    std::uint16_t port;  // 80 when the URL names none
    std::string target;  // path and query as sent, "/" when the URL has no path
    // The Host header value: "host" or "host:port", IPv6 in brackets.
    std::string host_header() const;
};

// Errors: "invalid_url", with a message saying what is wrong.
core::Result<HttpUrl> parse_http_url(std::string_view url, std::size_t bytes_max);

}  // namespace tollgate::http
