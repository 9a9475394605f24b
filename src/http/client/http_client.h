// Outgoing HTTP calls on a client's behalf (webhook deliveries), and the
// operator's own (usage export, `tollgate sim-traffic`), behind a plain
// interface so the delivery logic is tested without a network.
//
// post() and get() are blocking and bounded: resolve, connect, send and the whole answer
// must fit in the request's timeout_ms, after which the call ends with
// "http_timeout" (blocking socket calls cannot be bounded, so the
// implementation runs async operations with a deadline on a private
// io_context). Only http:// is spoken; each call opens its own connection
// and closes it. The answer's body is read up to the request's
// answer_bytes_max (webhook deliveries only look at the status). No Asio types appear here;
// http_client.cc holds all of Beast.
//
// Threads: one HttpClient may be used by several threads at once (calls
// share nothing).
//
// Errors:
//   "http_unreachable"       resolve or connect failed or timed out; nothing was sent
//   "http_timeout"           the request began but no complete answer came in time
//   "http_connection_lost"   the connection broke or the answer was not HTTP
//   "http_response_too_large" the answer's headers or body exceeded their limit
//   "http_forbidden_address" under Reach::PublicOnly, the host resolved only to
//                            addresses that are not public (address_policy.h);
//                            nothing was sent
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "core/result.h"
#include "http/codec/url.h"

namespace tollgate::http {

struct HttpPost {
    HttpUrl url;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
    std::string body;
    int timeout_ms = 10'000;  // clamped to [1, core::limits::kWebhookTimeoutMsMax]
    // The longest answer body accepted (longer: "http_response_too_large").
    std::size_t answer_bytes_max = core::limits::kWebhookResponseBytesMax;
};

struct HttpAnswer {
    int status = 0;
    std::string body;  // at most the request's answer_bytes_max bytes
};

class HttpClient {
  public:
    virtual ~HttpClient() = default;
    // Any answer, whatever its status, is a value; errors are transport failures.
    virtual core::Result<HttpAnswer> post(const HttpPost& request) = 0;
    // A GET of request.url with request.headers; its content_type and body are not sent.
    virtual core::Result<HttpAnswer> get(const HttpPost& request) = 0;
};

// Which resolved addresses a client may connect to.
enum class Reach {
    PublicOnly,  // only is_public_address() ones: calls made for clients (webhooks)
    Anywhere,    // any: an operator who runs receivers on a private network, and tests
};

std::unique_ptr<HttpClient> make_http_client(Reach reach);

}  // namespace tollgate::http
