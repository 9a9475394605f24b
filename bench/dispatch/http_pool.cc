#include "bench/dispatch/http_pool.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <utility>

#include "core/ids.h"
#include "http/codec/multipart.h"

namespace tollgate::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

bool parse_endpoint(const std::string& text, tcp::endpoint& out) {
    std::string rest = text;
    if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon + 1 == rest.size()) return false;
    beast::error_code ec;
    const auto address = asio::ip::make_address_v4(rest.substr(0, colon), ec);
    if (ec) return false;
    const std::string port_text = rest.substr(colon + 1);
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    const long port = std::stol(port_text);
    if (port <= 0 || port > 65535) return false;
    out = tcp::endpoint(address, static_cast<unsigned short>(port));
    return true;
}

struct HttpPool::Connection {
    explicit Connection(asio::io_context& io) : stream(io) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    HttpRequest request;
    HttpResponse response;
    HttpDone done;
    bool connected = false;
};

HttpPool::HttpPool(asio::io_context& io, tcp::endpoint server, std::size_t connections_max)
    : io_(io),
      server_(std::move(server)),
      host_header_(server_.address().to_string() + ":" + std::to_string(server_.port())),
      connections_max_(connections_max) {}

HttpPool::~HttpPool() {
    for (auto& c : idle_) {
        beast::error_code ignored;
        c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        c->stream.close();
    }
}

HttpRequest HttpPool::make(bhttp::verb verb, const std::string& target, std::string body,
                           const std::string& content_type) {
    HttpRequest request{verb, target, 11};
    if (!content_type.empty()) request.set(bhttp::field::content_type, content_type);
    request.body() = std::move(body);
    return request;
}

void HttpPool::send(HttpRequest request, HttpDone done) {
    request.set(bhttp::field::host, host_header_);
    request.keep_alive(true);
    request.prepare_payload();
    if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        start(c, std::move(request), std::move(done));
        return;
    }
    if (open_ < connections_max_) {
        ++open_;
        ++opened_;
        start(std::make_shared<Connection>(io_), std::move(request), std::move(done));
        return;
    }
    waiting_.push_back({std::move(request), std::move(done)});
}

void HttpPool::start(const std::shared_ptr<Connection>& c, HttpRequest request, HttpDone done) {
    c->request = std::move(request);
    c->done = std::move(done);
    c->response = {};
    c->stream.expires_after(std::chrono::seconds(kRequestTimeoutSeconds));
    if (c->connected) {
        exchange(c);
        return;
    }
    c->stream.async_connect(server_, [this, c](beast::error_code ec) {
        if (ec) {
            --open_;
            auto done = std::move(c->done);
            done(ec, {});
            return;
        }
        c->connected = true;
        c->stream.socket().set_option(tcp::no_delay(true), ec);
        exchange(c);
    });
}

void HttpPool::exchange(const std::shared_ptr<Connection>& c) {
    bhttp::async_write(c->stream, c->request, [this, c](beast::error_code ec, std::size_t) {
        if (ec) {
            --open_;
            auto done = std::move(c->done);
            done(ec, {});
            return;
        }
        bhttp::async_read(c->stream, c->buffer, c->response,
                          [this, c](beast::error_code ec, std::size_t) {
                              auto done = std::move(c->done);
                              if (ec) {
                                  --open_;
                                  done(ec, {});
                                  return;
                              }
                              HttpResponse response = std::move(c->response);
                              const bool keep = response.keep_alive();
                              if (keep) {
                                  release(c);
                              } else {
                                  --open_;
                                  beast::error_code ignored;
                                  c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                              }
                              done({}, std::move(response));
                          });
    });
}

// A connection that finished its exchange serves the oldest waiting request,
// or goes back to the idle list.
void HttpPool::release(const std::shared_ptr<Connection>& c) {
    c->stream.expires_never();
    if (!waiting_.empty()) {
        Pending next = std::move(waiting_.front());
        waiting_.pop_front();
        start(c, std::move(next.request), std::move(next.done));
        return;
    }
    idle_.push_back(c);
}

Multipart image_form(const std::string& field, const std::string& filename,
                     const std::string& bytes,
                     const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string boundary = "bench-" + core::random_hex(16);
    while (bytes.find(boundary) != std::string::npos) boundary = "bench-" + core::random_hex(16);
    // A JPEG goes as one (bench/run.sh sends a 0.5 MP photo); anything else as the PNG named.
    const bool jpeg = bytes.rfind("\xFF\xD8\xFF", 0) == 0;
    std::string name = filename;
    if (jpeg && name.ends_with(".png")) name.replace(name.size() - 4, 4, ".jpg");
    std::vector<http::MultipartPart> parts;
    parts.push_back({field, name, jpeg ? "image/jpeg" : "image/png", bytes});
    for (const auto& [name, value] : fields) parts.push_back({name, "", "", value});
    return {http::multipart_content_type(boundary), http::build_multipart(boundary, parts)};
}

}  // namespace tollgate::bench
