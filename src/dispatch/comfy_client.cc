// All of dispatch's Beast code lives in this one file (each Beast TU costs
// ~30 s to compile).
//
// Approach: each HTTP call runs one async operation at a time to completion
// with run_one() on the io_context of its connection. The deadline is set on
// the tcp_stream (expires_at), so a stalled worker ends the operation with
// beast::error::timeout; name resolution, which tcp_stream does not time,
// gets a steady_timer that cancels the resolver (IP literals skip it).
//
// Connections are kept alive and reused, per worker, by a process-wide pool:
// a job makes about six calls to its worker and the health monitor one a
// second, and a fresh connection cost a connect, an accept on the worker and
// a new io_context each time. A connection goes back to the pool only after
// a complete answer that did not ask to close, with nothing left unread, and
// is reused only within kIdleReuseMs (servers drop idle connections after
// tens of seconds: aiohttp after 75 s, comfysim after 30 s). A reused
// connection that turns out closed before any byte of the answer arrived
// (the worker dropped it while idle) is replaced by a fresh one and the
// request is sent once more; any other failure is reported as before, and
// a connection that failed or timed out is never reused.
//
// Rejected alternatives: blocking Asio calls (SO_RCVTIMEO is ignored, so a
// stalled worker would hold the thread forever); coroutines (slower to
// compile, no gain for strictly sequential calls).
//
// PromptWatch keeps its io_context between calls: next_event() leaves an
// unfinished read pending and simply runs the context again next time, so
// the caller can poll /history over HTTP between slices without tearing the
// socket down. The WebSocket's own idle timeout with keep-alive pings detects
// a dead peer; the tcp_stream timer is disabled after connect, as Beast
// requires for websocket streams.
#include "dispatch/comfy_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "http/codec/multipart.h"
#include "http/codec/query.h"

namespace tollgate::dispatch {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

constexpr std::uint32_t kResponseHeaderBytesMax = 64 * 1024;
constexpr std::uint64_t kJsonResponseBytesMax = core::limits::kComfyMessageBytesMax;
constexpr const char* kUserAgent = "tollgate";

struct HttpReply {
    unsigned status = 0;
    std::string body;
};

Deadline deadline_after_ms(int timeout_ms) {
    return SteadyClock::now() + std::chrono::milliseconds(std::max(timeout_ms, 1));
}

// Starts one async operation with a completion handler and runs `ioc` until
// that handler has run. Other handlers (stale timers) may run meanwhile.
template <typename Start>
beast::error_code run_op(asio::io_context& ioc, Start&& start) {
    beast::error_code result;
    bool done = false;
    std::forward<Start>(start)([&result, &done](beast::error_code ec, auto&&...) {
        result = ec;
        done = true;
    });
    int idle_rounds = 0;
    while (!done) {
        if (ioc.stopped()) ioc.restart();
        if (ioc.run_one() == 0) {
            // No work left yet the handler never ran: an operation was never started.
            TOLLGATE_ASSERT(++idle_rounds < 2);
        } else {
            idle_rounds = 0;
        }
    }
    return result;
}

std::string describe(const WorkerAddress& a) { return "worker " + a.host_header(); }

// Resolves and connects `stream` before `deadline`. Every failure is
// "worker_unreachable": nothing has been sent yet.
core::Status connect_stream(asio::io_context& ioc, beast::tcp_stream& stream,
                            const WorkerAddress& address, Deadline deadline) {
    std::vector<tcp::endpoint> endpoints;
    beast::error_code ec;
    unsigned short port = 0;
    const char* port_end = address.port.data() + address.port.size();
    if (std::from_chars(address.port.data(), port_end, port).ptr != port_end || port == 0) {
        return core::make_error("worker_unreachable", "invalid port in " + describe(address));
    }
    const asio::ip::address literal = asio::ip::make_address(address.host, ec);
    if (!ec) {
        endpoints.emplace_back(literal, port);
    } else {
        tcp::resolver resolver(ioc);
        asio::steady_timer timer(ioc, deadline);
        bool timer_done = false;
        timer.async_wait([&](beast::error_code timer_ec) {
            timer_done = true;
            if (!timer_ec) resolver.cancel();
        });
        tcp::resolver::results_type results;
        ec = run_op(ioc, [&](auto handler) {
            resolver.async_resolve(
                address.host, address.port,
                [&results, handler](beast::error_code e, tcp::resolver::results_type r) mutable {
                    results = std::move(r);
                    handler(e);
                });
        });
        timer.cancel();
        while (!timer_done) {  // the timer's handler refers to locals: let it finish here
            if (ioc.stopped()) ioc.restart();
            ioc.run_one();
        }
        if (ec) {
            return core::make_error("worker_unreachable",
                                    "cannot resolve " + describe(address) + ": " + ec.message());
        }
        for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    }
    stream.expires_at(deadline);
    ec = run_op(ioc, [&](auto handler) { stream.async_connect(endpoints, handler); });
    if (ec == beast::error::timeout) {
        return core::make_error("worker_unreachable",
                                "connecting to " + describe(address) + " timed out");
    }
    if (ec) {
        return core::make_error("worker_unreachable",
                                "cannot connect to " + describe(address) + ": " + ec.message());
    }
    return {};
}

core::Error transfer_error(const beast::error_code& ec, const WorkerAddress& address,
                           const std::string& what) {
    const std::string where = what + " on " + describe(address);
    if (ec == beast::error::timeout) {
        return core::make_error("worker_timeout", where + " timed out");
    }
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit ||
        ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) {
        return core::make_error("worker_response_too_large", where + ": " + ec.message());
    }
    if (ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
        ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category()) {
        return core::make_error("comfy_response_invalid", where + ": " + ec.message());
    }
    return core::make_error("worker_connection_lost", where + ": " + ec.message());
}

