// The Beast-based implementation of http::Server, and the only TU that
// instantiates Beast's HTTP and WebSocket server templates.
//
// Design. Each of the `threads` threads runs an io_context of its own, and
// accepted sockets are dealt to them in turn, so a connection's reads, its
// handler and its writes all run on one thread: no hand-off between threads
// (a wake-up and a lock each, which a profile of the quote showed costing
// more than a second thread gained). Every socket also gets its own strand,
// so posts from other threads (streamed responses) are ordered, and its
// handlers never run concurrently and need no locks; the shared state (handlers, options, the
// registry of live connections) is immutable or mutex-guarded. Sessions are callback-driven (not
// coroutines): they compile faster and make the timeout phases explicit:
//   1. idle: wait for the first byte of a request (idle_timeout_ms);
//   2. request: read headers, then body (request_timeout_ms for both);
//   3. write the response (request_timeout_ms).
// Requests go through http::request_parser with body and header limits, so an
// oversized body is refused (413) from its Content-Length before any of it is
// buffered. After an error reply the server half-closes and briefly drains
// what the client still sends ("lingering close"); closing with unread bytes
// would send a RST that can destroy the reply before the client reads it.
//
// Shutdown. stop() marks the shared state as stopping, closes the acceptor
// and hard-closes every registered connection on its strand. Their pending
// operations then complete with errors, WebSocket sessions run on_close, and
// each session leaves the registry. stop() waits (bounded) for the registry
// to empty, then stops the io_contexts and joins the threads.
//
// Rejected: one io_context shared by all the threads (every completion may
// wake another thread to run it) and buffer_body streaming uploads (bodies
// are bounded and the API layer wants the bytes in one string). The cost of
// the choice: a handler that blocks (a job's admission waits for its commit)
// delays the other connections of its thread, not those of the others.
#include "http/server/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/redact.h"
#include "http/codec/json_error.h"
#include "http/codec/query.h"

namespace tollgate::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;
using std::chrono::milliseconds;

// After an error reply, drain the client's bytes for at most this long / this
// much before closing, so the reply is not lost to a RST.
constexpr milliseconds kLingerTime{2000};
constexpr std::size_t kLingerBytesMax = 4 * 1024 * 1024;
constexpr std::size_t kReadChunkBytes = 16 * 1024;
// A body buffer this large or smaller is kept by its thread for the next
// request's body. Without it every upload allocated and freed its buffer,
// and glibc consolidates its free lists on each free of 64 KiB or more.
constexpr std::size_t kSpareBodyBytesMax = 1024 * 1024;

// The spare body buffer of this I/O thread: empty, with capacity, or none.
std::string& spare_body() {
    thread_local std::string spare;
    return spare;
}
// A client that does not read its frames gets disconnected past this.
constexpr std::size_t kWsQueueFramesMax = 4096;
constexpr std::uint64_t kWsMessageBytesMax = 16 * 1024 * 1024;
// stop() waits this long for connections to wind down before cutting them.
constexpr milliseconds kStopGrace{5000};
constexpr int kThreadsMax = 256;

// Anything that stop() must be able to cut off.
class Connection {
  public:
    virtual ~Connection() = default;
    // Thread-safe: posts a hard close to the connection's strand.
    virtual void abort() = 0;
};

// State shared by the server and every session. Sessions hold it by
// shared_ptr because handlers still queued in the io_context may outlive the
// ServerImpl object by a little (they are destroyed with the io_context).
struct Shared {
    ServerOptions options;
    Handler handler;
    WsHandlers ws;

    std::mutex mu;
    std::condition_variable cv;
    bool stopping = false;  // Guarded by mu.
    std::uint64_t next_id = 1;
    std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> live;  // Guarded by mu.

    // Returns 0 when the server is stopping: the caller must close at once.
    std::uint64_t add(std::weak_ptr<Connection> connection) {
        std::lock_guard lock(mu);
        if (stopping) return 0;
        const std::uint64_t id = next_id++;
        live.emplace(id, std::move(connection));
        return id;
    }
    void remove(std::uint64_t id) {
        if (id == 0) return;
        std::lock_guard lock(mu);
        live.erase(id);
        if (live.empty()) cv.notify_all();
    }
    bool is_stopping() {
        std::lock_guard lock(mu);
        return stopping;
    }
};

