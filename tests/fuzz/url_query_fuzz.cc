// Fuzz target: the request-target codecs of src/http/codec: the webhook URL
// parser (url.h) and percent-decoding and query parsing (query.h).
//
// The whole input is fed to each. Checks: parse_http_url() honours its byte
// bound and shape (a host, a port in 1..65535, a target starting with '/'
// and free of spaces and control bytes), and a parsed URL written back as
// "http://" + Host header + target parses to the same fields. parse_query()
// yields at most kQueryParamsMax non-empty keys, and a query rebuilt from
// them with percent_encode() parses back to the same map. percent_decode()
// and percent_decode_path() invert percent_encode() and never grow the text.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/limits.h"
#include "fuzz/fuzz_input.h"
#include "http/codec/query.h"
#include "http/codec/url.h"

namespace {

using namespace tollgate;

constexpr std::size_t kInputBytesMax = 8 * 1024;
constexpr auto kUrlBytesMax = static_cast<std::size_t>(core::limits::kWebhookUrlBytesMax);

void check_url(std::string_view text) {
    const auto url = http::parse_http_url(text, kUrlBytesMax);
    if (!url.ok()) {
        TOLLGATE_ASSERT(url.error().code == "invalid_url");
        return;
    }
    TOLLGATE_ASSERT(text.size() <= kUrlBytesMax);
    TOLLGATE_ASSERT(!url->host.empty() && url->port != 0);
    TOLLGATE_ASSERT(!url->target.empty() && url->target.front() == '/');
    for (const char c : url->target) TOLLGATE_ASSERT(c > 0x20 && c < 0x7f && c != '#');
    // Written back, "http://a:80?x" becomes "http://a/?x": one byte longer at most.
    const std::string again_text = "http://" + url->host_header() + url->target;
    const auto again = http::parse_http_url(again_text, kUrlBytesMax + 1);
    TOLLGATE_ASSERT(again.ok());
    TOLLGATE_ASSERT(again->host == url->host && again->port == url->port);
    TOLLGATE_ASSERT(again->target == url->target);
}

void check_query(std::string_view text) {
    const std::map<std::string, std::string> params = http::parse_query(text);
    TOLLGATE_ASSERT(params.size() <= static_cast<std::size_t>(http::kQueryParamsMax));
    std::string rebuilt;
    for (const auto& [key, value] : params) {
        TOLLGATE_ASSERT(!key.empty());
        if (!rebuilt.empty()) rebuilt += '&';
        rebuilt += http::percent_encode(key) + "=" + http::percent_encode(value);
    }
    TOLLGATE_ASSERT(http::parse_query(rebuilt) == params);
}

void check_percent(std::string_view text) {
    const std::string encoded = http::percent_encode(text);
    TOLLGATE_ASSERT(http::percent_decode(encoded) == text);
    TOLLGATE_ASSERT(http::percent_decode_path(encoded) == text);
    TOLLGATE_ASSERT(http::percent_decode(text).size() <= text.size());
    TOLLGATE_ASSERT(http::percent_decode_path(text).size() <= text.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kInputBytesMax) return 0;
    const std::string_view text = fuzz::as_text(data, size);
    check_url(text);
    check_query(text);
    check_percent(text);
    return 0;
}