// A connection to a worker with the io_context it runs on; used by one
// thread at a time.
struct Connection {
    asio::io_context ioc;  // declared first: destroyed last, after everything using it
    beast::tcp_stream stream{ioc};
    SteadyClock::time_point idle_since;
};

// Idle kept-alive connections by worker (host:port), newest last.
class ConnectionPool {
  public:
    static constexpr std::size_t kIdlePerWorkerMax = 16;
    static constexpr int kIdleReuseMs = 2'000;
    // Bounds the map itself: beyond it, idle connections of other workers go.
    static constexpr std::size_t kWorkersMax = 1'024;

    std::unique_ptr<Connection> take(const std::string& key) {
        std::lock_guard lock(mu_);
        auto it = idle_.find(key);
        if (it == idle_.end()) return nullptr;
        // Newest last: when the newest has idled too long, so have all the others.
        auto& list = it->second;
        const auto oldest_ok = SteadyClock::now() - std::chrono::milliseconds(kIdleReuseMs);
        if (list.empty() || list.back()->idle_since < oldest_ok) {
            idle_.erase(it);
            return nullptr;
        }
        std::unique_ptr<Connection> out = std::move(list.back());
        list.pop_back();
        return out;
    }

    void give_back(const std::string& key, std::unique_ptr<Connection> c) {
        c->idle_since = SteadyClock::now();
        std::lock_guard lock(mu_);
        if (idle_.size() >= kWorkersMax && idle_.find(key) == idle_.end()) idle_.clear();
        auto& list = idle_[key];
        if (list.size() >= kIdlePerWorkerMax) list.erase(list.begin());
        list.push_back(std::move(c));
    }

