// End to end: the real server on port 0, a Beast client doing what a gateway
// does: upload, WebSocket, prompt, events, history, view.
#include "http/server/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "comfysim/routes.h"
#include "core/clock.h"
#include "http/codec/multipart.h"
#include "test_support.h"

namespace tollgate::comfysim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct HttpReply {
    int status = 0;
    std::string body;
    std::string content_type;
};

// Blocking reads give up after 10 s so a broken server fails the test instead of hanging it.
void set_read_timeout(tcp::socket& socket) {
    timeval tv{10, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

class ServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        AppOptions options;
        options.data_dir = tmp_.path();
        options.sim.cost_base_seconds = 0;
        options.sim.cost_per_megapixel_seconds = 0;
        app_ = std::make_unique<App>(options, core::SystemClock::instance());
        server_ = http::make_server(
            http::ServerOptions{}, [this](const http::Request& r) { return app_->handle(r); },
            app_->ws_handlers());
        ASSERT_TRUE(server_->start().ok());
        app_->sim().start();
        port_ = server_->port();
    }
    void TearDown() override {
        app_->sim().stop();
        server_->stop();
    }

    HttpReply request(bhttp::verb verb, const std::string& target, const std::string& body = "",
                      const std::string& content_type = "application/json") {
        asio::io_context io;
        tcp::socket socket(io);
        socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
        set_read_timeout(socket);
        bhttp::request<bhttp::string_body> req{verb, target, 11};
        req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port_));
        if (!body.empty()) {
            req.set(bhttp::field::content_type, content_type);
            req.body() = body;
        }
        req.prepare_payload();
        bhttp::write(socket, req);
        beast::flat_buffer buffer;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        bhttp::read(socket, buffer, parser);
        auto res = parser.release();
        return {static_cast<int>(res.result_int()), res.body(),
                std::string(res[bhttp::field::content_type])};
    }

    testing::TempDir tmp_;
    std::unique_ptr<App> app_;
    std::unique_ptr<http::Server> server_;
    std::uint16_t port_ = 0;
};

