// Fuzz target: http::parse_multipart() (src/http/codec/multipart.h).
//
// Input format: the first line (up to the first '\n') is the Content-Type
// header value, the rest is the body, e.g.
//   multipart/form-data; boundary=X
//   --X\r\nContent-Disposition: form-data; name="file"\r\n\r\n...\r\n--X--\r\n
// Checks: the limits hold on success (part count, part size, the data fits
// in the body), failures are "bad_multipart", and a parsed form rebuilt with
// build_multipart() parses back to the same parts wherever the header says
// that holds (no CR/LF in name, filename or content type).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "fuzz/fuzz_input.h"
#include "http/codec/multipart.h"

namespace {

using namespace tollgate;

constexpr std::size_t kInputBytesMax = 64 * 1024;
constexpr int kPartsMax = 16;
constexpr std::int64_t kPartBytesMax = 16 * 1024;
// The rebuilt form's boundary: letters and digits only, so the delimiter
// cannot overlap itself and a part's data cannot end in half of it.
constexpr std::string_view kRoundTripBoundary = "RoundTrip7f3a9c1e5b";
// Rebuilt header fields are escaped (at most doubled); this keeps the
// rebuilt header block under kMultipartHeaderBytesMax.
constexpr std::size_t kRoundTripFieldBytesMax = 1024;

bool has_crlf(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

bool round_trips(const http::MultipartPart& part) {
    return !has_crlf(part.name) && !has_crlf(part.filename) && !has_crlf(part.content_type) &&
           part.name.size() + part.filename.size() + part.content_type.size() <=
               kRoundTripFieldBytesMax &&
           part.data.find(kRoundTripBoundary) == std::string::npos;
}

void check_round_trip(const std::vector<http::MultipartPart>& parts) {
    for (const http::MultipartPart& part : parts) {
        if (!round_trips(part)) return;
    }
    const std::string body = http::build_multipart(kRoundTripBoundary, parts);
    const auto again = http::parse_multipart(body, http::multipart_content_type(kRoundTripBoundary),
                                             kPartsMax, kPartBytesMax);
    TOLLGATE_ASSERT(again.ok());
    TOLLGATE_ASSERT(again->size() == parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const http::MultipartPart& a = parts[i];
        const http::MultipartPart& b = (*again)[i];
        TOLLGATE_ASSERT(a.name == b.name && a.filename == b.filename);
        TOLLGATE_ASSERT(a.content_type == b.content_type && a.data == b.data);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kInputBytesMax) return 0;
    const auto [content_type, body] = fuzz::split_first_line(fuzz::as_text(data, size));
    const auto parts = http::parse_multipart(body, content_type, kPartsMax, kPartBytesMax);
    if (!parts.ok()) {
        TOLLGATE_ASSERT(parts.error().code == "bad_multipart");
        return 0;
    }
    TOLLGATE_ASSERT(parts->size() <= static_cast<std::size_t>(kPartsMax));
    std::size_t data_bytes = 0;
    for (const http::MultipartPart& part : *parts) {
        TOLLGATE_ASSERT(part.data.size() <= static_cast<std::size_t>(kPartBytesMax));
        data_bytes += part.data.size();
    }
    TOLLGATE_ASSERT(data_bytes <= body.size());
    check_round_trip(*parts);
    return 0;
}