  private:
    std::mutex mu_;
    std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

ConnectionPool& connection_pool() {
    static ConnectionPool* pool =
        new ConnectionPool();  // never destroyed: threads may outlive main
    return *pool;
}

// The worker closed the connection before answering anything: what a reused
// connection the worker dropped while it was idle looks like.
bool closed_before_answer(const beast::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::error::eof;
}

// One request and its answer within `timeout_ms`, on a kept-alive connection
// to the worker when one is idle, else on a new one.
core::Result<HttpReply> http_exchange(const WorkerAddress& address, bhttp::verb verb,
                                      const std::string& route, std::string_view content_type,
                                      std::string body, std::uint64_t body_limit, int timeout_ms) {
    const std::string what = std::string(bhttp::to_string(verb)) + " " + route;
    const Deadline deadline = deadline_after_ms(timeout_ms);
    const std::string key = address.host_header();

    bhttp::request<bhttp::string_body> req{verb, address.base_path + route, 11};
    req.set(bhttp::field::host, key);
    req.set(bhttp::field::user_agent, kUserAgent);
    if (!content_type.empty())
        req.set(bhttp::field::content_type,
                beast::string_view(content_type.data(), content_type.size()));
    if (verb == bhttp::verb::post || !body.empty()) {
        req.body() = std::move(body);
        req.prepare_payload();
    }
    req.keep_alive(true);

    for (int attempt = 0; attempt < 2; ++attempt) {
        std::unique_ptr<Connection> conn = attempt == 0 ? connection_pool().take(key) : nullptr;
        const bool reused = conn != nullptr;
        if (!reused) {
            conn = std::make_unique<Connection>();
            if (auto status = connect_stream(conn->ioc, conn->stream, address, deadline); !status) {
                return status.error();
            }
        }
        conn->stream.expires_at(deadline);
        beast::error_code ec = run_op(
            conn->ioc, [&](auto handler) { bhttp::async_write(conn->stream, req, handler); });
        if (ec && reused && closed_before_answer(ec)) continue;
        if (ec) return transfer_error(ec, address, what);

        beast::flat_buffer buffer;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.header_limit(kResponseHeaderBytesMax);
        parser.body_limit(body_limit);
        ec = run_op(conn->ioc, [&](auto handler) {
            bhttp::async_read(conn->stream, buffer, parser, handler);
        });
        if (ec && reused && !parser.got_some() && closed_before_answer(ec)) continue;
        if (ec) return transfer_error(ec, address, what);

        HttpReply reply;
        reply.status = parser.get().result_int();
        const bool keep = parser.get().keep_alive() && buffer.size() == 0;
        reply.body = std::move(parser.get().body());
        if (keep) {
            conn->stream.expires_never();
            connection_pool().give_back(key, std::move(conn));
        } else {
            beast::error_code ignored;
            conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        }
        return reply;
    }
    return core::make_error("worker_connection_lost",
                            what + " on " + describe(address) + ": the connection was closed");
}

// A short, printable excerpt of an answer body for error messages.
std::string excerpt(std::string_view body) {
    std::string out(body.substr(0, 200));
    for (char& c : out) {
        if (!std::isprint(static_cast<unsigned char>(c))) c = ' ';
    }
    return out;
}

core::Error http_status_error(const HttpReply& reply, const WorkerAddress& address,
                              const std::string& what) {
    return core::make_error("worker_http_error",
                            what + " on " + describe(address) + " answered HTTP " +
                                std::to_string(reply.status) + ": " + excerpt(reply.body));
}

std::string dump_json(const nlohmann::json& value) {
    // Replace invalid UTF-8 instead of throwing: exceptions never leave dispatch.
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string image_content_type(std::string_view filename) {
    std::string ext(filename.substr(
        filename.rfind('.') == std::string_view::npos ? filename.size() : filename.rfind('.') + 1));
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == "png") return "image/png";
    if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
    if (ext == "webp") return "image/webp";
    return "application/octet-stream";
}

bool is_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

bool is_path_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
           c == '~' || c == '/' || c == '%';
}

}  // namespace

std::string WorkerAddress::host_header() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
    return host + ":" + port;
}

core::Result<WorkerAddress> parse_worker_url(std::string_view url) {
    const auto bad = [&](const std::string& why) {
        return core::make_error("invalid_worker_url",
                                "worker URL \"" + excerpt(url) + "\": " + why);
    };
    std::string lower(url.substr(0, 8));
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.rfind("https://", 0) == 0) return bad("https is not supported");
    if (lower.rfind("http://", 0) != 0) return bad("must start with http://");
    std::string_view rest = url.substr(7);
    const std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);

    WorkerAddress a;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return bad("unclosed '[' in host");
        a.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') return bad("junk after IPv6 address");
        if (!after.empty()) port = after.substr(1);
        beast::error_code ec;
        (void)asio::ip::make_address_v6(a.host, ec);
        if (ec) return bad("invalid IPv6 address");
    } else {
        const std::size_t colon = authority.find(':');
        if (colon != std::string_view::npos &&
            authority.find(':', colon + 1) != std::string_view::npos) {
            return bad("IPv6 addresses need brackets");
        }
        a.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
        if (!std::all_of(a.host.begin(), a.host.end(), is_host_char)) {
            return bad("invalid character in host");
        }
    }
    if (a.host.empty()) return bad("no host");
    if (port.empty()) {
        if (authority.find(':') != std::string_view::npos && authority.back() == ':') {
            return bad("empty port");
        }
        a.port = "80";
    } else {
        if (port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return bad("invalid port");
        }
        const unsigned long n = std::stoul(std::string(port));
        if (n == 0 || n > 65535) return bad("port out of range");
        a.port = std::to_string(n);
    }
    if (!std::all_of(path.begin(), path.end(), is_path_char)) {
        return bad("path may hold only unreserved characters, '/' and '%'");
    }
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    a.base_path = std::string(path);
    return a;
}

core::Result<ComfyClient> ComfyClient::create(std::string_view base_url) {
    auto address = parse_worker_url(base_url);
    if (!address) return address.error();
    return ComfyClient(std::move(*address));
}

