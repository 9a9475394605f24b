// Tests of http::Server over real loopback sockets. Plain HTTP goes through a
// small blocking POSIX-socket client (so tests control exactly which bytes are
// sent, e.g. half a body); WebSockets use Beast's synchronous client. Every
// blocking read is bounded (SO_RCVTIMEO or a watchdog that shuts the socket
// down), so a broken server fails a test instead of hanging it.
#include "http/server/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tollgate::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kReadTimeout = 5s;

struct HttpReply {
    int status = 0;
    std::map<std::string, std::string> headers;  // Lowercase names.
    std::string body;

    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

class RawClient {
  public:
    explicit RawClient(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        timeval tv{static_cast<time_t>(kReadTimeout / 1s), 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~RawClient() { ::close(fd_); }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return connected_; }

    bool send_all(std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // One response (a 1xx one included); nullopt on EOF, timeout or error.
    std::optional<HttpReply> read_reply() {
        std::size_t header_end;
        while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill()) return std::nullopt;
        }
        HttpReply reply;
        const std::string head = buffer_.substr(0, header_end + 2);
        buffer_.erase(0, header_end + 4);
        std::size_t line_end = head.find("\r\n");
        const std::string status_line = head.substr(0, line_end);
        if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return std::nullopt;
        reply.status = std::stoi(status_line.substr(9, 3));
        for (std::size_t pos = line_end + 2; pos < head.size(); pos = line_end + 2) {
            line_end = head.find("\r\n", pos);
            const std::string line = head.substr(pos, line_end - pos);
            const std::size_t colon = line.find(':');
            if (colon == std::string::npos) return std::nullopt;
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            reply.headers[lower(line.substr(0, colon))] = value;
        }
        if (reply.status < 200) return reply;
        const auto length_it = reply.headers.find("content-length");
        const std::size_t length = length_it == reply.headers.end()
                                       ? 0
                                       : static_cast<std::size_t>(std::stoul(length_it->second));
        while (buffer_.size() < length) {
            if (!fill()) return std::nullopt;
        }
        reply.body = buffer_.substr(0, length);
        buffer_.erase(0, length);
        return reply;
    }

    // Reads until `text` has arrived (it and what came before are consumed);
    // false on EOF, timeout or error first.
    bool read_until(std::string_view text) {
        std::size_t at;
        while ((at = buffer_.find(text)) == std::string::npos) {
            if (!fill()) return false;
        }
        buffer_.erase(0, at + text.size());
        return true;
    }

    // True when the server closes the connection (EOF or reset) within the
    // read timeout, discarding anything it still sends.
    bool closed_by_server() {
        char chunk[4096];
        for (;;) {
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n == 0) return true;
            if (n < 0) return errno == ECONNRESET;
        }
    }