TEST_F(ServerTest, UploadPromptEventsHistoryView) {
    // Upload the input the way the gateway does.
    const std::string png = testing::gray_png(48, 32);
    const std::string boundary = "comfysimtestboundary";
    const std::string form = http::build_multipart(
        boundary, {{"image", "person_bw.png", "image/png", png}, {"subfolder", "", "", "gw/job1"}});
    const HttpReply up =
        request(bhttp::verb::post, "/upload/image", form, http::multipart_content_type(boundary));
    ASSERT_EQ(up.status, 200) << up.body;
    EXPECT_EQ(Json::parse(up.body),
              Json({{"name", "person_bw.png"}, {"subfolder", "gw/job1"}, {"type", "input"}}));

    // Connect the WebSocket first, as ComfyUI clients must.
    asio::io_context io;
    beast::websocket::stream<tcp::socket> ws(io);
    ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    set_read_timeout(ws.next_layer());
    ws.handshake("127.0.0.1", "/api/ws?clientId=gw-test");
    auto read_json = [&ws] {
        beast::flat_buffer b;
        ws.read(b);
        return Json::parse(beast::buffers_to_string(b.data()));
    };
    const Json hello = read_json();
    EXPECT_EQ(hello, Json::parse(R"({"type":"status","data":{"status":{"exec_info":
                                     {"queue_remaining":0}},"sid":"gw-test"}})"));
    ws.text(true);
    ws.write(asio::buffer(
        std::string(R"({"type":"feature_flags","data":{"supports_preview_metadata":true}})")));
    const Json flags = read_json();
    EXPECT_EQ(flags["type"], "feature_flags");
    EXPECT_EQ(flags["data"]["max_upload_size"], 104857600);

    const Json prompt = {{"prompt", testing::ddcolor_graph("gw/job1/person_bw.png")},
                         {"client_id", "gw-test"},
                         {"prompt_id", "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11"}};
    const HttpReply queued = request(bhttp::verb::post, "/prompt", prompt.dump());
    ASSERT_EQ(queued.status, 200) << queued.body;
    EXPECT_EQ(Json::parse(queued.body), Json({{"prompt_id", "6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11"},
                                              {"number", 0},
                                              {"node_errors", Json::object()}}));

    std::vector<std::string> seen;
    Json executed;
    for (;;) {
        const Json m = read_json();
        std::string name = m["type"];
        if (name == "executing")
            name += ":" + (m["data"]["node"].is_null() ? std::string("null")
                                                       : m["data"]["node"].get<std::string>());
        if (name == "executed") executed = m["data"];
        seen.push_back(name);
        if (name == "executing:null" || seen.size() > 20) break;
    }
    EXPECT_EQ(seen,
              (std::vector<std::string>{"status", "status", "execution_start", "execution_cached",
                                        "executing:1", "executing:2", "executing:3", "executed",
                                        "execution_success", "status", "executing:null"}));
    const Json image = executed["output"]["images"][0];
    EXPECT_EQ(image["subfolder"], "ddcolor");

    const HttpReply hist =
        request(bhttp::verb::get, "/history/6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11");
    ASSERT_EQ(hist.status, 200);
    const Json entry = Json::parse(hist.body)["6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11"];
    EXPECT_EQ(entry["status"]["status_str"], "success");
    EXPECT_EQ(entry["outputs"]["3"]["images"][0], image);

    const HttpReply view =
        request(bhttp::verb::get, "/api/view?filename=" + image["filename"].get<std::string>() +
                                      "&subfolder=ddcolor&type=output");
    ASSERT_EQ(view.status, 200);
    EXPECT_EQ(view.content_type, "image/png");
    auto decoded = decode_buffer(view.body);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->width(), 48);
    EXPECT_EQ(decoded->height(), 32);
    const auto px = pixel_at(*decoded, 20, 20);
    ASSERT_EQ(px.size(), 3u);
    EXPECT_NE(px[0], px[2]);

    EXPECT_EQ(request(bhttp::verb::get, "/view?filename=../secret.png").status, 400);
    EXPECT_EQ(request(bhttp::verb::get, "/view?filename=nope.png").status, 404);
    EXPECT_EQ(request(bhttp::verb::get, "/history/unknown").body, "{}");
    ws.close(beast::websocket::close_code::normal);
}

TEST_F(ServerTest, ErrorAnswersMatchComfyUi) {
    const HttpReply bad_json = request(bhttp::verb::post, "/prompt", "{not json");
    EXPECT_EQ(bad_json.status, 500);
    const HttpReply no_prompt = request(bhttp::verb::post, "/api/prompt", R"({"client_id":"x"})");
    EXPECT_EQ(no_prompt.status, 400);
    EXPECT_EQ(Json::parse(no_prompt.body)["error"]["type"], "no_prompt");
    const HttpReply missing =
        request(bhttp::verb::post, "/prompt",
                Json({{"prompt", testing::ddcolor_graph("nope.png")}}).dump());
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(Json::parse(missing.body)["node_errors"]["1"]["errors"][0]["type"],
              "custom_validation_failed");
    EXPECT_EQ(request(bhttp::verb::get, "/object_info/Nope").body, "{}");
    EXPECT_TRUE(
        Json::parse(request(bhttp::verb::get, "/object_info").body).contains("DDColor_Colorize"));
    const Json stats = Json::parse(request(bhttp::verb::get, "/system_stats").body);
    EXPECT_EQ(stats["devices"][0]["type"], "cuda");
    EXPECT_TRUE(stats["devices"][0].contains("vram_free"));
    EXPECT_EQ(request(bhttp::verb::post, "/interrupt").status, 200);
    EXPECT_EQ(request(bhttp::verb::post, "/queue", R"({"clear":true})").status, 200);
    EXPECT_EQ(request(bhttp::verb::get, "/queue").body,
              R"({"queue_running":[],"queue_pending":[]})");
    EXPECT_EQ(request(bhttp::verb::get, "/nothing-here").status, 404);
    const std::string form = http::build_multipart("b", {{"type", "", "", "input"}});
    EXPECT_EQ(
        request(bhttp::verb::post, "/upload/image", form, http::multipart_content_type("b")).status,
        400);
}

}  // namespace
}  // namespace tollgate::comfysim
