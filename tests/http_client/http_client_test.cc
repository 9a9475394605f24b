// The webhook client against a real server on 127.0.0.1.
#include "http/client/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "http/server/server.h"

namespace tollgate::http {
namespace {

class HttpClientTest : public ::testing::Test {
  protected:
    void start(Handler handler) {
        ServerOptions options;
        options.threads = 1;
        server_ = make_server(options, std::move(handler));
        ASSERT_TRUE(server_->start().ok());
    }
    HttpUrl url(const std::string& target = "/hook?x=1") {
        return HttpUrl{"127.0.0.1", server_->port(), target};
    }

    std::unique_ptr<Server> server_;
    std::unique_ptr<HttpClient> client_ = make_http_client(Reach::Anywhere);
};

TEST_F(HttpClientTest, PostsTheBodyAndHeadersAndReturnsTheStatus) {
    std::mutex mu;
    Request seen;
    start([&](const Request& r) {
        std::lock_guard lock(mu);
        seen = r;
        Response out;
        out.status = 204;
        return out;
    });
    HttpPost post;
    post.url = url();
    post.headers = {{"Tollgate-Signature", "t=1,v1=ab"}};
    post.body = R"({"job_id":"job_1"})";
    auto answer = client_->post(post);
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_EQ(answer->status, 204);
    std::lock_guard lock(mu);
    EXPECT_EQ(seen.method, "POST");
    EXPECT_EQ(seen.path, "/hook");
    EXPECT_EQ(seen.query, "x=1");
    EXPECT_EQ(seen.body, post.body);
    EXPECT_EQ(seen.header("content-type"), "application/json");
    EXPECT_EQ(seen.header("tollgate-signature"), "t=1,v1=ab");
    EXPECT_EQ(seen.header("host"), "127.0.0.1:" + std::to_string(server_->port()));
}

TEST_F(HttpClientTest, GetsWithTheHeadersAndNoBody) {
    std::mutex mu;
    Request seen;
    start([&](const Request& r) {
        std::lock_guard lock(mu);
        seen = r;
        Response out;
        out.status = 200;
        out.body = R"({"state":"succeeded"})";
        return out;
    });
    HttpPost get;
    get.url = url("/v1/jobs/job_1");
    get.headers = {{"Authorization", "Bearer k"}};
    get.body = "not sent";
    auto answer = client_->get(get);
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(answer->body, R"({"state":"succeeded"})");
    std::lock_guard lock(mu);
    EXPECT_EQ(seen.method, "GET");
    EXPECT_EQ(seen.path, "/v1/jobs/job_1");
    EXPECT_EQ(seen.body, "");
    EXPECT_EQ(seen.header("content-type"), "");
    EXPECT_EQ(seen.header("authorization"), "Bearer k");
}

TEST_F(HttpClientTest, APublicOnlyClientNeverConnectsToAnInternalAddress) {
    std::atomic<int> requests{0};
    start([&](const Request&) {
        ++requests;
        Response out;
        out.status = 204;
        return out;
    });
    auto guarded = make_http_client(Reach::PublicOnly);
    for (const std::string& host : {std::string("127.0.0.1"), std::string("localhost")}) {
        HttpPost post;
        post.url = url();
        post.url.host = host;  // "localhost" resolves to loopback: judged after resolving
        post.body = "{}";
        auto answer = guarded->post(post);
        ASSERT_FALSE(answer.ok()) << host;
        EXPECT_EQ(answer.error().code, "http_forbidden_address") << host;
    }
    EXPECT_EQ(requests.load(), 0);
    // The same receiver is reached by a client allowed anywhere.
    HttpPost post;
    post.url = url();
    post.body = "{}";
    ASSERT_TRUE(client_->post(post).ok());
    EXPECT_EQ(requests.load(), 1);
}

TEST_F(HttpClientTest, AnErrorStatusIsAnAnswerNotAnError) {
    start([](const Request&) {
        Response out;
        out.status = 503;
        out.body = "later";
        return out;
    });
    HttpPost post;
    post.url = url();
    auto answer = client_->post(post);
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_EQ(answer->status, 503);
}

TEST_F(HttpClientTest, AClosedPortIsUnreachable) {
    // A socket bound but not listening: connections to its port are refused.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    HttpPost post;
    post.url = HttpUrl{"127.0.0.1", ntohs(addr.sin_port), "/"};
    post.timeout_ms = 2000;
    auto answer = client_->post(post);
    ::close(fd);
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, "http_unreachable");
}

TEST_F(HttpClientTest, ASlowReceiverTimesOut) {
    start([](const Request&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(600));
        return Response{};
    });
    HttpPost post;
    post.url = url();
    post.timeout_ms = 100;
    auto started = std::chrono::steady_clock::now();
    auto answer = client_->post(post);
    auto took = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, "http_timeout");
    EXPECT_LT(took, std::chrono::milliseconds(500));
}

TEST_F(HttpClientTest, AnAnswerOverItsLimitIsRefused) {
    start([](const Request&) {
        Response out;
        out.body = std::string(200 * 1024, 'x');
        return out;
    });
    HttpPost post;
    post.url = url();
    auto answer = client_->post(post);
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, "http_response_too_large");
}

}  // namespace
}  // namespace tollgate::http