  private:
    bool fill() {
        char chunk[4096];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    bool connected_ = false;
    std::string buffer_;
};

// Shuts a socket down if the test is still blocked on it after a deadline, so
// a Beast synchronous read returns with an error instead of hanging.
class Watchdog {
  public:
    Watchdog(int fd, std::chrono::seconds deadline)
        : thread_([this, fd, deadline] {
              std::unique_lock lock(mu_);
              if (!cv_.wait_for(lock, deadline, [this] { return done_; })) {
                  ::shutdown(fd, SHUT_RDWR);
              }
          }) {}
    ~Watchdog() {
        {
            std::lock_guard lock(mu_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

std::unique_ptr<Server> start_server(ServerOptions options, Handler handler, WsHandlers ws = {}) {
    auto server = make_server(std::move(options), std::move(handler), std::move(ws));
    const core::Status status = server->start();
    EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.error().message);
    EXPECT_NE(server->port(), 0);
    return server;
}

Response text(std::string body) {
    Response res;
    res.content_type = "text/plain";
    res.body = std::move(body);
    return res;
}

std::string get(std::string_view target, std::string_view extra_headers = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra_headers) +
           "\r\n";
}

std::string error_code_of(const HttpReply& reply) {
    const auto json = nlohmann::json::parse(reply.body, nullptr, false);
    if (json.is_discarded() || !json.contains("error")) return "<not an error body>";
    return json["error"].value("code", "<no code>");
}

TEST(ServerTest, GetReturnsHandlerResponse) {
    auto server = start_server({}, [](const Request& req) {
        Response res = text("hello " + req.path);
        res.status = 201;
        res.headers.emplace_back("X-Extra", "yes");
        return res;
    });
    RawClient client(server->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send_all(get("/hi")));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 201);
    EXPECT_EQ(reply->body, "hello /hi");
    EXPECT_EQ(reply->header("content-type"), "text/plain");
    EXPECT_EQ(reply->header("x-extra"), "yes");
    EXPECT_EQ(reply->header("content-length"), "9");
}

TEST(ServerTest, FillsRequestFields) {
    std::mutex mu;
    Request seen;
    auto server = start_server({}, [&](const Request& req) {
        std::lock_guard lock(mu);
        seen = req;
        return text("ok");
    });
    RawClient client(server->port());
    ASSERT_TRUE(
        client.send_all("POST /v1/a%20b/c+d?x=1%202&y HTTP/1.1\r\nHost: t\r\nX-Thing: Value\r\n"
                        "x-multi: a\r\nX-Multi: b\r\nContent-Length: 5\r\n\r\nhello"));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    std::lock_guard lock(mu);
    EXPECT_EQ(seen.method, "POST");
    EXPECT_EQ(seen.target, "/v1/a%20b/c+d?x=1%202&y");
    EXPECT_EQ(seen.path, "/v1/a b/c+d");
    EXPECT_EQ(seen.query, "x=1%202&y");
    EXPECT_EQ(seen.header("x-thing"), "Value");
    EXPECT_EQ(seen.header("x-multi"), "a, b");
    EXPECT_EQ(seen.header("host"), "t");
    EXPECT_EQ(seen.header("absent"), "");
    EXPECT_EQ(seen.body, "hello");
    EXPECT_EQ(seen.remote_address, "127.0.0.1");
}

TEST(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
    std::atomic<int> calls{0};
    auto server = start_server({}, [&](const Request& req) {
        ++calls;
        return text(req.path);
    });
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(get("/one")));
    const auto first = client.read_reply();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->body, "/one");
    EXPECT_NE(lower(first->header("connection")), "close");
    ASSERT_TRUE(client.send_all(get("/two")));
    const auto second = client.read_reply();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->body, "/two");
    EXPECT_EQ(calls.load(), 2);
}