std::string_view std_view(beast::string_view s) { return {s.data(), s.size()}; }

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

Request to_request(BeastRequest& req, const std::string& remote, bool move_body) {
    Request out;
    out.method = std::string(req.method_string());
    out.target = std::string(req.target());
    const std::size_t q = out.target.find('?');
    out.path = percent_decode_path(std::string_view(out.target).substr(0, q));
    if (q != std::string::npos) out.query = out.target.substr(q + 1);
    for (const auto& field : req) {
        std::string name = lowercase(std_view(field.name_string()));
        auto [it, inserted] = out.headers.try_emplace(std::move(name), std_view(field.value()));
        // Repeated fields combine into one comma-separated list (RFC 9110 5.3).
        if (!inserted) {
            it->second += ", ";
            it->second += std_view(field.value());
        }
    }
    if (move_body) out.body = std::move(req.body());
    out.remote_address = remote;
    return out;
}

Response error_response(int status, std::string_view code, std::string_view message) {
    Response res;
    res.status = status;
    res.body = json_error_body(code, message);
    return res;
}

Response internal_error() { return error_response(500, "internal", "internal error"); }

// Converts our Response to Beast's. Throws std::invalid_argument for a status
// Beast cannot represent; callers treat that like a handler exception.
std::unique_ptr<BeastResponse> to_beast(Response res, unsigned version, bool keep_alive) {
    if (res.status < 100 || res.status > 999) {
        throw std::invalid_argument("bad status " + std::to_string(res.status));
    }
    auto out = std::make_unique<BeastResponse>();
    out->version(version);
    out->result(static_cast<unsigned>(res.status));
    if (!res.content_type.empty()) out->set(bhttp::field::content_type, res.content_type);
    for (const auto& [name, value] : res.headers) out->insert(name, value);
    out->body() = std::move(res.body);
    out->keep_alive(keep_alive);
    out->prepare_payload();
    return out;
}

// ---------------------------------------------------------------------------
// WebSocket session.
//
// Users never hold a WsSessionImpl: they get a WsHandle, which points to it
// weakly. The impl lives only as long as operations on the io_context hold it,
// so it is always destroyed while the io_context (and Beast's WebSocket
// service) still exists, even when a user keeps a handle past the server.

class WsSessionImpl;

class WsHandle final : public WsSession {
  public:
    explicit WsHandle(std::weak_ptr<WsSessionImpl> impl) : impl_(std::move(impl)) {}
    bool send_text(std::string text) override;
    bool send_binary(std::string bytes) override;
    void close() override;
    bool is_open() const override;

  private:
    std::weak_ptr<WsSessionImpl> impl_;
};

class WsSessionImpl final : public Connection, public std::enable_shared_from_this<WsSessionImpl> {
  public:
    WsSessionImpl(std::shared_ptr<Shared> shared, beast::tcp_stream stream, Strand strand,
                  Request request)
        : shared_(std::move(shared)),
          strand_(std::move(strand)),
          ws_(std::move(stream)),
          request_(std::move(request)) {}

    ~WsSessionImpl() override { shared_->remove(id_); }

