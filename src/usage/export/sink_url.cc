#include "usage/export/sink_url.h"

#include "usage/export/clickhouse_sink.h"
#include "usage/export/outbox.h"

namespace tollgate::usage {

std::string redact_password(std::string_view url) {
    std::string out(url);
    const std::size_t scheme_end = out.find("://");
    if (scheme_end != std::string::npos) {
        const std::size_t authority = scheme_end + 3;
        const std::size_t authority_end = out.find_first_of("/?#", authority);
        const std::size_t at =
            out.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
        if (at != std::string::npos && at >= authority) {
            const std::size_t colon = out.find(':', authority);
            if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
        }
    }
    // Query parameters: drop every password=… pair.
    const std::size_t query = out.find('?');
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
                                "export_to \"" + redact_password(url) + "\": " + why);
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
