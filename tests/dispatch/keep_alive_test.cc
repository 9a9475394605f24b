// ComfyClient keeps connections to a worker alive and reuses them, and gets
// over a connection the worker dropped while it sat idle.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dispatch/comfy_client.h"

namespace tollgate::dispatch {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// How the server treats a connection after each answer.
enum class After {
    KeepOpen,         // keep-alive, as ComfyUI does
    DropAfterAnswer,  // says keep-alive, then closes at once: an idle drop
    AnswerWithClose,  // "Connection: close"
};

// Answers GET /queue on 127.0.0.1, each connection on its own thread, and
// counts the connections it accepted and the requests it answered.
class CountingServer {
  public:
    explicit CountingServer(After after, int answer_delay_ms = 0)
        : after_(after),
          answer_delay_ms_(answer_delay_ms),
          acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        thread_ = std::thread([this] { accept_loop(); });
    }
    ~CountingServer() {
        stopping_ = true;
        beast::error_code ec;
        tcp::socket waker(ioc_);
        waker.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
        // Connections the client keeps in its pool stay open: end their reads.
        std::lock_guard lock(mu_);
        for (auto& s : sockets_) s->shutdown(tcp::socket::shutdown_both, ec);
        for (auto& t : workers_) t.join();
    }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    }
    int connections() const { return connections_.load(); }
    int requests() const { return requests_.load(); }

  private:
    void accept_loop() {
        for (;;) {
            auto socket = std::make_shared<tcp::socket>(ioc_);
            beast::error_code ec;
            acceptor_.accept(*socket, ec);
            if (stopping_ || ec) return;
            ++connections_;
            std::lock_guard lock(mu_);
            sockets_.push_back(socket);
            workers_.emplace_back([this, socket] { serve(*socket); });
        }
    }
    void serve(tcp::socket& socket) {
        beast::flat_buffer buffer;
        for (;;) {
            bhttp::request<bhttp::string_body> req;
            beast::error_code ec;
            bhttp::read(socket, buffer, req, ec);
            if (ec) return;
            ++requests_;
            std::this_thread::sleep_for(std::chrono::milliseconds(answer_delay_ms_));
            bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
            res.set(bhttp::field::content_type, "application/json");
            res.body() = R"({"queue_running": [], "queue_pending": []})";
            res.keep_alive(after_ != After::AnswerWithClose);
            res.prepare_payload();
            bhttp::write(socket, res, ec);
            if (ec || after_ != After::KeepOpen) {
                // Shut down, not closed: the destructor may shut it down
                // too, and only destroys it once this thread has ended.
                socket.shutdown(tcp::socket::shutdown_both, ec);
                return;
            }
        }
    }

    const After after_;
    const int answer_delay_ms_;
    asio::io_context ioc_;
    tcp::acceptor acceptor_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    std::atomic<int> requests_{0};
    std::mutex mu_;
    std::vector<std::shared_ptr<tcp::socket>> sockets_;
    std::vector<std::thread> workers_;
};

TEST(KeepAliveTest, CallsToOneWorkerReuseOneConnection) {
    CountingServer server(After::KeepOpen);
    for (int i = 0; i < 5; ++i) {
        // A new client each time, as each job makes its own: the pool is shared.
        auto client = ComfyClient::create(server.url()).value();
        auto queue = client.get_queue();
        ASSERT_TRUE(queue.ok()) << queue.error().message;
        EXPECT_NE(queue->find("queue_running"), std::string::npos);
    }
    EXPECT_EQ(server.requests(), 5);
    EXPECT_EQ(server.connections(), 1);
}

TEST(KeepAliveTest, EveryIdleConnectionStaysUsableNotOnlyTheNewest) {
    // Answers slowly, so two calls at once need two connections.
    CountingServer server(After::KeepOpen, 200);
    auto two_at_once = [&] {
        std::vector<std::thread> callers;
        for (int i = 0; i < 2; ++i) {
            callers.emplace_back([&] {
                auto client = ComfyClient::create(server.url()).value();
                EXPECT_TRUE(client.get_queue().ok());
            });
        }
        for (auto& t : callers) t.join();
    };
    two_at_once();
    ASSERT_EQ(server.connections(), 2);
    // One call takes one of the two idle connections and leaves the other.
    ASSERT_TRUE(ComfyClient::create(server.url()).value().get_queue().ok());
    two_at_once();
    EXPECT_EQ(server.requests(), 5);
    EXPECT_EQ(server.connections(), 2);
}

TEST(KeepAliveTest, AConnectionTheWorkerDroppedIsReplacedWithoutAnError) {
    CountingServer server(After::DropAfterAnswer);
    auto client = ComfyClient::create(server.url()).value();
    for (int i = 0; i < 4; ++i) {
        auto queue = client.get_queue();
        ASSERT_TRUE(queue.ok()) << i << ": " << queue.error().message;
    }
    // Each request after the first found its pooled connection closed and
    // went out again on a new one: answered once each.
    EXPECT_EQ(server.requests(), 4);
    EXPECT_EQ(server.connections(), 4);
}

TEST(KeepAliveTest, AnAnswerThatClosesIsNotKept) {
    CountingServer server(After::AnswerWithClose);
    auto client = ComfyClient::create(server.url()).value();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.get_queue().ok());
    EXPECT_EQ(server.requests(), 3);
    EXPECT_EQ(server.connections(), 3);
}

TEST(KeepAliveTest, AStalledWorkerStillTimesOutAndItsConnectionIsDropped) {
    // Accepts, reads nothing, answers nothing.
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto client =
        ComfyClient::create("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()))
            .value();
    client.set_request_timeout_ms(200);
    auto queue = client.get_queue();
    ASSERT_FALSE(queue.ok());
    EXPECT_EQ(queue.error().code, "worker_timeout");
}

}  // namespace
}  // namespace tollgate::dispatch