    // Runs on the strand. Takes over the upgrade request and answers it.
    void start(BeastRequest upgrade) {
        id_ = shared_->add(weak_from_this());
        if (id_ == 0) return;  // Stopping: drop the socket with this object.
        upgrade_ = std::move(upgrade);
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.read_message_max(kWsMessageBytesMax);
        ws_.async_accept(
            upgrade_, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
    }

    // Thread-safe: queues a frame on the strand; false once closed.
    bool enqueue(std::string data, bool binary) {
        if (!open_) return false;
        asio::post(strand_,
                   [self = shared_from_this(), f = Frame{std::move(data), binary}]() mutable {
                       self->push(std::move(f));
                   });
        return true;
    }

    // Thread-safe: flushes queued frames, then runs the close handshake.
    void close() {
        open_ = false;
        asio::dispatch(strand_, [self = shared_from_this()] { self->begin_close(); });
    }

    bool is_open() const { return open_; }

    void abort() override {
        open_ = false;
        asio::post(strand_, [self = shared_from_this()] { self->hard_close(); });
    }

  private:
    struct Frame {
        std::string data;
        bool binary = false;
    };

    void on_accept(beast::error_code ec) {
        upgrade_ = {};
        if (ec) {
            spdlog::debug("http: websocket handshake failed: {}", ec.message());
            hard_close();
            return;
        }
        if (shared_->is_stopping()) {
            hard_close();
            return;
        }
        opened_ = true;
        open_ = true;
        handle_ = std::make_shared<WsHandle>(weak_from_this());
        if (shared_->ws.on_open) {
            try {
                shared_->ws.on_open(handle_, request_);
            } catch (const std::exception& e) {
                spdlog::error("http: websocket on_open threw: {}", e.what());
                hard_close();
            }
        }
        do_read();
    }

    void do_read() {
        ws_.async_read(read_buffer_, [self = shared_from_this()](
                                         beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            finish(ec);
            return;
        }
        if (ws_.got_text() && shared_->ws.on_message) {
            const std::string message = beast::buffers_to_string(read_buffer_.data());
            read_buffer_.consume(read_buffer_.size());
            try {
                shared_->ws.on_message(handle_, message);
            } catch (const std::exception& e) {
                spdlog::error("http: websocket on_message threw: {}", e.what());
                hard_close();
            }
        } else {
            read_buffer_.consume(read_buffer_.size());  // Binary frames are ignored.
        }
        do_read();
    }

    // The read loop ended: the socket is gone or going. Runs on the strand.
    void finish(beast::error_code ec) {
        if (ec != websocket::error::closed && ec != asio::error::operation_aborted) {
            spdlog::debug("http: websocket read ended: {}", ec.message());
        }
        open_ = false;
        closed_ = true;
        // A pending write may still reference the front frame.
        while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
        if (opened_ && !close_notified_) {
            close_notified_ = true;
            if (shared_->ws.on_close) {
                try {
                    shared_->ws.on_close(handle_);
                } catch (const std::exception& e) {
                    spdlog::error("http: websocket on_close threw: {}", e.what());
                }
            }
        }
        shared_->remove(std::exchange(id_, 0));
    }

    // Strand-local checks, not open_: a frame sent just before close() must
    // still go out, and it reaches the strand before the close does.
    void push(Frame frame) {
        if (!opened_ || close_started_ || closed_) return;
        if (queue_.size() >= kWsQueueFramesMax) {
            spdlog::warn("http: websocket client too slow ({} frames queued), closing",
                         queue_.size());
            open_ = false;
            hard_close();
            return;
        }
        queue_.push_back(std::move(frame));
        if (!writing_) do_write();
    }

    void do_write() {
        writing_ = true;
        ws_.binary(queue_.front().binary);
        ws_.async_write(
            asio::buffer(queue_.front().data),
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
    }

    void on_write(beast::error_code ec) {
        writing_ = false;
        if (ec) {
            hard_close();
            return;
        }
        if (!queue_.empty()) queue_.pop_front();
        if (!queue_.empty()) {
            do_write();
        } else if (close_started_) {
            send_close_frame();
        }
    }

    // A graceful close: flush what is queued, then the close handshake.
    void begin_close() {
        if (close_started_ || !opened_ || closed_) return;
        close_started_ = true;
        if (!writing_) send_close_frame();
    }

    void send_close_frame() {
        ws_.async_close(websocket::close_code::normal,
                        [self = shared_from_this()](beast::error_code ec) {
                            if (ec) self->hard_close();
                            // Otherwise the pending read ends with `closed`.
                        });
    }

    void hard_close() {
        open_ = false;
        closed_ = true;
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    std::shared_ptr<Shared> shared_;
    Strand strand_;
    websocket::stream<beast::tcp_stream> ws_;
    Request request_;
    BeastRequest upgrade_;
    beast::flat_buffer read_buffer_;
    std::deque<Frame> queue_;
    std::shared_ptr<WsHandle> handle_;  // Set once open; what callbacks receive.
    std::uint64_t id_ = 0;
    std::atomic<bool> open_{false};
    // The rest is touched only on the strand.
    bool opened_ = false;
    bool writing_ = false;
    bool close_started_ = false;
    bool closed_ = false;  // The socket is closed or closing hard.
    bool close_notified_ = false;
};

bool WsHandle::send_text(std::string text) {
    const auto impl = impl_.lock();
    return impl && impl->enqueue(std::move(text), false);
}

bool WsHandle::send_binary(std::string bytes) {
    const auto impl = impl_.lock();
    return impl && impl->enqueue(std::move(bytes), true);
}

void WsHandle::close() {
    if (const auto impl = impl_.lock()) impl->close();
}

bool WsHandle::is_open() const {
    const auto impl = impl_.lock();
    return impl && impl->is_open();
}

// ---------------------------------------------------------------------------
// HTTP session: one per accepted connection, until it closes or upgrades.

class HttpSession;

// What a streamed response's StreamStarter gets; points to its session weakly.
class StreamHandle final : public ResponseStream {
  public:
    explicit StreamHandle(std::weak_ptr<HttpSession> session) : session_(std::move(session)) {}
    bool send(std::string bytes) override;
    void close() override;
    bool is_open() const override;

  private:
    std::weak_ptr<HttpSession> session_;
};

class HttpSession final : public Connection, public std::enable_shared_from_this<HttpSession> {
  public:
    HttpSession(std::shared_ptr<Shared> shared, tcp::socket socket, Strand strand,
                std::string remote)
        : shared_(std::move(shared)),
          strand_(std::move(strand)),
          stream_(std::move(socket)),
          remote_(std::move(remote)),
          throttle_timer_(strand_) {}

    ~HttpSession() override { shared_->remove(id_); }

    void start() {
        id_ = shared_->add(weak_from_this());
        if (id_ == 0) return;  // Stopping: the socket closes with this object.
        asio::dispatch(strand_, [self = shared_from_this()] { self->wait_for_request(); });
    }

    void abort() override {
        asio::post(strand_, [self = shared_from_this()] {
            if (self->upgraded_) return;
            self->throttle_timer_.cancel();
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
            self->stream_.close();
        });
    }

  private:
    const ServerOptions& options() const { return shared_->options; }

    // Phase 1: wait, with the idle timeout, for the next request to begin.
    void wait_for_request() {
        if (buffer_.size() > 0) {
            read_header();
            return;
        }
        stream_.expires_after(milliseconds(options().idle_timeout_ms));
        stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->buffer_.commit(n);
                                    if (ec) {
                                        self->close_quietly();
                                        return;
                                    }
                                    self->read_header();
                                });
    }

    // Phase 2: headers, then (after an optional 100 Continue) the body.
    void read_header() {
        parser_.emplace();
        // The body is appended to the buffer: it starts empty, its capacity reused.
        if (std::string& spare = spare_body(); spare.capacity() > 0) {
            TOLLGATE_ASSERT(spare.empty());
            parser_->get().body() = std::move(spare);
            spare = std::string();
        }
        parser_->header_limit(static_cast<std::uint32_t>(std::max(options().header_bytes_max, 0)));
        parser_->body_limit(
            static_cast<std::uint64_t>(std::max<std::int64_t>(options().body_bytes_max, 0)));
        stream_.expires_after(milliseconds(options().request_timeout_ms));
        bhttp::async_read_header(stream_, buffer_, *parser_,
                                 [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                     if (ec) {
                                         self->on_read_error(ec);
                                         return;
                                     }
                                     self->after_header();
                                 });
    }

    void after_header() {
        const auto& head = parser_->get();
        if (std::distance(head.begin(), head.end()) > options().header_fields_max) {
            reply_error_and_close(431, "too_many_header_fields",
                                  "request has more than " +
                                      std::to_string(options().header_fields_max) +
                                      " header fields");
            return;
        }
        if (auto refusal = screened()) {
            // The body is never read: answer, then linger so the client sees it.
            write(std::move(*refusal), parser_->get().version(), false, AfterWrite::Linger);
            return;
        }
        const auto& req = parser_->get();
        const bool wants_continue = req.version() >= 11 && !parser_->is_done() &&
                                    beast::iequals(req[bhttp::field::expect], "100-continue");
        if (!wants_continue) {
            read_body();
            return;
        }
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                  self->close_quietly();
                                  return;
                              }
                              self->read_body();
                          });
    }

    void read_body() {
        if (throttled()) {
            read_body_slowly();
            return;
        }
        bhttp::async_read(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                  self->on_read_error(ec);
                                  return;
                              }
                              self->on_request();
                          });
    }

    // The answer of options().screen_head for a request with a body still
    // to come, or nullopt to read it.
    std::optional<Response> screened() {
        const ServerOptions& o = options();
        if (!o.screen_head || parser_->is_done()) return std::nullopt;
        try {
            return o.screen_head(to_request(parser_->get(), remote_, false));
        } catch (const std::exception& e) {
            spdlog::error("http: screen_head threw: {}", e.what());
            return std::nullopt;
        }
    }

    bool throttled() {
        const ServerOptions& o = options();
        if (o.throttled_body_bytes_per_second <= 0 || !o.throttle_body) return false;
        try {
            return o.throttle_body(to_request(parser_->get(), remote_, false));
        } catch (const std::exception& e) {
            spdlog::error("http: throttle_body threw: {}", e.what());
            return false;
        }
    }

    // Reads the body a small chunk at a time (the buffer's limit caps each
    // read) and pauses after each for as long as the chunk is worth at the
    // throttled rate, so the kernel's receive window fills up and the client
    // can only send as fast as we read.
    void read_body_slowly() {
        if (parser_->is_done()) {
            on_request();
            return;
        }
        const auto rate = options().throttled_body_bytes_per_second;
        const auto chunk = static_cast<std::size_t>(
            std::clamp<std::int64_t>(rate / 10, 1, static_cast<std::int64_t>(kReadChunkBytes)));
        buffer_.max_size(buffer_.size() + chunk);
        bhttp::async_read_some(
            stream_, buffer_, *parser_,
            [self = shared_from_this(), rate](beast::error_code ec, std::size_t n) {
                self->buffer_.max_size(std::numeric_limits<std::size_t>::max());
                if (ec) {
                    self->on_read_error(ec);
                    return;
                }
                self->throttle_timer_.expires_after(
                    std::chrono::duration_cast<milliseconds>(std::chrono::duration<double>(
                        static_cast<double>(n) / static_cast<double>(rate))));
                self->throttle_timer_.async_wait([self](beast::error_code wait_ec) {
                    if (wait_ec) {
                        self->close_quietly();
                        return;
                    }
                    self->read_body_slowly();
                });
            });
    }

    void on_read_error(beast::error_code ec) {
        if (ec == bhttp::error::body_limit) {
            reply_error_and_close(
                413, "payload_too_large",
                "request body exceeds " + std::to_string(options().body_bytes_max) + " bytes");
        } else if (ec == bhttp::error::header_limit) {
            reply_error_and_close(
                431, "header_too_large",
                "request header exceeds " + std::to_string(options().header_bytes_max) + " bytes");
        } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
                   ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
            reply_error_and_close(400, "bad_request", "malformed request: " + ec.message());
        } else {
            // The peer left, timed out or reset: nobody to answer.
            close_quietly();
        }
    }

    void on_request() {
        BeastRequest& req = parser_->get();
        const bool upgrade = shared_->ws.accept && websocket::is_upgrade(req);
        Request request = to_request(req, remote_, !upgrade);
        if (upgrade) {
            upgrade_websocket(std::move(request));
            return;
        }
        Response response;
        try {
            response = shared_->handler(request);
        } catch (const std::exception& e) {
            spdlog::error("http: handler threw on {} {}: {}", request.method,
                          core::quote_input(request.path, core::kLogEchoBytesMax), e.what());
            response = internal_error();
        }
        // The handler is done with the bytes: the buffer serves the next body.
        if (request.body.capacity() <= kSpareBodyBytesMax &&
            request.body.capacity() > spare_body().capacity()) {
            request.body.clear();
            spare_body() = std::move(request.body);
        }
        if (response.stream && response.status >= 100 && response.status <= 999) {
            start_stream(std::move(response), req.version());
            return;
        }
        write(std::move(response), req.version(), req.keep_alive(), AfterWrite::Continue);
    }

  public:
    // Streamed responses (ResponseStream). Thread-safe: queues on the strand.
    bool stream_enqueue(std::string bytes) {
        if (!stream_open_) return false;
        asio::post(strand_, [self = shared_from_this(), b = std::move(bytes)]() mutable {
            self->stream_push(std::move(b));
        });
        return true;
    }
    // Thread-safe: sends what is queued, then closes. Posted (never run
    // inline) so that it comes after every send queued before it.
    void stream_close() {
        stream_open_ = false;
        asio::post(strand_, [self = shared_from_this()] {
            self->stream_closing_ = true;
            if (self->stream_head_done_ && !self->stream_writing_) self->end_stream();
        });
    }
    bool stream_is_open() const { return stream_open_; }

  private:
    // The head (no length: the body ends when the connection does), then
    // whatever the stream sends, while a read notices the client leaving.
    void start_stream(Response response, unsigned version) {
        stream_head_ = std::make_unique<bhttp::response<bhttp::empty_body>>();
        stream_head_->version(version);
        stream_head_->result(static_cast<unsigned>(response.status));
        if (!response.content_type.empty()) {
            stream_head_->set(bhttp::field::content_type, response.content_type);
        }
        for (const auto& [name, value] : response.headers) stream_head_->insert(name, value);
        stream_head_->keep_alive(false);
        stream_serializer_.emplace(*stream_head_);
        if (!response.body.empty()) stream_queue_.push_back(std::move(response.body));
        starter_ = std::move(response.stream);
        stream_open_ = true;
        stream_.expires_after(milliseconds(options().request_timeout_ms));
        bhttp::async_write_header(stream_, *stream_serializer_,
                                  [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                      self->on_stream_head(ec);
                                  });
    }

    void on_stream_head(beast::error_code ec) {
        stream_head_done_ = true;
        if (ec || shared_->is_stopping()) {
            end_stream();
            return;
        }
        stream_.expires_never();
        auto handle = std::make_shared<StreamHandle>(weak_from_this());
        try {
            starter_(handle);
        } catch (const std::exception& e) {
            spdlog::error("http: stream starter threw: {}", e.what());
            end_stream();
            return;
        }
        starter_ = nullptr;
        watch_peer();
        if (!stream_queue_.empty()) {
            stream_write();
        } else if (stream_closing_) {
            end_stream();
        }
    }

    // The client sends nothing more; a read ends when it leaves.
    void watch_peer() {
        buffer_.consume(buffer_.size());
        stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec) {
                                        self->end_stream();
                                        return;
                                    }
                                    self->watch_peer();
                                });
    }

    void stream_push(std::string bytes) {
        if (stream_ended_ || stream_closing_) return;
        if (stream_queue_.size() >= kWsQueueFramesMax) {
            spdlog::warn("http: stream client too slow ({} writes queued), closing",
                         stream_queue_.size());
            end_stream();
            return;
        }
        stream_queue_.push_back(std::move(bytes));
        if (stream_head_done_ && !stream_writing_) stream_write();
    }

    void stream_write() {
        stream_writing_ = true;
        stream_.expires_after(milliseconds(options().request_timeout_ms));
        asio::async_write(stream_, asio::buffer(stream_queue_.front()),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_stream_write(ec);
                          });
    }

    void on_stream_write(beast::error_code ec) {
        stream_writing_ = false;
        if (ec || stream_ended_) {
            end_stream();
            return;
        }
        stream_queue_.pop_front();
        if (!stream_queue_.empty()) {
            stream_write();
            return;
        }
        stream_.expires_never();
        if (stream_closing_) end_stream();
    }

    void end_stream() {
        stream_open_ = false;
        if (stream_ended_) return;
        stream_ended_ = true;
        // A pending write may still reference the front chunk.
        while (stream_queue_.size() > (stream_writing_ ? 1u : 0u)) stream_queue_.pop_back();
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    void upgrade_websocket(Request request) {
        std::optional<Response> refusal;
        try {
            refusal = shared_->ws.accept(request);
        } catch (const std::exception& e) {
            spdlog::error("http: websocket accept threw on {}: {}",
                          core::quote_input(request.path, core::kLogEchoBytesMax), e.what());
            refusal = internal_error();
        }
        BeastRequest& req = parser_->get();
        if (refusal) {
            write(std::move(*refusal), req.version(), req.keep_alive(), AfterWrite::Continue);
            return;
        }
        upgraded_ = true;
        stream_.expires_never();
        auto session = std::make_shared<WsSessionImpl>(shared_, std::move(stream_), strand_,
                                                       std::move(request));
        session->start(parser_->release());
    }

    enum class AfterWrite { Continue, Linger };

    void reply_error_and_close(int status, std::string_view code, const std::string& message) {
        const unsigned version =
            parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
        write(error_response(status, code, message), version, false, AfterWrite::Linger);
    }

    // Phase 3: write the response, then read the next request or close.
    void write(Response response, unsigned version, bool keep_alive, AfterWrite after) {
        keep_alive = keep_alive && !shared_->is_stopping();
        try {
            response_ = to_beast(std::move(response), version, keep_alive);
        } catch (const std::exception& e) {
            spdlog::error("http: bad response: {}", e.what());
            response_ = to_beast(internal_error(), version, keep_alive);
        }
        stream_.expires_after(milliseconds(options().request_timeout_ms));
        bhttp::async_write(
            stream_, *response_,
            [self = shared_from_this(), keep_alive, after](beast::error_code ec, std::size_t) {
                self->response_.reset();
                if (ec) {
                    self->close_quietly();
                } else if (after == AfterWrite::Linger) {
                    self->linger();
                } else if (keep_alive) {
                    self->wait_for_request();
                } else {
                    self->close_gracefully();
                }
            });
    }

    void close_gracefully() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.close();
    }

    void close_quietly() { stream_.close(); }

    // Half-close, then discard what the client still sends, for a bounded
    // time and size, so our error reply reaches it before the socket closes.
    void linger() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(kLingerTime);
        linger_bytes_ = 0;
        drain();
    }

    void drain() {
        buffer_.consume(buffer_.size());
        stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->linger_bytes_ += n;
                                    if (ec || self->linger_bytes_ > kLingerBytesMax) {
                                        self->close_quietly();
                                        return;
                                    }
                                    self->drain();
                                });
    }

    std::shared_ptr<Shared> shared_;
    Strand strand_;
    beast::tcp_stream stream_;
    std::string remote_;
    std::uint64_t id_ = 0;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    std::unique_ptr<BeastResponse> response_;
    std::size_t linger_bytes_ = 0;
    bool upgraded_ = false;              // stream_ was moved into a WsSessionImpl.
    asio::steady_timer throttle_timer_;  // pauses between chunks of a throttled body
    // A streamed response; touched on the strand except stream_open_.
    std::unique_ptr<bhttp::response<bhttp::empty_body>> stream_head_;
    std::optional<bhttp::response_serializer<bhttp::empty_body>> stream_serializer_;
    StreamStarter starter_;
    std::deque<std::string> stream_queue_;
    std::atomic<bool> stream_open_{false};
    bool stream_head_done_ = false;
    bool stream_writing_ = false;
    bool stream_closing_ = false;
    bool stream_ended_ = false;
};

