// The Beast implementation of HttpClient.
//
// Approach: every call owns an io_context, a resolver and a tcp_stream, and
// runs one async step at a time to completion (ioc.run() returns when the
// step's handlers are done). One deadline covers the whole call: it is set
// on the tcp_stream before each step, so a stalled peer ends the step with
// beast::error::timeout, and a steady_timer cancels name resolution, which
// tcp_stream does not time. Rejected: blocking socket calls (SO_RCVTIMEO is
// ignored by Asio, so a stalled receiver would hold the delivery thread
// forever) and connection reuse (deliveries are rare and go to many hosts).
#include "http/client/http_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "core/limits.h"
#include "http/client/address_policy.h"

namespace tollgate::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Deadline = std::chrono::steady_clock::time_point;

constexpr std::uint32_t kAnswerHeaderBytesMax = 16 * 1024;

// Runs `ioc` until the handlers of the step just started have all run.
void run_step(asio::io_context& ioc) {
    ioc.restart();
    ioc.run();
}

core::Result<std::vector<tcp::endpoint>> resolve(asio::io_context& ioc, const HttpUrl& url,
                                                 Deadline deadline) {
    std::vector<tcp::endpoint> endpoints;
    beast::error_code ec;
    const asio::ip::address literal = asio::ip::make_address(url.host, ec);
    if (!ec) {
        endpoints.emplace_back(literal, url.port);
        return endpoints;
    }
    tcp::resolver resolver(ioc);
    asio::steady_timer timer(ioc, deadline);
    timer.async_wait([&](beast::error_code timer_ec) {
        if (!timer_ec) resolver.cancel();
    });
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [&](beast::error_code e, tcp::resolver::results_type results) {
                               ec = e;
                               for (const auto& entry : results) {
                                   endpoints.push_back(entry.endpoint());
                               }
                               timer.cancel();
                           });
    run_step(ioc);
    if (ec) {
        return core::make_error("http_unreachable",
                                "cannot resolve " + url.host_header() + ": " + ec.message());
    }
    return endpoints;
}

core::Error transfer_error(const beast::error_code& ec, const HttpUrl& url) {
    const std::string where = "POST to " + url.host_header();
    if (ec == beast::error::timeout) return core::make_error("http_timeout", where + " timed out");
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
        return core::make_error("http_response_too_large", where + ": " + ec.message());
    }
    return core::make_error("http_connection_lost", where + ": " + ec.message());
}

class BeastHttpClient final : public HttpClient {
  public:
    explicit BeastHttpClient(Reach reach) : reach_(reach) {}

    core::Result<HttpAnswer> post(const HttpPost& request) override {
        return exchange(bhttp::verb::post, request);
    }
    core::Result<HttpAnswer> get(const HttpPost& request) override {
        return exchange(bhttp::verb::get, request);
    }

  private:
    core::Result<HttpAnswer> exchange(bhttp::verb verb, const HttpPost& request) {
        const int timeout_ms =
            std::clamp(request.timeout_ms, 1, core::limits::kWebhookTimeoutMsMax);
        const Deadline deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        const HttpUrl& url = request.url;
        asio::io_context ioc;  // declared first: destroyed after everything using it
        auto endpoints = resolve(ioc, url, deadline);
        if (!endpoints.ok()) return endpoints.error();
        if (reach_ == Reach::PublicOnly) {
            // Judged on what the name resolves to now, not when it was given.
            std::erase_if(*endpoints, [](const tcp::endpoint& e) {
                return !is_public_address(e.address().to_string());
            });
            if (endpoints->empty()) {
                return core::make_error("http_forbidden_address",
                                        url.host_header() +
                                            " is not a public address (loopback, private, "
                                            "link-local or reserved); nothing was sent");
            }
        }

        beast::tcp_stream stream(ioc);
        beast::error_code ec;
        stream.expires_at(deadline);
        stream.async_connect(*endpoints,
                             [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
        run_step(ioc);
        if (ec) {
            return core::make_error("http_unreachable",
                                    "cannot connect to " + url.host_header() + ": " + ec.message());
        }

        bhttp::request<bhttp::string_body> req{verb, url.target, 11};
        req.set(bhttp::field::host, url.host_header());
        req.set(bhttp::field::user_agent, "tollgate");
        if (verb == bhttp::verb::post) {
            req.set(bhttp::field::content_type, request.content_type);
            req.body() = request.body;
        }
        for (const auto& [name, value] : request.headers) req.set(name, value);
        req.prepare_payload();
        req.keep_alive(false);
        stream.expires_at(deadline);
        bhttp::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
        run_step(ioc);
        if (ec) return transfer_error(ec, url);

        beast::flat_buffer buffer;
        bhttp::response_parser<bhttp::string_body> parser;
        const auto body_bytes_max = static_cast<std::uint64_t>(request.answer_bytes_max);
        parser.header_limit(kAnswerHeaderBytesMax);
        parser.body_limit(body_bytes_max);
        stream.expires_at(deadline);
        bhttp::async_read_header(stream, buffer, parser,
                                 [&](beast::error_code e, std::size_t) { ec = e; });
        run_step(ioc);
        if (ec) return transfer_error(ec, url);
        // Beast 1.74 does not apply body_limit to a declared Content-Length
        // (it does to chunked and close-delimited bodies), so it is checked here.
        if (parser.content_length().value_or(0) > body_bytes_max) {
            return transfer_error(bhttp::error::body_limit, url);
        }
        stream.expires_at(deadline);
        bhttp::async_read(stream, buffer, parser,
                          [&](beast::error_code e, std::size_t) { ec = e; });
        run_step(ioc);
        if (ec) return transfer_error(ec, url);
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        return HttpAnswer{static_cast<int>(parser.get().result_int()),
                          std::move(parser.get().body())};
    }

    const Reach reach_;
};

}  // namespace

std::unique_ptr<HttpClient> make_http_client(Reach reach) {
    return std::make_unique<BeastHttpClient>(reach);
}

}  // namespace tollgate::http
