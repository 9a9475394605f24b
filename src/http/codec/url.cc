// A hand-written parser rather than a general URI library: the accepted
// shape is deliberately narrow (http only, no userinfo, no fragment), and
// narrowing a general parser's output would be longer than this.
#include "http/codec/url.h"

#include <cctype>
#include <charconv>

namespace tollgate::http {
namespace {

bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

// Printable ASCII other than space: what may appear in a path or query.
bool is_target_char(char c) { return c > 0x20 && c < 0x7f && c != '#'; }

core::Error invalid(const std::string& why) { return core::make_error("invalid_url", why); }

}  // namespace

std::string HttpUrl::host_header() const {
    std::string h;
    if (host.find(':') != std::string::npos) {  // IPv6: in brackets
        h.append(1, '[').append(host).append(1, ']');
    } else {
        h = host;
    }
    if (port != 80) h.append(1, ':').append(std::to_string(port));
    return h;
}

core::Result<HttpUrl> parse_http_url(std::string_view url, std::size_t bytes_max) {
    if (url.size() > bytes_max) {
        return invalid("the URL is longer than " + std::to_string(bytes_max) + " bytes");
    }
    constexpr std::string_view kScheme = "http://";
    if (url.substr(0, kScheme.size()) != kScheme) {
        return invalid("only http:// URLs are supported");
    }
    std::string_view rest = url.substr(kScheme.size());
    std::size_t authority_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, authority_end);
    std::string_view target =
        authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);

    HttpUrl out{"", 80, "/"};
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return invalid("unclosed '[' in the host");
        std::string_view host = authority.substr(1, close - 1);
        if (host.empty()) return invalid("the host is empty");
        for (char c : host) {
            if (!is_ipv6_char(c)) return invalid("invalid IPv6 address");
        }
        out.host = std::string(host);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return invalid("unexpected text after the IPv6 address");
            port_text = after.substr(1);
            if (port_text.empty()) return invalid("the port is empty");
        }
    } else {
        std::size_t colon = authority.find(':');
        std::string_view host = authority.substr(0, colon);
        if (host.empty()) return invalid("the host is empty");
        for (char c : host) {
            if (!is_name_char(c)) return invalid("invalid character in the host");
        }
        out.host = std::string(host);
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) return invalid("the port is empty");
        }
    }
    if (!port_text.empty()) {
        unsigned port = 0;
        const char* end = port_text.data() + port_text.size();
        auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
        if (ec != std::errc() || ptr != end || port == 0 || port > 65535) {
            return invalid("the port must be a number from 1 to 65535");
        }
        out.port = static_cast<std::uint16_t>(port);
    }
    for (char c : target) {
        if (!is_target_char(c)) return invalid("the path has a space, control byte or '#'");
    }
    if (!target.empty()) {
        // "/" stays in front of a bare query; a path replaces it.
        if (target.front() != '?') out.target.clear();
        out.target.append(target);
    }
    return out;
}

}  // namespace tollgate::http