bool StreamHandle::send(std::string bytes) {
    const auto session = session_.lock();
    return session && session->stream_enqueue(std::move(bytes));
}

void StreamHandle::close() {
    if (const auto session = session_.lock()) session->stream_close();
}

bool StreamHandle::is_open() const {
    const auto session = session_.lock();
    return session && session->stream_is_open();
}

// ---------------------------------------------------------------------------
// The server: acceptor, threads, shutdown.

class ServerImpl final : public Server {
  public:
    ServerImpl(ServerOptions options, Handler handler, WsHandlers ws)
        : shared_(std::make_shared<Shared>()), acceptor_(asio::make_strand(ioc_)) {
        // The first thread's context also accepts.
        contexts_.push_back(&ioc_);
        shared_->options = std::move(options);
        shared_->handler = std::move(handler);
        shared_->ws = std::move(ws);
    }

    ~ServerImpl() override { stop(); }

    core::Status start() override {
        std::lock_guard lock(lifecycle_mu_);
        if (started_) return core::make_error("server_state", "server already started");
        started_ = true;
        const ServerOptions& options = shared_->options;
        beast::error_code ec;
        tcp::resolver resolver(ioc_);
        const auto endpoints = resolver.resolve(options.host, std::to_string(options.port),
                                                tcp::resolver::passive, ec);
        if (ec || endpoints.empty()) {
            return core::make_error("listen_failed", "cannot resolve " + options.host + ": " +
                                                         (ec ? ec.message() : "no address"));
        }
        const tcp::endpoint endpoint = *endpoints.begin();
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) acceptor_.bind(endpoint, ec);
        if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            beast::error_code ignored;
            acceptor_.close(ignored);
            return core::make_error("listen_failed", "cannot listen on " + options.host + ":" +
                                                         std::to_string(options.port) + ": " +
                                                         ec.message());
        }
        port_ = acceptor_.local_endpoint(ec).port();
        const int threads = std::clamp(options.threads, 1, kThreadsMax);
        for (int i = 1; i < threads; ++i) {
            extra_contexts_.push_back(std::make_unique<asio::io_context>(1));
            contexts_.push_back(extra_contexts_.back().get());
        }
        // A context waiting for its first connection has no work, which would end its run().
        for (asio::io_context* context : contexts_) work_.emplace_back(context->get_executor());
        do_accept();
        threads_.reserve(static_cast<std::size_t>(threads));
        for (asio::io_context* context : contexts_) {
            threads_.emplace_back([this, context] { run_loop(*context); });
        }
        spdlog::info("http: listening on {}:{} with {} threads", options.host, port_, threads);
        return {};
    }

    std::uint16_t port() const override { return port_; }

    void stop() override {
        std::lock_guard lock(lifecycle_mu_);
        if (stopped_) return;
        stopped_ = true;
        // Joining from an I/O thread would wait for itself.
        for (asio::io_context* context : contexts_)
            TOLLGATE_ASSERT(!context->get_executor().running_in_this_thread());
        if (!started_) return;

        std::vector<std::shared_ptr<Connection>> connections;
        {
            std::lock_guard shared_lock(shared_->mu);
            shared_->stopping = true;
            for (auto& [id, weak] : shared_->live) {
                if (auto connection = weak.lock()) connections.push_back(std::move(connection));
            }
        }
        asio::post(acceptor_.get_executor(), [this] {
            beast::error_code ignored;
            acceptor_.close(ignored);
        });
        for (const auto& connection : connections) connection->abort();
        connections.clear();
        {
            std::unique_lock shared_lock(shared_->mu);
            if (!shared_->cv.wait_for(shared_lock, kStopGrace,
                                      [&] { return shared_->live.empty(); })) {
                spdlog::warn("http: {} connections still open after {} ms; cutting them",
                             shared_->live.size(), kStopGrace.count());
            }
        }
        work_.clear();
        for (asio::io_context* context : contexts_) context->stop();
        for (auto& thread : threads_) thread.join();
        threads_.clear();
        spdlog::info("http: stopped");
    }

  private:
    void run_loop(asio::io_context& context) {
        for (;;) {
            try {
                context.run();
                return;
            } catch (const std::exception& e) {
                spdlog::error("http: uncaught exception on I/O thread: {}", e.what());
            }
        }
    }

    void do_accept() {
        // The socket's executor is its own strand, on the next thread's context.
        // Only the acceptor's strand runs this, so next_context_ needs no lock.
        asio::io_context& context = *contexts_[next_context_++ % contexts_.size()];
        Strand strand = asio::make_strand(context);
        acceptor_.async_accept(strand, [this, strand](beast::error_code ec, tcp::socket socket) {
            on_accept(ec, std::move(socket), strand);
        });
    }

    void on_accept(beast::error_code ec, tcp::socket socket, Strand strand) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
            // Typically EMFILE: back off briefly instead of spinning.
            spdlog::warn("http: accept failed: {}", ec.message());
            auto timer =
                std::make_shared<asio::steady_timer>(acceptor_.get_executor(), milliseconds(100));
            timer->async_wait([this, timer](beast::error_code wait_ec) {
                if (!wait_ec && acceptor_.is_open()) do_accept();
            });
            return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        const auto remote = socket.remote_endpoint(ignored);
        std::make_shared<HttpSession>(shared_, std::move(socket), std::move(strand),
                                      ignored ? std::string{} : remote.address().to_string())
            ->start();
        do_accept();
    }

    std::shared_ptr<Shared> shared_;
    // The contexts are declared before everything that uses their executors,
    // and the other threads' before ioc_: the accept pending on ioc_ holds a
    // socket of the context it was dealt to, which must outlive it.
    // Concurrency hint 1: each is run by one thread (posts from others stay safe).
    std::vector<std::unique_ptr<asio::io_context>> extra_contexts_;
    asio::io_context ioc_{1};
    std::vector<asio::io_context*> contexts_;  // ioc_, then extra_contexts_
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::size_t next_context_ = 0;
    tcp::acceptor acceptor_;
    std::vector<std::thread> threads_;
    std::atomic<std::uint16_t> port_{0};
    std::mutex lifecycle_mu_;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Server> make_server(ServerOptions options, Handler handler, WsHandlers ws) {
    return std::make_unique<ServerImpl>(std::move(options), std::move(handler), std::move(ws));
}

}  // namespace tollgate::http
