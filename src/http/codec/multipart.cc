// Multipart parsing works on the whole body in memory with string_view
// searches: find the opening delimiter, then for each part find the end of its
// header block (bounded by kMultipartHeaderBytesMax) and the next
// "\r\n--boundary". Each byte is examined a constant number of times, and
// every limit is checked before the part is copied out.
//
// Rejected: a streaming state machine fed as bytes arrive. Uploads are already
// bounded and buffered by the server's body limit, and a single-pass function
// over a string_view is far easier to fuzz and reason about. Also rejected:
// accepting bare-LF line endings, which no mainstream client sends and which
// makes "is this CR part of the data?" ambiguous.
#include "http/codec/multipart.h"

#include <algorithm>
#include <utility>

namespace tollgate::http {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

core::Error bad(std::string message) {
    return core::make_error("bad_multipart", std::move(message));
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

// Reads a quoted-string starting just after its opening quote. A backslash
// escapes only '"' and '\': browsers send Windows-style names like "a\b.png"
// unescaped, and those must survive. Stops at the closing quote or the end.
std::string read_quoted(std::string_view s, std::size_t& i) {
    std::string out;
    while (i < s.size()) {
        const char c = s[i++];
        if (c == '"') break;
        if (c == '\\' && i < s.size() && (s[i] == '"' || s[i] == '\\')) {
            out.push_back(s[i++]);
            continue;
        }
        out.push_back(c);
    }
    return out;
}

// Parses `; name=value; name="quoted"` parameters (the text after the first
// ';' of a header value). Names are lowercased; malformed pieces are skipped.
Params parse_params(std::string_view s) {
    Params params;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (is_space(s[i]) || s[i] == ';')) ++i;
        const std::size_t name_start = i;
        while (i < s.size() && s[i] != '=' && s[i] != ';') ++i;
        std::string name = to_lower(trim(s.substr(name_start, i - name_start)));
        if (i >= s.size() || s[i] != '=') continue;  // A bare word: not a parameter.
        ++i;
        while (i < s.size() && is_space(s[i])) ++i;
        std::string value;
        if (i < s.size() && s[i] == '"') {
            ++i;
            value = read_quoted(s, i);
            while (i < s.size() && s[i] != ';') ++i;  // Skip junk after the quote.
        } else {
            const std::size_t value_start = i;
            while (i < s.size() && s[i] != ';') ++i;
            value = std::string(trim(s.substr(value_start, i - value_start)));
        }
        if (!name.empty()) params.emplace_back(std::move(name), std::move(value));
    }
    return params;
}

const std::string* find_param(const Params& params, std::string_view name) {
    for (const auto& [key, value] : params) {
        if (key == name) return &value;
    }
    return nullptr;
}

core::Result<std::string> boundary_of(std::string_view content_type) {
    const std::size_t semi = content_type.find(';');
    const std::string_view media_type = trim(content_type.substr(0, semi));
    constexpr std::string_view kPrefix = "multipart/";
    if (media_type.size() <= kPrefix.size() ||
        !iequals(media_type.substr(0, kPrefix.size()), kPrefix)) {
        return bad("content type is not multipart");
    }
    if (semi == std::string_view::npos) return bad("no boundary in content type");
    const Params params = parse_params(content_type.substr(semi + 1));
    const std::string* boundary = find_param(params, "boundary");
    if (boundary == nullptr || boundary->empty()) return bad("no boundary in content type");
    if (boundary->size() > kMultipartBoundaryBytesMax) {
        return bad("boundary longer than 70 bytes");
    }
    return *boundary;
}

// Fills name, filename and content_type from a part's header block (the lines
// between the delimiter line and the blank line, without the final CRLF).
core::Status parse_part_headers(std::string_view block, MultipartPart& part) {
    while (!block.empty()) {
        const std::size_t eol = block.find("\r\n");
        const std::string_view line = block.substr(0, eol);
        block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 2);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            return bad("malformed part header line");
        }
        const std::string_view name = trim(line.substr(0, colon));
        const std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "content-disposition")) {
            const std::size_t semi = value.find(';');
            if (semi == std::string_view::npos) continue;
            const Params params = parse_params(value.substr(semi + 1));
            if (const std::string* p = find_param(params, "name")) part.name = *p;
            if (const std::string* p = find_param(params, "filename")) part.filename = *p;
        } else if (iequals(name, "content-type")) {
            part.content_type = std::string(value);
        }
    }
    return {};
}

}  // namespace

