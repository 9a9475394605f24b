// Percent-encoding and query parsing: one linear pass per call, no
// allocation beyond the output. Malformed escapes are kept literally rather
// than rejected, as browsers and most servers do, so a stray '%' in a query
// never turns a request into an error.
#include "http/codec/query.h"

namespace tollgate::http {
namespace {

enum class Plus { Literal, Space };

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string decode(std::string_view text, Plus plus) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%' && i + 2 < text.size()) {
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        if (c == '+' && plus == Plus::Space) {
            out.push_back(' ');
            continue;
        }
        out.push_back(c);
    }
    return out;
}

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string percent_decode(std::string_view text) { return decode(text, Plus::Space); }

std::string percent_decode_path(std::string_view text) { return decode(text, Plus::Literal); }

std::string percent_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (is_unreserved(byte)) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[byte >> 4]);
            out.push_back(kHex[byte & 0x0F]);
        }
    }
    return out;
}

std::map<std::string, std::string> parse_query(std::string_view raw) {
    std::map<std::string, std::string> params;
    int pairs_seen = 0;
    while (!raw.empty() && pairs_seen < kQueryParamsMax) {
        const std::size_t amp = raw.find('&');
        const std::string_view pair = raw.substr(0, amp);
        raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
        if (pair.empty()) continue;  // "a=1&&b=2": an empty pair is not a parameter.
        ++pairs_seen;
        const std::size_t eq = pair.find('=');
        std::string key = percent_decode(pair.substr(0, eq));
        if (key.empty()) continue;
        std::string value =
            eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
        params.insert_or_assign(std::move(key), std::move(value));
    }
    return params;
}

}  // namespace tollgate::http