TEST(ServerTest, BodiesOnOneConnectionArriveWholeWhateverCameBefore) {
    // A thread reuses the last body's buffer: a short body after a long one,
    // and a request without one, must see only their own bytes.
    ServerOptions options;
    options.threads = 1;
    auto server = start_server(options, [](const Request& req) {
        return text(std::to_string(req.body.size()) + ":" + req.body.substr(0, 3) + ":" +
                    (req.body.empty() ? "" : req.body.substr(req.body.size() - 3)));
    });
    auto post = [](const std::string& body) {
        return "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body;
    };
    const std::string long_body = "abc" + std::string(200'000, 'x') + "xyz";
    RawClient client(server->port());
    for (const auto& [request, expected] : std::vector<std::pair<std::string, std::string>>{
             {post(long_body), "200006:abc:xyz"},
             {post("hello"), "5:hel:llo"},
             {get("/g"), "0::"},
             {post(std::string(100'000, 'q') + "end"), "100003:qqq:end"},
             {post(long_body), "200006:abc:xyz"}}) {
        ASSERT_TRUE(client.send_all(request));
        const auto reply = client.read_reply();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->body, expected);
    }
}

TEST(ServerTest, ConnectionsAreDealtToTheThreadsInTurn) {
    // Each thread keeps the connections it was dealt: a connection's handler
    // always runs on one thread, and the threads take connections in turn.
    ServerOptions options;
    options.threads = 3;
    std::mutex mu;
    std::map<std::string, std::thread::id> thread_of;
    auto server = start_server(options, [&](const Request& req) {
        std::lock_guard lock(mu);
        thread_of[req.path] = std::this_thread::get_id();
        return text("ok");
    });
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int c = 0; c < 4; ++c) {
        clients.push_back(std::make_unique<RawClient>(server->port()));
        for (int r = 0; r < 2; ++r) {
            ASSERT_TRUE(
                clients.back()->send_all(get("/c" + std::to_string(c) + "r" + std::to_string(r))));
            ASSERT_TRUE(clients.back()->read_reply());
        }
    }
    std::lock_guard lock(mu);
    for (int c = 0; c < 4; ++c) {
        const std::string id = "/c" + std::to_string(c);
        EXPECT_EQ(thread_of[id + "r0"], thread_of[id + "r1"]) << id;
    }
    EXPECT_NE(thread_of["/c0r0"], thread_of["/c1r0"]);
    EXPECT_NE(thread_of["/c1r0"], thread_of["/c2r0"]);
    EXPECT_NE(thread_of["/c0r0"], thread_of["/c2r0"]);
    EXPECT_EQ(thread_of["/c3r0"], thread_of["/c0r0"]);
}

TEST(ServerTest, ConnectionCloseIsHonoured) {
    auto server = start_server({}, [](const Request&) { return text("bye"); });
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(get("/", "Connection: close\r\n")));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(lower(reply->header("connection")), "close");
    EXPECT_TRUE(client.closed_by_server());
}

TEST(ServerTest, BodyOverLimitGets413PromptlyWithoutReadingIt) {
    ServerOptions options;
    options.body_bytes_max = 1024;
    std::atomic<int> calls{0};
    auto server = start_server(options, [&](const Request&) {
        ++calls;
        return text("should not run");
    });
    RawClient client(server->port());
    const auto started = steady_clock::now();
    // Announce 1 MiB, send only 100 bytes, then wait for the answer.
    ASSERT_TRUE(
        client.send_all("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n" +
                        std::string(100, 'x')));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply) << "no reply within the read timeout";
    EXPECT_LT(steady_clock::now() - started, 3s);
    EXPECT_EQ(reply->status, 413);
    EXPECT_EQ(error_code_of(*reply), "payload_too_large");
    EXPECT_EQ(reply->header("content-type"), "application/json");
    EXPECT_EQ(lower(reply->header("connection")), "close");
    EXPECT_EQ(calls.load(), 0);
}

TEST(ServerTest, BodyAtLimitIsAccepted) {
    ServerOptions options;
    options.body_bytes_max = 1024;
    auto server = start_server(
        options, [](const Request& req) { return text(std::to_string(req.body.size())); });
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" +
                                std::string(1024, 'x')));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "1024");
}

TEST(ServerTest, AScreenedRequestIsAnsweredWithoutReadingItsBody) {
    ServerOptions options;
    std::atomic<int> screened{0};
    options.screen_head = [&](const Request& head) -> std::optional<Response> {
        ++screened;
        EXPECT_TRUE(head.body.empty());
        if (head.header("x-refuse").empty()) return std::nullopt;
        Response no = text("refused " + head.path);
        no.status = 429;
        no.headers.emplace_back("Retry-After", "7");
        return no;
    };
    std::atomic<int> calls{0};
    auto server = start_server(options, [&](const Request& req) {
        ++calls;
        return text(req.body);
    });
    {
        // Announces 1 MiB and sends none of it: the answer comes anyway.
        RawClient client(server->port());
        const auto started = steady_clock::now();
        ASSERT_TRUE(client.send_all(
            "POST /up HTTP/1.1\r\nHost: t\r\nX-Refuse: 1\r\nContent-Length: 1048576\r\n\r\n"));
        const auto reply = client.read_reply();
        ASSERT_TRUE(reply) << "no reply within the read timeout";
        EXPECT_LT(steady_clock::now() - started, 3s);
        EXPECT_EQ(reply->status, 429);
        EXPECT_EQ(reply->body, "refused /up");
        EXPECT_EQ(reply->header("retry-after"), "7");
        EXPECT_EQ(lower(reply->header("connection")), "close");
    }
    EXPECT_EQ(calls.load(), 0);
    // Let through, the body is read and handled; a request without a body
    // is not screened.
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\ndata"));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "data");
    ASSERT_TRUE(client.send_all(get("/")));
    ASSERT_TRUE(client.read_reply());
    EXPECT_EQ(screened.load(), 2);
    EXPECT_EQ(calls.load(), 2);
}

