// A small HTTP/1.1 + WebSocket server behind a plain C++ interface.
//
// Owns: listening, connection lifetimes, request parsing with size limits and
// timeouts, keep-alive, and WebSocket upgrades. Knows nothing of routes: every
// request goes to one Handler, which callers write in plain C++ (no Asio in
// their headers). Boost.Beast lives only in server.cc.
//
// Threads: the server runs `threads` I/O threads. Handlers are called on those
// threads and may block briefly (SQLite work); long work belongs elsewhere.
// Calls for one connection never overlap. WsSession methods may be called
// from any thread. start() and stop() must not be called from a handler.
//
// Limits: a body over body_bytes_max gets 413 as soon as its Content-Length
// (or chunked size) shows it, without buffering it; headers over
// header_bytes_max, or with more than header_fields_max fields, get 431; unparsable requests get
// 400; a handler exception gets 500. All four use the JSON error body of http/codec/json_error.h;
// the first three also close the connection. `Expect: 100-continue` is answered before the body is
// read, after ServerOptions::screen_head (if any) let the request through. Request and Response are
// plain data (no Asio), so API code can use them without linking the server.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace tollgate::http {

// Header names are stored lowercase.
struct Request {
    std::string method;  // "GET", "POST", ...
    std::string target;  // raw target, e.g. "/v1/jobs?workflow=person"
    std::string path;    // target before '?', percent-decoded
    std::string query;   // raw text after '?', without the '?'
    std::map<std::string, std::string> headers;
    std::string body;
    std::string remote_address;

    // Lowercase name; empty string when absent. Repeated header fields are
    // joined into one value with ", ".
    const std::string& header(const std::string& lower_name) const {
        static const std::string kEmpty;
        const auto it = headers.find(lower_name);
        return it == headers.end() ? kEmpty : it->second;
    }
};

// A response body that goes on after the handler returns, such as
// server-sent events. A handle may outlive the connection and the server: its
// methods then do nothing and report false. Writes are queued (at most
// 4096); a client too slow to read them is disconnected.
class ResponseStream {
  public:
    virtual ~ResponseStream() = default;
    // Queues bytes of the body; false once the stream is closed. Thread-safe.
    virtual bool send(std::string bytes) = 0;
    // Sends what is queued, then closes the connection (idempotent). Thread-safe.
    virtual void close() = 0;
    virtual bool is_open() const = 0;
};

struct Response;
// Called once, on an I/O thread, when a streamed response's head and `body`
// are written; keep the stream to send more.
using StreamStarter = std::function<void(const std::shared_ptr<ResponseStream>&)>;

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers
    // When set, the response has no length: after the head and `body` the
    // connection stays open for what the stream sends, and ends when the
    // stream or the client closes it (or the server stops). Never kept alive.
    StreamStarter stream;
};

// A WebSocket connection accepted by the server. A handle may outlive the
// connection and even the server: its methods then do nothing and report
// false. Outgoing frames are queued (at most 4096); a client too slow to drain
// them is disconnected.
class WsSession {
  public:
    virtual ~WsSession() = default;
    // Queue a text frame; returns false once the socket is closed. Thread-safe.
    virtual bool send_text(std::string text) = 0;
    // Queue a binary frame; returns false once the socket is closed. Thread-safe.
    virtual bool send_binary(std::string bytes) = 0;
    // Sends what is already queued, then closes with the WebSocket close
    // handshake (idempotent). Thread-safe.
    virtual void close() = 0;
    virtual bool is_open() const = 0;
};

using Handler = std::function<Response(const Request&)>;

// Called once a WebSocket upgrade on `request` has completed. The session
// lives while the server holds it (until the peer closes or close() is
// called); keep a shared_ptr to send later. `on_message` receives every text
// frame from the client (binary frames are ignored), `on_close` runs exactly
// once when an opened socket ends, including when the server stops. All three
// run on an I/O thread; exceptions they throw are logged and close the socket.
struct WsHandlers {
    // Decides whether `request` may upgrade. Return nullopt to accept, or a
    // Response to send instead (for example 404 for an unknown path).
    std::function<std::optional<Response>(const Request&)> accept;
    std::function<void(const std::shared_ptr<WsSession>&, const Request&)> on_open;
    std::function<void(const std::shared_ptr<WsSession>&, const std::string&)> on_message;
    std::function<void(const std::shared_ptr<WsSession>&)> on_close;
};

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0 picks a free port; see Server::port().
    int threads = 2;
    std::int64_t body_bytes_max = 64ll * 1024 * 1024;
    int header_bytes_max = 16 * 1024;
    // More header fields than this get 431 too, however small they are: the
    // byte limit alone lets a request carry thousands of empty fields.
    int header_fields_max = 100;
    int request_timeout_ms = 60'000;  // whole request, headers and body; also each write
    int idle_timeout_ms = 30'000;     // waiting for a request's first byte
    // The bodies of requests that `throttle_body` picks (it sees the method,
    // path and headers; the body is still empty) are read no faster than this
    // many bytes per second, so TCP holds the client back: a slow reader, as
    // comfysim's slow-upload fault emulates. 0 or no function: full speed.
    // The pauses count toward request_timeout_ms.
    std::int64_t throttled_body_bytes_per_second = 0;
    std::function<bool(const Request&)> throttle_body;
    // Sees each request that has a body still to come (method, path and
    // headers; the body is still empty), before any 100 Continue. A Response
    // is sent instead of reading the body, and the connection then closes;
    // nullopt reads the body and calls the handler as usual.
    std::function<std::optional<Response>(const Request&)> screen_head;
};

class Server {
  public:
    virtual ~Server() = default;
    // Binds and starts the I/O threads; returns once accepting.
    virtual core::Status start() = 0;
    // The bound port (after start()).
    virtual std::uint16_t port() const = 0;
    // Stops accepting, closes connections (WebSocket on_close runs), stops the
    // I/O threads and joins them. Idempotent; the destructor calls it.
    virtual void stop() = 0;
};

// `ws` may be empty (no upgrades: requests for them get the handler's answer).
std::unique_ptr<Server> make_server(ServerOptions options, Handler handler, WsHandlers ws = {});

}  // namespace tollgate::http
