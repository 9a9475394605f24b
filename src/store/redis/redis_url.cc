// parse_redis_url(): the operator's "redis://[:password@]host[:port][,...]".
//
// The URL comes from configuration and may hold a password, so errors quote
// no part of it at all: a password written in the wrong place (after the '@',
// in a port, without its '@') would otherwise be echoed. They name the seed
// by its position instead. The password is the text between "redis://:" and
// the last '@' (host lists hold no '@'), with %XX escapes decoded, so it may
// hold any byte. Pure function; any thread.
#include <optional>
#include <string>

#include "store/redis/redis_client.h"

namespace tollgate::store::redis {

namespace {

constexpr std::size_t kUrlBytesMax = 2048;
constexpr std::size_t kHostBytesMax = 253;  // the longest DNS name
constexpr std::string_view kScheme = "redis://";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        const int high = hex_value(text[i + 1]);
        const int low = hex_value(text[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

bool ipv6_char(char c) { return hex_value(c) >= 0 || c == ':' || c == '.'; }

// One "host[:port]" or "[v6]:port"; the reason it is wrong otherwise.
std::optional<std::string> parse_seed(std::string_view seed, Endpoint* out) {
    if (seed.empty()) return "is empty";
    std::string_view host;
    std::string_view rest;  // ":port" or ""
    if (seed.front() == '[') {
        const std::size_t close = seed.find(']');
        if (close == std::string_view::npos) return "has a '[' without its ']'";
        host = seed.substr(1, close - 1);
        rest = seed.substr(close + 1);
        if (host.find(':') == std::string_view::npos) return "has no IPv6 address in brackets";
        for (char c : host) {
            if (!ipv6_char(c)) return "has a character in brackets that no IPv6 address holds";
        }
    } else {
        const std::size_t colon = seed.find(':');
        host = seed.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view() : seed.substr(colon);
        if (rest.find(':', 1) != std::string_view::npos) {
            return "has more than one ':' (write an IPv6 address in brackets)";
        }
        for (char c : host) {
            if (!host_char(c)) {
                return "has a host holding a character other than letters, digits, '.', '-' "
                       "and '_'";
            }
        }
    }
    if (host.empty()) return "has no host";
    if (host.size() > kHostBytesMax) return "has a host longer than 253 bytes";
    out->host = std::string(host);
    out->port = 6379;
    if (rest.empty()) return std::nullopt;
    if (rest.front() != ':') return "has text after ']' that is not \":port\"";
    const std::string_view digits = rest.substr(1);
    if (digits.empty() || digits.size() > 5) return "has a port that is not a number in 1..65535";
    int port = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return "has a port that is not a number in 1..65535";
        port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) return "has a port that is not a number in 1..65535";
    out->port = port;
    return std::nullopt;
}

}  // namespace

core::Result<Options> parse_redis_url(std::string_view url) {
    const auto invalid = [](const std::string& why) {
        return core::make_error("invalid_redis_url", "the Redis URL " + why);
    };
    if (url.size() > kUrlBytesMax) {
        return invalid("is longer than " + std::to_string(kUrlBytesMax) + " bytes");
    }
    if (!url.starts_with(kScheme)) return invalid("must start with redis://");
    for (char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return invalid("holds a space or a control character");
        }
    }
    Options options;
    std::string_view hosts = url.substr(kScheme.size());
    const std::size_t at = hosts.rfind('@');
    if (at != std::string_view::npos) {
        const std::string_view user_info = hosts.substr(0, at);
        if (!user_info.starts_with(':')) {
            return invalid("must write its password as \":password@\" (no user name)");
        }
        auto password = percent_decode(user_info.substr(1));
        if (!password) return invalid("has a '%' in its password not followed by two hex digits");
        if (password->empty()) return invalid("has an empty password");
        options.password = std::move(*password);
        hosts = hosts.substr(at + 1);
    }
    if (hosts.find('/') != std::string_view::npos) {
        return invalid("has a path: no database number can be chosen (a cluster has only 0)");
    }
    if (hosts.find('?') != std::string_view::npos) return invalid("has query parameters");
    if (hosts.empty()) return invalid("names no host");
    for (std::size_t from = 0, n = 1;; ++n) {
        const std::size_t comma = hosts.find(',', from);
        const std::string_view seed = hosts.substr(from, comma - from);
        if (options.seeds.size() == kSeedsMax) {
            return invalid("names more than " + std::to_string(kSeedsMax) + " hosts");
        }
        Endpoint endpoint;
        if (auto why = parse_seed(seed, &endpoint)) {
            return invalid("host " + std::to_string(n) + " " + *why);
        }
        options.seeds.push_back(std::move(endpoint));
        if (comma == std::string_view::npos) break;
        from = comma + 1;
    }
    return options;
}

}  // namespace tollgate::store::redis