TEST(ServerTest, ChunkedBodyOverLimitGets413) {
    ServerOptions options;
    options.body_bytes_max = 1024;
    auto server = start_server(options, [](const Request&) { return text("no"); });
    RawClient client(server->port());
    ASSERT_TRUE(
        client.send_all("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "800\r\n" +
                        std::string(0x800, 'x') + "\r\n"));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 413);
    EXPECT_EQ(error_code_of(*reply), "payload_too_large");
}

TEST(ServerTest, Expect100ContinueGetsInterimResponse) {
    auto server = start_server({}, [](const Request& req) { return text(req.body); });
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(
        "PUT / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
    const auto interim = client.read_reply();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    ASSERT_TRUE(client.send_all("data"));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "data");
}

TEST(ServerTest, HeaderOverLimitGets431) {
    ServerOptions options;
    options.header_bytes_max = 1024;
    auto server = start_server(options, [](const Request&) { return text("no"); });
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(get("/", "X-Big: " + std::string(2000, 'h') + "\r\n")));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 431);
    EXPECT_EQ(error_code_of(*reply), "header_too_large");
    EXPECT_TRUE(client.closed_by_server());
}

TEST(ServerTest, TooManyHeaderFieldsGet431) {
    ServerOptions options;
    options.header_fields_max = 20;
    std::atomic<int> handled{0};
    auto server = start_server(options, [&](const Request&) {
        ++handled;
        return text("ok");
    });
    // Exactly the limit (Host plus 19 more) is served.
    std::string fields;
    for (int i = 0; i < 19; ++i) fields += "X-F" + std::to_string(i) + ": v\r\n";
    {
        RawClient client(server->port());
        ASSERT_TRUE(client.send_all(get("/", fields)));
        const auto reply = client.read_reply();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->status, 200);
    }
    // One more field, each of them tiny, is refused before the handler.
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(get("/", fields + "X-F19: v\r\n")));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 431);
    EXPECT_EQ(error_code_of(*reply), "too_many_header_fields");
    EXPECT_TRUE(client.closed_by_server());
    EXPECT_EQ(handled.load(), 1);
}

// Slowloris: a client that never starts a request, or sends one byte at a
// time, holds a connection only until its timeout.
TEST(ServerTest, AnIdleConnectionIsClosedAfterTheIdleTimeout) {
    ServerOptions options;
    options.idle_timeout_ms = 200;
    auto server = start_server(options, [](const Request&) { return text("ok"); });
    RawClient client(server->port());
    const auto start = steady_clock::now();
    EXPECT_TRUE(client.closed_by_server());  // within kReadTimeout (5 s), not never
    EXPECT_GE(steady_clock::now() - start, 150ms);
}

TEST(ServerTest, ATrickledRequestIsCutAtTheRequestTimeout) {
    ServerOptions options;
    options.idle_timeout_ms = 5'000;
    options.request_timeout_ms = 300;
    std::atomic<int> handled{0};
    auto server = start_server(options, [&](const Request&) {
        ++handled;
        return text("ok");
    });
    RawClient client(server->port());
    // One header byte every 20 ms: each byte resets no timer, the request's does not move.
    const std::string request = get("/", "X-Slow: " + std::string(200, 's') + "\r\n");
    bool cut = false;
    for (char c : request) {
        if (!client.send_all(std::string_view(&c, 1))) {
            cut = true;
            break;
        }
        std::this_thread::sleep_for(20ms);
    }
    // 200-odd bytes at 20 ms each take 4 s: far past the 300 ms the request may take.
    EXPECT_TRUE(cut || client.closed_by_server());
    EXPECT_EQ(handled.load(), 0);
}

