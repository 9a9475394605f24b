// WorkerEvents against a small WebSocket server the test drives frame by
// frame, plus run_job() over a shared socket against FakeComfy.
#include "dispatch/worker_events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "dispatch/run_job.h"
#include "fake_comfy.h"
#include "http/codec/query.h"

namespace tollgate::dispatch {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

std::string frame(const std::string& type, const nlohmann::json& data) {
    return nlohmann::json{{"type", type}, {"data", data}}.dump();
}

std::string executing(const std::string& prompt_id, const std::string& node) {
    return frame("executing", {{"node", node}, {"prompt_id", prompt_id}});
}

// Accepts WebSockets one at a time; the test queues frames for the open one,
// or drops it.
class EventServer {
  public:
    EventServer() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        thread_ = std::thread([this] { serve(); });
    }
    ~EventServer() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        beast::error_code ec;
        tcp::socket waker(ioc_);  // wakes the blocking accept()
        waker.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }

    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    }

    void send(std::string text) {
        std::lock_guard lock(mu_);
        out_.push_back(std::move(text));
        cv_.notify_all();
    }
    // Closes the open socket (after the frames queued so far).
    void drop() { send(""); }

    bool wait_for_connections(int count) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return connections_ >= count; });
    }
    int connections() {
        std::lock_guard lock(mu_);
        return connections_;
    }
    std::string client_id() {
        std::lock_guard lock(mu_);
        return client_id_;
    }

  private:
    void serve() {
        for (;;) {
            tcp::socket socket(ioc_);
            beast::error_code ec;
            acceptor_.accept(socket, ec);
            {
                std::lock_guard lock(mu_);
                if (stopping_ || ec) return;
            }
            beast::flat_buffer buffer;
            bhttp::request<bhttp::string_body> req;
            bhttp::read(socket, buffer, req, ec);
            if (ec || !websocket::is_upgrade(req)) continue;
            websocket::stream<tcp::socket> ws(std::move(socket));
            ws.accept(req, ec);
            if (ec) continue;
            const std::string target(req.target());
            {
                std::lock_guard lock(mu_);
                client_id_ = http::parse_query(target.substr(target.find('?') + 1))["clientId"];
                ++connections_;
                cv_.notify_all();
            }
            ws.write(
                asio::buffer(frame("status", {{"status", {{"exec_info", {{"queue_remaining", 0}}}}},
                                              {"sid", client_id_}})),
                ec);
            for (;;) {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return stopping_ || !out_.empty(); });
                if (stopping_) return;
                std::string msg = std::move(out_.front());
                out_.pop_front();
                lock.unlock();
                if (msg.empty()) break;  // drop(): the socket closes without a close frame
                ws.write(asio::buffer(msg), ec);
                if (ec) break;
            }
        }
    }

    asio::io_context ioc_;
    tcp::acceptor acceptor_;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> out_;
    bool stopping_ = false;
    int connections_ = 0;
    std::string client_id_;
};

