// multipart/form-data (RFC 7578 over RFC 2046): parse a whole body held in
// memory, and build one for outgoing requests.
//
// Owns the byte rules of multipart bodies; knows nothing of what the parts
// mean. The parser reads untrusted input: it never throws, never reads out of
// bounds, and bounds every dimension (part count, part size, header block
// size) so a hostile body costs at most one pass over its bytes. Lines must
// end in CRLF, as every mainstream client sends them. Pure functions with no
// shared state: any thread may call them. No Asio here (fuzzed on its own).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::http {

// RFC 2046 limits a boundary to 70 bytes.
inline constexpr std::size_t kMultipartBoundaryBytesMax = 70;
// The header block of one part (its lines plus the CRLFs) is at most this long.
inline constexpr std::size_t kMultipartHeaderBytesMax = 8 * 1024;

struct MultipartPart {
    std::string name;          // Content-Disposition name; empty when absent.
    std::string filename;      // Content-Disposition filename; empty when absent.
    std::string content_type;  // The part's Content-Type; empty when absent.
    std::string data;
};

// Splits `body` into its parts. The boundary comes from
// `content_type_header` (e.g. `multipart/form-data; boundary="abc"`). The
// preamble before the first delimiter and the epilogue after the closing one
// are ignored; filename*= parameters are ignored. On failure the error code is
// "bad_multipart" and the message names the problem: not multipart, no
// boundary, no opening delimiter, missing closing delimiter, too many parts
// (more than `parts_max`), part too large (data over `part_bytes_max`), part
// header too long, or a malformed header line.
core::Result<std::vector<MultipartPart>> parse_multipart(std::string_view body,
                                                         std::string_view content_type_header,
                                                         int parts_max,
                                                         std::int64_t part_bytes_max);

// Builds a body with one form-data part per element. `boundary` must be 1..70
// bytes and must not occur in any part's data (callers pick a random one).
// In name and filename, '"' and '\' are backslash-escaped and CR/LF become
// %0D/%0A; CR/LF in content_type become spaces. parse_multipart() returns
// the same parts for anything without CR/LF in those three fields.
std::string build_multipart(std::string_view boundary, const std::vector<MultipartPart>& parts);

// "multipart/form-data; boundary=<boundary>", quoting the boundary when it
// holds characters that a bare token may not.
std::string multipart_content_type(std::string_view boundary);

// The first part called `name`, or nullptr. The pointer borrows from `parts`.
const MultipartPart* find_part(const std::vector<MultipartPart>& parts, std::string_view name);

}  // namespace tollgate::http