TEST(ServerTest, MalformedRequestGets400AndClose) {
    std::atomic<int> calls{0};
    auto server = start_server({}, [&](const Request&) {
        ++calls;
        return text("no");
    });
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all("THIS IS NOT HTTP\r\n\r\n"));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 400);
    EXPECT_EQ(error_code_of(*reply), "bad_request");
    EXPECT_TRUE(client.closed_by_server());
    EXPECT_EQ(calls.load(), 0);
}

TEST(ServerTest, HandlerExceptionGets500Json) {
    auto server =
        start_server({}, [](const Request&) -> Response { throw std::runtime_error("boom"); });
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(get("/explode")));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 500);
    EXPECT_EQ(reply->body, R"({"error":{"code":"internal","message":"internal error"}})");
    // The connection survives a handler bug.
    ASSERT_TRUE(client.send_all(get("/again")));
    const auto again = client.read_reply();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 500);
}

TEST(ServerTest, UpgradeGoesToHandlerWithoutWsHandlers) {
    auto server = start_server({}, [](const Request& req) { return text("plain " + req.path); });
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(get("/ws",
                                    "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                    "Sec-WebSocket-Version: 13\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "plain /ws");
}

TEST(ServerTest, StartFailsOnUnresolvableHost) {
    ServerOptions options;
    options.host = "no-such-host.invalid";
    auto server = make_server(options, [](const Request&) { return text(""); });
    const core::Status status = server->start();
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, "listen_failed");
}

// Records WebSocket callbacks so tests can wait for them.
struct WsProbe {
    std::mutex mu;
    std::condition_variable cv;
    std::shared_ptr<WsSession> session;
    int closes = 0;
    std::vector<std::string> messages;

    WsHandlers handlers() {
        WsHandlers ws;
        ws.accept = [](const Request& req) -> std::optional<Response> {
            if (req.path == "/ws") return std::nullopt;
            Response res;
            res.status = 404;
            res.body = "no socket here";
            return res;
        };
        ws.on_open = [this](const std::shared_ptr<WsSession>& s, const Request& req) {
            EXPECT_TRUE(s->send_text("welcome " + req.path + "?" + req.query));
            std::lock_guard lock(mu);
            session = s;
            cv.notify_all();
        };
        ws.on_message = [this](const std::shared_ptr<WsSession>& s, const std::string& text) {
            s->send_text("echo:" + text);
            std::lock_guard lock(mu);
            messages.push_back(text);
        };
        ws.on_close = [this](const std::shared_ptr<WsSession>&) {
            std::lock_guard lock(mu);
            ++closes;
            cv.notify_all();
        };
        return ws;
    }

    std::shared_ptr<WsSession> wait_session() {
        std::unique_lock lock(mu);
        cv.wait_for(lock, kReadTimeout, [this] { return session != nullptr; });
        return session;
    }
    bool wait_closes(int n) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, kReadTimeout, [&] { return closes >= n; });
    }
};

class WsClient {
  public:
    WsClient(std::uint16_t port, const std::string& target) : ws_(ioc_) {
        asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
        ws_.next_layer().connect(endpoint);
        dog_.emplace(ws_.next_layer().native_handle(), std::chrono::seconds(10));
        ws_.handshake("127.0.0.1", target);
    }
    void write(const std::string& text) { ws_.write(asio::buffer(text)); }
    std::string read() {
        beast::flat_buffer buffer;
        ws_.read(buffer);
        return beast::buffers_to_string(buffer.data());
    }
    // Reads until an error; returns it (websocket::error::closed on a clean close).
    beast::error_code read_until_error() {
        beast::flat_buffer buffer;
        beast::error_code ec;
        while (!ec) ws_.read(buffer, ec);
        return ec;
    }
    void close() { ws_.close(websocket::close_code::normal); }