core::Result<std::vector<MultipartPart>> parse_multipart(std::string_view body,
                                                         std::string_view content_type_header,
                                                         int parts_max,
                                                         std::int64_t part_bytes_max) {
    auto boundary = boundary_of(content_type_header);
    if (!boundary) return boundary.error();
    const std::string delimiter = "\r\n--" + *boundary;
    const std::string_view dash_boundary = std::string_view(delimiter).substr(2);
    const auto data_max = static_cast<std::size_t>(std::max<std::int64_t>(part_bytes_max, 0));

    // The first delimiter may open the body or follow a preamble line.
    std::size_t pos = 0;
    if (body.substr(0, dash_boundary.size()) == dash_boundary) {
        pos = dash_boundary.size();
    } else {
        const std::size_t found = body.find(delimiter);
        if (found == std::string_view::npos) return bad("no opening delimiter in body");
        pos = found + delimiter.size();
    }

    std::vector<MultipartPart> parts;
    for (;;) {
        // `pos` is just past a delimiter: "--" closes, else padding and CRLF.
        if (body.substr(pos, 2) == "--") return parts;
        while (pos < body.size() && is_space(body[pos])) ++pos;
        if (pos >= body.size()) return bad("missing closing delimiter");
        if (body.substr(pos, 2) != "\r\n") return bad("malformed delimiter line");
        pos += 2;
        if (std::cmp_greater_equal(parts.size(), std::max(parts_max, 0))) {
            return bad("too many parts (more than " + std::to_string(parts_max) + ")");
        }

        MultipartPart part;
        std::size_t data_start = 0;
        if (body.substr(pos, 2) == "\r\n") {
            data_start = pos + 2;  // No headers at all.
        } else {
            const std::string_view window = body.substr(pos, kMultipartHeaderBytesMax);
            const std::size_t end = window.find("\r\n\r\n");
            if (end == std::string_view::npos) {
                if (body.size() - pos >= kMultipartHeaderBytesMax) {
                    return bad("part header too long");
                }
                return bad("missing closing delimiter");
            }
            if (auto status = parse_part_headers(window.substr(0, end), part); !status) {
                return status.error();
            }
            data_start = pos + end + 4;
        }

        const std::size_t next = body.find(delimiter, data_start);
        const std::size_t data_end = next == std::string_view::npos ? body.size() : next;
        if (data_end - data_start > data_max) {
            return bad("part too large (more than " + std::to_string(data_max) + " bytes)");
        }
        if (next == std::string_view::npos) return bad("missing closing delimiter");
        part.data = std::string(body.substr(data_start, data_end - data_start));
        parts.push_back(std::move(part));
        pos = next + delimiter.size();
    }
}

namespace {

void append_quoted(std::string& out, std::string_view value) {
    out.push_back('"');
    for (const char c : value) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\r') {
            out += "%0D";
        } else if (c == '\n') {
            out += "%0A";
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127) return false;
    return std::string_view("()<>@,;:\\\"/[]?={}").find(c) == std::string_view::npos;
}

}  // namespace

std::string build_multipart(std::string_view boundary, const std::vector<MultipartPart>& parts) {
    TOLLGATE_ASSERT(!boundary.empty() && boundary.size() <= kMultipartBoundaryBytesMax);
    std::size_t size = boundary.size() + 8;
    for (const auto& part : parts) {
        size += boundary.size() + part.name.size() + part.filename.size() +
                part.content_type.size() + part.data.size() + 96;
    }
    std::string out;
    out.reserve(size);
    for (const auto& part : parts) {
        out += "--";
        out += boundary;
        out += "\r\nContent-Disposition: form-data; name=";
        append_quoted(out, part.name);
        if (!part.filename.empty()) {
            out += "; filename=";
            append_quoted(out, part.filename);
        }
        out += "\r\n";
        if (!part.content_type.empty()) {
            out += "Content-Type: ";
            for (const char c : part.content_type) {
                out.push_back(c == '\r' || c == '\n' ? ' ' : c);
            }
            out += "\r\n";
        }
        out += "\r\n";
        out += part.data;
        out += "\r\n";
    }
    out += "--";
    out += boundary;
    out += "--\r\n";
    return out;
}

std::string multipart_content_type(std::string_view boundary) {
    std::string out = "multipart/form-data; boundary=";
    if (!boundary.empty() && std::all_of(boundary.begin(), boundary.end(), is_token_char)) {
        out += boundary;
    } else {
        append_quoted(out, boundary);
    }
    return out;
}

const MultipartPart* find_part(const std::vector<MultipartPart>& parts, std::string_view name) {
    for (const auto& part : parts) {
        if (part.name == name) return &part;
    }
    return nullptr;
}

}  // namespace tollgate::http