void ComfyClient::set_request_timeout_ms(int timeout_ms) {
    request_timeout_ms_ = std::clamp(timeout_ms, 1, core::limits::kComfyRequestTimeoutMs);
}

core::Result<UploadedImage> ComfyClient::upload_image(std::string_view bytes,
                                                      std::string_view filename,
                                                      std::string_view subfolder) {
    std::string boundary = "tollgate-" + core::random_hex(16);
    while (bytes.find(boundary) != std::string_view::npos) {
        boundary = "tollgate-" + core::random_hex(16);
    }
    std::vector<tollgate::http::MultipartPart> parts;
    parts.push_back(
        {"image", std::string(filename), image_content_type(filename), std::string(bytes)});
    parts.push_back({"type", "", "", "input"});
    parts.push_back({"subfolder", "", "", std::string(subfolder)});
    parts.push_back({"overwrite", "", "", "true"});
    const std::string what = "POST /upload/image";
    auto reply = http_exchange(address_, bhttp::verb::post, "/upload/image",
                               tollgate::http::multipart_content_type(boundary),
                               tollgate::http::build_multipart(boundary, parts),
                               kJsonResponseBytesMax, request_timeout_ms_);
    if (!reply) return reply.error();
    if (reply->status != 200) return http_status_error(*reply, address_, what);
    return parse_upload_response(reply->body);
}

core::Result<QueuedPrompt> ComfyClient::queue_prompt(const nlohmann::json& graph,
                                                     std::string_view client_id,
                                                     std::string_view prompt_id) {
    nlohmann::json body = {{"prompt", graph},
                           {"client_id", std::string(client_id)},
                           {"prompt_id", std::string(prompt_id)}};
    const std::string what = "POST /prompt";
    auto reply = http_exchange(address_, bhttp::verb::post, "/prompt", "application/json",
                               dump_json(body), kJsonResponseBytesMax, request_timeout_ms_);
    if (!reply) return reply.error();
    if (reply->status == 400) {
        return core::make_error("prompt_rejected", summarize_prompt_rejection(reply->body));
    }
    if (reply->status != 200) return http_status_error(*reply, address_, what);
    return parse_queue_prompt_response(reply->body);
}

core::Result<std::string> ComfyClient::get_history(std::string_view prompt_id) {
    const std::string route = "/history/" + tollgate::http::percent_encode(prompt_id);
    auto reply = http_exchange(address_, bhttp::verb::get, route, "", "", kJsonResponseBytesMax,
                               request_timeout_ms_);
    if (!reply) return reply.error();
    if (reply->status != 200) return http_status_error(*reply, address_, "GET /history/{id}");
    return std::move(reply->body);
}

core::Status ComfyClient::delete_history(std::string_view prompt_id) {
    const nlohmann::json body = {{"delete", {std::string(prompt_id)}}};
    auto reply = http_exchange(address_, bhttp::verb::post, "/history", "application/json",
                               dump_json(body), kJsonResponseBytesMax, request_timeout_ms_);
    if (!reply) return reply.error();
    if (reply->status != 200) return http_status_error(*reply, address_, "POST /history");
    return {};
}

core::Status ComfyClient::delete_queued(std::string_view prompt_id) {
    const nlohmann::json body = {{"delete", {std::string(prompt_id)}}};
    auto reply = http_exchange(address_, bhttp::verb::post, "/queue", "application/json",
                               dump_json(body), kJsonResponseBytesMax, request_timeout_ms_);
    if (!reply) return reply.error();
    if (reply->status != 200) return http_status_error(*reply, address_, "POST /queue");
    return {};
}

core::Status ComfyClient::interrupt(std::string_view prompt_id) {
    const nlohmann::json body = {{"prompt_id", std::string(prompt_id)}};
    auto reply = http_exchange(address_, bhttp::verb::post, "/interrupt", "application/json",
                               dump_json(body), kJsonResponseBytesMax, request_timeout_ms_);
    if (!reply) return reply.error();
    if (reply->status != 200) return http_status_error(*reply, address_, "POST /interrupt");
    return {};
}

core::Result<std::string> ComfyClient::view(const OutputImage& image) {
    using tollgate::http::percent_encode;
    const std::string route = "/view?filename=" + percent_encode(image.filename) +
                              "&subfolder=" + percent_encode(image.subfolder) +
                              "&type=" + percent_encode(image.type);
    auto reply = http_exchange(address_, bhttp::verb::get, route, "", "",
                               static_cast<std::uint64_t>(core::limits::kComfyResultBytesMax),
                               request_timeout_ms_);
    if (!reply) return reply.error();
    if (reply->status != 200) return http_status_error(*reply, address_, "GET /view");
    return std::move(reply->body);
}