  private:
    asio::io_context ioc_;
    websocket::stream<asio::ip::tcp::socket> ws_;
    std::optional<Watchdog> dog_;
};

TEST(ServerWsTest, OpenEchoAndSendFromAnotherThread) {
    WsProbe probe;
    auto server = start_server(
        {}, [](const Request&) { return text("http"); }, probe.handlers());
    WsClient client(server->port(), "/ws?room=1");
    EXPECT_EQ(client.read(), "welcome /ws?room=1");
    client.write("ping");
    EXPECT_EQ(client.read(), "echo:ping");

    auto session = probe.wait_session();
    ASSERT_NE(session, nullptr);
    EXPECT_TRUE(session->is_open());
    bool sent = false;
    std::thread([&] { sent = session->send_text("from another thread"); }).join();
    EXPECT_TRUE(sent);
    EXPECT_EQ(client.read(), "from another thread");

    client.close();
    ASSERT_TRUE(probe.wait_closes(1));
    EXPECT_FALSE(session->is_open());
    EXPECT_FALSE(session->send_text("too late"));
    {
        std::lock_guard lock(probe.mu);
        EXPECT_EQ(probe.messages, std::vector<std::string>{"ping"});
        EXPECT_EQ(probe.closes, 1);
    }
}

TEST(ServerWsTest, ServerCloseFlushesQueuedFramesFirst) {
    WsProbe probe;
    auto server = start_server(
        {}, [](const Request&) { return text("http"); }, probe.handlers());
    WsClient client(server->port(), "/ws");
    EXPECT_EQ(client.read(), "welcome /ws?");
    auto session = probe.wait_session();
    ASSERT_NE(session, nullptr);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(session->send_text("frame " + std::to_string(i)));
    session->close();
    EXPECT_FALSE(session->send_text("after close"));
    for (int i = 0; i < 100; ++i) ASSERT_EQ(client.read(), "frame " + std::to_string(i));
    EXPECT_EQ(client.read_until_error(), websocket::error::closed);
    ASSERT_TRUE(probe.wait_closes(1));
}

TEST(ServerWsTest, AcceptCanRefuseWithResponse) {
    WsProbe probe;
    auto server = start_server(
        {}, [](const Request&) { return text("http"); }, probe.handlers());
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(get("/elsewhere",
                                    "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                    "Sec-WebSocket-Version: 13\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")));
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 404);
    EXPECT_EQ(reply->body, "no socket here");
    {
        // A refusal is answered before any handshake, so on_open never ran.
        std::lock_guard lock(probe.mu);
        EXPECT_EQ(probe.session, nullptr);
    }
    // The refused connection stays usable for plain HTTP.
    ASSERT_TRUE(client.send_all(get("/after")));
    const auto after = client.read_reply();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->body, "http");
}

// A handler whose response streams; the test gets the stream to send on.
struct StreamProbe {
    std::mutex mu;
    std::condition_variable cv;
    std::shared_ptr<ResponseStream> stream;

    Handler handler() {
        return [this](const Request&) {
            Response res;
            res.content_type = "text/event-stream";
            res.body = "event: hello\n\n";
            res.stream = [this](const std::shared_ptr<ResponseStream>& s) {
                std::lock_guard lock(mu);
                stream = s;
                cv.notify_all();
            };
            return res;
        };
    }
    std::shared_ptr<ResponseStream> wait() {
        std::unique_lock lock(mu);
        cv.wait_for(lock, kReadTimeout, [this] { return stream != nullptr; });
        return stream;
    }
};

TEST(ServerStreamTest, SendsFromAnotherThreadUntilClosed) {
    StreamProbe probe;
    auto server = start_server({}, probe.handler());
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(get("/events")));
    auto head = client.read_reply();
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->header("content-type"), "text/event-stream");
    EXPECT_EQ(head->header("connection"), "close");
    EXPECT_EQ(head->header("content-length"), "");
    EXPECT_TRUE(client.read_until("event: hello\n\n"));
    auto stream = probe.wait();
    ASSERT_NE(stream, nullptr);
    EXPECT_TRUE(stream->is_open());
    std::thread sender([&] {
        EXPECT_TRUE(stream->send("data: 1\n\n"));
        EXPECT_TRUE(stream->send("data: 2\n\n"));
        stream->close();
    });
    sender.join();
    EXPECT_TRUE(client.read_until("data: 1\n\ndata: 2\n\n"));
    EXPECT_TRUE(client.closed_by_server());
    EXPECT_FALSE(stream->send("late"));
    EXPECT_FALSE(stream->is_open());
}