// The next event within 5 s, or a test failure.
ComfyEvent next(EventSubscription& sub) {
    auto event = sub.next_event(5'000);
    EXPECT_TRUE(event.ok()) << (event.ok() ? "" : event.error().message);
    if (!event.ok() || !event->has_value()) {
        ADD_FAILURE() << "no event within 5 s";
        return {};
    }
    return **event;
}

std::shared_ptr<WorkerEvents> hub_for(WorkerEventHubs& hubs, const std::string& url) {
    auto hub = hubs.for_worker(url);
    EXPECT_TRUE(hub.ok());
    return *hub;
}

TEST(WorkerEventsTest, OneSocketRoutesEachPromptsEventsToItsSubscriber) {
    EventServer server;
    WorkerEventHubs hubs("tollgate-test");
    auto hub = hub_for(hubs, server.url());
    auto a = hub->subscribe("prompt-a", 5'000);
    auto b = hub->subscribe("prompt-b", 5'000);
    ASSERT_TRUE(a.ok() && b.ok());
    server.send(frame("status", {{"status", {{"exec_info", {{"queue_remaining", 2}}}}}}));
    server.send(executing("prompt-b", "1"));
    server.send(executing("someone-else", "1"));
    server.send(executing("prompt-a", "2"));
    server.send(executing("prompt-b", "3"));

    EXPECT_EQ(next(**a).node, "2");
    EXPECT_EQ(next(**b).node, "1");
    EXPECT_EQ(next(**b).node, "3");
    auto none = (*a)->next_event(200);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());  // neither the status nor someone else's event
    EXPECT_EQ(server.connections(), 1);
    EXPECT_EQ(server.client_id(), "tollgate-test");
    EXPECT_EQ(hub->client_id(), "tollgate-test");
    EXPECT_EQ(hub->connects(), 1u);
}

TEST(WorkerEventsTest, EventsForAnUnknownIdReplayOnRekey) {
    EventServer server;
    WorkerEventHubs hubs("tollgate-test");
    auto hub = hub_for(hubs, server.url());
    auto sub = hub->subscribe("proposed", 5'000);
    ASSERT_TRUE(sub.ok());
    // An old server ignored the proposed id and ran the prompt under its own
    // before POST /prompt answered.
    server.send(executing("server-id", "1"));
    server.send(executing("server-id", "2"));
    server.send(executing("proposed", "9"));  // to be ignored once rekeyed
    // Wait until all three arrived: the last one reaches the subscription.
    EXPECT_EQ(next(**sub).node, "9");
    (*sub)->rekey("server-id");
    EXPECT_EQ(next(**sub).node, "1");
    EXPECT_EQ(next(**sub).node, "2");
    server.send(executing("server-id", "3"));
    EXPECT_EQ(next(**sub).node, "3");
}

TEST(WorkerEventsTest, ADropBreaksSubscriptionsAndTheSocketReconnects) {
    EventServer server;
    WorkerEventHubs hubs("tollgate-test");
    auto hub = hub_for(hubs, server.url());
    auto sub = hub->subscribe("p1", 5'000);
    ASSERT_TRUE(sub.ok());
    server.send(executing("p1", "1"));
    EXPECT_EQ(next(**sub).node, "1");
    server.drop();
    auto broken = (*sub)->next_event(5'000);
    ASSERT_FALSE(broken.ok());
    EXPECT_EQ(broken.error().code, "worker_ws_closed");
    // The subscriber still wants events, so the hub reconnects by itself.
    ASSERT_TRUE(server.wait_for_connections(2));
    auto again = hub->subscribe("p1", 5'000);
    ASSERT_TRUE(again.ok());
    server.send(executing("p1", "2"));
    EXPECT_EQ(next(**again).node, "2");
    EXPECT_EQ(hub->connects(), 2u);
}

TEST(WorkerEventsTest, AnUnreachableWorkerIsUnavailable) {
    WorkerEventHubs hubs("tollgate-test");
    auto hub = hub_for(hubs, "http://127.0.0.1:" + std::to_string(testing::unused_port()));
    auto sub = hub->subscribe("p1", 5'000);
    ASSERT_FALSE(sub.ok());
    EXPECT_EQ(sub.error().code, "worker_ws_unavailable");
    // Within the backoff the next subscribe answers at once.
    const auto start = std::chrono::steady_clock::now();
    auto again = hub->subscribe("p1", 5'000);
    ASSERT_FALSE(again.ok());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
    EXPECT_FALSE(hub->connected());
}

TEST(WorkerEventsTest, ASubscriberThatFallsBehindIsBroken) {
    EventServer server;
    WorkerEventHubs hubs("tollgate-test");
    auto hub = hub_for(hubs, server.url());
    auto slow = hub->subscribe("slow", 5'000);
    auto marker = hub->subscribe("marker", 5'000);
    ASSERT_TRUE(slow.ok() && marker.ok());
    for (std::size_t i = 0; i <= WorkerEvents::kQueuedEventsMax; ++i) {
        server.send(executing("slow", std::to_string(i)));
    }
    server.send(executing("marker", "done"));
    EXPECT_EQ(next(**marker).node, "done");  // every frame before it was routed
    auto event = (*slow)->next_event(0);
    ASSERT_FALSE(event.ok());
    EXPECT_EQ(event.error().code, "worker_ws_closed");
}

TEST(WorkerEventsTest, HubsAreOnePerWorker) {
    EventServer server;
    WorkerEventHubs hubs("tollgate-test");
    EXPECT_EQ(hub_for(hubs, server.url()).get(), hub_for(hubs, server.url()).get());
    auto bad = hubs.for_worker("ftp://nowhere");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, "invalid_worker_url");
}

TEST(WorkerEventsTest, JobsShareTheWorkersSocket) {
    testing::FakeComfy fake(testing::Script::Success);
    WorkerEventHubs hubs("tollgate-instance1");
    for (int i = 0; i < 2; ++i) {
        JobSpec spec = testing::job_spec(fake.url());
        spec.job_id = "job_shared" + std::to_string(i);
        const JobOutcome outcome = run_job(spec, core::SystemClock::instance(), &hubs);
        ASSERT_EQ(outcome.kind, JobOutcomeKind::Succeeded) << outcome.reason;
        std::lock_guard lock(fake.mu_);
        EXPECT_EQ(fake.prompt_body.value("client_id", ""), "tollgate-instance1");
        EXPECT_EQ(fake.ws_client_id, "tollgate-instance1");
    }
    auto hub = hub_for(hubs, fake.url());
    EXPECT_EQ(hub->connects(), 1u);  // both jobs, one socket
}

TEST(WorkerEventsTest, AJobOnAWorkerWithoutWebSocketPolls) {
    testing::FakeComfy fake(testing::Script::NoWebSocket);
    WorkerEventHubs hubs("tollgate-instance1");
    const JobOutcome outcome =
        run_job(testing::job_spec(fake.url()), core::SystemClock::instance(), &hubs);
    EXPECT_EQ(outcome.kind, JobOutcomeKind::Succeeded) << outcome.reason;
}

}  // namespace
}  // namespace tollgate::dispatch