core::Result<std::string> ComfyClient::get_queue() {
    auto reply = http_exchange(address_, bhttp::verb::get, "/queue", "", "", kJsonResponseBytesMax,
                               request_timeout_ms_);
    if (!reply) return reply.error();
    if (reply->status != 200) return http_status_error(*reply, address_, "GET /queue");
    return std::move(reply->body);
}

core::Result<std::string> ComfyClient::system_stats() {
    auto reply = http_exchange(address_, bhttp::verb::get, "/system_stats", "", "",
                               kJsonResponseBytesMax, request_timeout_ms_);
    if (!reply) return reply.error();
    if (reply->status != 200) return http_status_error(*reply, address_, "GET /system_stats");
    return std::move(reply->body);
}

struct PromptWatch::Impl {
    asio::io_context ioc;  // declared first: destroyed last
    WorkerAddress address;
    websocket::stream<beast::tcp_stream> ws{ioc};
    beast::flat_buffer buffer;
    bool read_pending = false;
    bool read_done = false;
    beast::error_code read_ec;
    bool failed = false;
};

PromptWatch::PromptWatch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PromptWatch::~PromptWatch() {
    if (!impl_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(impl_->ws).socket().close(ignored);
}

core::Result<std::unique_ptr<PromptWatch>> PromptWatch::connect(const WorkerAddress& address,
                                                                std::string_view client_id,
                                                                int timeout_ms) {
    const Deadline deadline = deadline_after_ms(timeout_ms);
    auto impl = std::make_unique<Impl>();
    impl->address = address;
    auto& stream = beast::get_lowest_layer(impl->ws);
    if (auto status = connect_stream(impl->ioc, stream, address, deadline); !status) {
        return status.error();
    }
    stream.expires_never();  // the websocket stream times itself from here on

    websocket::stream_base::timeout options{};
    options.handshake_timeout = std::max(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()),
        std::chrono::milliseconds(1));
    options.idle_timeout = std::chrono::milliseconds(kIdleTimeoutMs);
    options.keep_alive_pings = true;
    impl->ws.set_option(options);
    impl->ws.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(bhttp::field::user_agent, kUserAgent); }));
    impl->ws.read_message_max(static_cast<std::uint64_t>(core::limits::kComfyMessageBytesMax));

    const std::string target =
        address.base_path + "/ws?clientId=" + tollgate::http::percent_encode(client_id);
    websocket::response_type response;
    const beast::error_code ec = run_op(impl->ioc, [&](auto handler) {
        impl->ws.async_handshake(response, address.host_header(), target, handler);
    });
    if (ec == beast::error::timeout) {
        return core::make_error("worker_timeout",
                                "WebSocket handshake with " + describe(address) + " timed out");
    }
    if (ec) {
        std::string why = ec.message();
        if (response.result_int() != 0)
            why += " (HTTP " + std::to_string(response.result_int()) + ")";
        return core::make_error("worker_ws_failed",
                                "WebSocket handshake with " + describe(address) + ": " + why);
    }
    return std::unique_ptr<PromptWatch>(new PromptWatch(std::move(impl)));
}

core::Result<std::optional<ComfyEvent>> PromptWatch::next_event(int wait_ms) {
    Impl& s = *impl_;
    if (s.failed) return core::make_error("worker_ws_closed", "WebSocket already closed");
    const Deadline until = deadline_after_ms(wait_ms);
    for (;;) {
        if (!s.read_pending) {
            s.buffer.consume(s.buffer.size());
            s.read_pending = true;
            s.read_done = false;
            Impl* state = &s;
            s.ws.async_read(s.buffer, [state](beast::error_code ec, std::size_t) {
                state->read_ec = ec;
                state->read_done = true;
            });
        }
        while (!s.read_done) {
            if (SteadyClock::now() >= until) return std::optional<ComfyEvent>{};
            if (s.ioc.stopped()) s.ioc.restart();
            s.ioc.run_one_until(until);
        }
        s.read_pending = false;
        if (s.read_ec) {
            s.failed = true;
            const auto error = transfer_error(s.read_ec, s.address, "WebSocket read");
            return core::make_error("worker_ws_closed", error.message);
        }
        if (!s.ws.got_text()) continue;  // binary previews: read and discarded
        auto event = parse_comfy_event(beast::buffers_to_string(s.buffer.data()));
        if (!event) {
            ++skipped_frames_;
            continue;
        }
        return std::optional<ComfyEvent>(std::move(*event));
    }
}

}  // namespace tollgate::dispatch