TEST(ServerStreamTest, ClientLeavingEndsTheStream) {
    StreamProbe probe;
    auto server = start_server({}, probe.handler());
    auto client = std::make_unique<RawClient>(server->port());
    ASSERT_TRUE(client->send_all(get("/events")));
    ASSERT_TRUE(client->read_until("event: hello\n\n"));
    auto stream = probe.wait();
    ASSERT_NE(stream, nullptr);
    client.reset();  // the client goes away
    const auto deadline = steady_clock::now() + kReadTimeout;
    while (stream->is_open() && steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    EXPECT_FALSE(stream->is_open());
    EXPECT_FALSE(stream->send("nobody"));
}

TEST(ServerStreamTest, StopEndsOpenStreamsPromptly) {
    StreamProbe probe;
    auto server = start_server({}, probe.handler());
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(get("/events")));
    ASSERT_TRUE(client.read_until("event: hello\n\n"));
    auto stream = probe.wait();
    ASSERT_NE(stream, nullptr);
    const auto started = steady_clock::now();
    server->stop();
    EXPECT_LT(steady_clock::now() - started, 3s);
    EXPECT_TRUE(client.closed_by_server());
    EXPECT_FALSE(stream->send("after stop"));
    server.reset();
    EXPECT_FALSE(stream->is_open());  // the handle outlives the server harmlessly
    stream->close();
}

TEST(ServerStopTest, StopWithConnectedClientsReturnsPromptly) {
    WsProbe probe;
    auto server = start_server(
        {}, [](const Request&) { return text("http"); }, probe.handlers());
    RawClient idle(server->port());
    RawClient half(server->port());
    ASSERT_TRUE(idle.connected());
    ASSERT_TRUE(half.send_all("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nab"));
    // A served request proves the server is live before stopping it.
    RawClient served(server->port());
    ASSERT_TRUE(served.send_all(get("/")));
    ASSERT_TRUE(served.read_reply());
    WsClient ws(server->port(), "/ws");
    EXPECT_EQ(ws.read(), "welcome /ws?");
    auto session = probe.wait_session();
    ASSERT_NE(session, nullptr);

    const auto started = steady_clock::now();
    server->stop();
    EXPECT_LT(steady_clock::now() - started, 3s);
    server->stop();  // Idempotent.
    RawClient late(server->port());
    EXPECT_FALSE(late.connected() && late.send_all(get("/")) && late.read_reply());

    EXPECT_TRUE(idle.closed_by_server());
    EXPECT_TRUE(half.closed_by_server());
    EXPECT_TRUE(served.closed_by_server());
    EXPECT_NE(ws.read_until_error(), beast::error_code{});
    {
        std::lock_guard lock(probe.mu);
        EXPECT_EQ(probe.closes, 1);
    }
    EXPECT_FALSE(session->is_open());
    EXPECT_FALSE(session->send_text("after stop"));
    server.reset();
    // The handle outlives the server harmlessly.
    EXPECT_FALSE(session->is_open());
    EXPECT_FALSE(session->send_text("after destruction"));
    session->close();
}

TEST(ServerStopTest, DestructorStopsRunningServer) {
    auto server = start_server({}, [](const Request&) { return text("x"); });
    RawClient client(server->port());
    ASSERT_TRUE(client.connected());
    const auto started = steady_clock::now();
    server.reset();
    EXPECT_LT(steady_clock::now() - started, 3s);
    EXPECT_TRUE(client.closed_by_server());
}

}  // namespace
}  // namespace tollgate::http
