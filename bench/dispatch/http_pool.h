// An asynchronous HTTP/1.1 client for the dispatch benchmark: keep-alive
// connections to one server, reused across requests.
//
// The load generator must not add latency of its own to what it measures, so
// every request goes out on an idle keep-alive connection when there is one
// (a new connection is opened only when all are busy, up to a cap; beyond the
// cap requests wait in FIFO order), with TCP_NODELAY set. Both benchmark
// modes use this same client, so whatever it costs appears on both sides of
// the comparison. Each mode keeps two pools, one for the first request of
// each job and one for the rest, so that when the server falls behind, the
// requests of jobs already admitted never wait in this client behind a
// backlog of new jobs (a queue the server never sees). Not thread-safe:
// everything runs on one io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tollgate::bench {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using HttpDone = std::function<void(boost::beast::error_code, HttpResponse)>;

// Parses "HOST:PORT" (an IPv4 literal, as the benchmark uses 127.0.0.1) or
// "http://HOST:PORT". False when it is not one.
bool parse_endpoint(const std::string& text, boost::asio::ip::tcp::endpoint& out);

class HttpPool {
  public:
    // Every request that takes longer than this fails with a timeout.
    static constexpr int kRequestTimeoutSeconds = 60;

    HttpPool(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint server,
             std::size_t connections_max);
    ~HttpPool();
    HttpPool(const HttpPool&) = delete;
    HttpPool& operator=(const HttpPool&) = delete;

    // Sends `request` (Host, keep-alive and Content-Length are set here) and
    // calls `done` on the io_context thread with the whole response.
    void send(HttpRequest request, HttpDone done);

    // Builds a request for `target` with an optional body and content type.
    static HttpRequest make(boost::beast::http::verb verb, const std::string& target,
                            std::string body = {}, const std::string& content_type = {});

    std::size_t connections_opened() const { return opened_; }

  private:
    struct Connection;
    struct Pending {
        HttpRequest request;
        HttpDone done;
    };

    void start(const std::shared_ptr<Connection>& c, HttpRequest request, HttpDone done);
    void exchange(const std::shared_ptr<Connection>& c);
    void release(const std::shared_ptr<Connection>& c);

    boost::asio::io_context& io_;
    const boost::asio::ip::tcp::endpoint server_;
    const std::string host_header_;
    const std::size_t connections_max_;
    std::size_t open_ = 0;    // connections that exist now (busy or idle)
    std::size_t opened_ = 0;  // connections opened so far
    std::vector<std::shared_ptr<Connection>> idle_;
    std::deque<Pending> waiting_;
};

// The value of a multipart/form-data request with one file part and some
// plain fields, and its Content-Type.
struct Multipart {
    std::string content_type;
    std::string body;
};
Multipart image_form(const std::string& field, const std::string& filename,
                     const std::string& bytes,
                     const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace tollgate::bench
