#include "usage/export/sink_url.h"

#include "usage/export/clickhouse_sink.h"
#include "usage/export/outbox.h"

namespace tollgate::usage {

namespace {

// Where the authority ("user:password@host:port") ends: at the first '/'
// after the scheme, as libpq and parse_clickhouse_url() read it. '?' and '#'
// do not end it: both may appear in a password written as is.
std::size_t authority_end(std::string_view url, std::size_t authority) {
    const std::size_t slash = url.find('/', authority);
    return slash == std::string_view::npos ? url.size() : slash;
}

}  // namespace

bool at_after_authority(std::string_view url) {
    const std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return url.find('@') != std::string_view::npos;
    return url.find('@', authority_end(url, scheme_end + 3)) != std::string_view::npos;
}

std::string url_for_errors(std::string_view url) {
    // A URL whose password cannot be told apart is not quoted at all.
    return at_after_authority(url) ? std::string("(not shown)") : redact_password(url);
}

std::string redact_password(std::string_view url) {
    std::string out(url);
    std::size_t query_from = 0;  // a '?' before it belongs to the user info
    const std::size_t scheme_end = out.find("://");
    if (scheme_end != std::string::npos) {
        const std::size_t authority = scheme_end + 3;
        const std::size_t end = authority_end(out, authority);
        query_from = authority;
        const std::size_t at = end > authority ? out.rfind('@', end - 1) : std::string::npos;
        if (at != std::string::npos && at >= authority) {
            query_from = at;
            const std::size_t colon = out.find(':', authority);
            if (colon < at) {
                out.erase(colon, at - colon);
                query_from = colon;
            }
        }
    }
    // Query parameters: drop every password=… pair.
    const std::size_t query = out.find('?', query_from);
    if (query == std::string::npos) return out;
    std::string kept = out.substr(0, query);
    std::string_view rest = std::string_view(out).substr(query + 1);
    char separator = '?';
    while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        if (!pair.starts_with("password=") && !pair.empty()) {
            kept += separator;
            kept += pair;
            separator = '&';
        }
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return kept;
}

core::Result<SinkUrl> parse_sink_url(std::string_view url) {
    auto invalid = [&](const std::string& why) {
        return core::make_error("invalid_sink_url",
                                "export_to \"" + url_for_errors(url) + "\": " + why);
    };
    SinkUrl out;
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        out.kind = SinkKind::Postgres;
    } else if (url.starts_with("clickhouse://")) {
        out.kind = SinkKind::ClickHouse;
    } else {
        return invalid("must start with postgresql://, postgres:// or clickhouse://");
    }
    for (char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return invalid("contains a space or a control character");
        }
    }
    if (at_after_authority(url)) {
        return invalid("has an '@' after the host: write '/' and '@' in a password as %2F and %40");
    }
    if (out.kind == SinkKind::ClickHouse) {
        auto address = parse_clickhouse_url(url);
        if (!address.ok()) return address.error();
    }
    out.url = std::string(url);
    out.name = redact_password(url);
    if (out.name.size() > kSinkNameBytesMax) {
        return invalid("longer than " + std::to_string(kSinkNameBytesMax) + " bytes");
    }
    return out;
}

}  // namespace tollgate::usage
