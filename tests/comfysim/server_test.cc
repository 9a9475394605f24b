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
#include <chrono>
#include <thread>

#include "comfysim/node_table.h"
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

using WebSocket = beast::websocket::stream<tcp::socket>;

class ServerTest : public ::testing::Test {
  protected:
    // Fixtures for the faults change the options here.
    virtual void configure(AppOptions&) {}

    void SetUp() override {
        AppOptions options;
        options.data_dir = tmp_.path();
        options.sim.cost_base_seconds = 0;
        options.sim.cost_per_megapixel_seconds = 0;
        options.sim.cold_start_min_seconds = options.sim.cold_start_max_seconds = 0;
        configure(options);
        app_ = std::make_unique<App>(options, core::SystemClock::instance());
        server_ = http::make_server(
            server_options(options), [this](const http::Request& r) { return app_->handle(r); },
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

    // POST /upload/image of `bytes` as `name`, plus form fields.
    HttpReply upload(const std::string& name, const std::string& bytes,
                     const std::vector<std::pair<std::string, std::string>>& fields = {},
                     const std::string& path = "/upload/image") {
        std::vector<http::MultipartPart> parts = {{"image", name, "image/png", bytes}};
        for (const auto& [k, v] : fields) parts.push_back({k, "", "", v});
        const std::string boundary = "comfysimtestboundary";
        return request(bhttp::verb::post, path, http::build_multipart(boundary, parts),
                       http::multipart_content_type(boundary));
    }

    std::unique_ptr<WebSocket> open_ws(const std::string& target) {
        auto ws = std::make_unique<WebSocket>(io_);
        ws->next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
        set_read_timeout(ws->next_layer());
        ws->handshake("127.0.0.1", target);
        return ws;
    }

    static Json read_json(WebSocket& ws) {
        beast::flat_buffer b;
        ws.read(b);
        return Json::parse(beast::buffers_to_string(b.data()));
    }

    // "type" or "executing:<node>", as the other comfysim tests name events.
    static std::string event_name(const Json& m) {
        std::string name = m["type"];
        if (name == "executing") {
            name += ":" + (m["data"]["node"].is_null() ? std::string("null")
                                                       : m["data"]["node"].get<std::string>());
        }
        return name;
    }

    // Uploads a small input and queues the DDColor graph for client "gw-test".
    std::string submit_ddcolor() {
        EXPECT_EQ(upload("person_bw.png", testing::gray_png(48, 32)).status, 200);
        const Json prompt = {{"prompt", testing::ddcolor_graph("person_bw.png")},
                             {"client_id", "gw-test"}};
        const HttpReply queued = request(bhttp::verb::post, "/prompt", prompt.dump());
        EXPECT_EQ(queued.status, 200) << queued.body;
        return Json::parse(queued.body).value("prompt_id", "");
    }

    testing::TempDir tmp_;
    asio::io_context io_;
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

TEST_F(ServerTest, EveryRouteIsAlsoServedUnderApi) {
    const std::vector<std::pair<bhttp::verb, std::string>> routes = {
        {bhttp::verb::get, "/prompt"},       {bhttp::verb::get, "/queue"},
        {bhttp::verb::get, "/history"},      {bhttp::verb::get, "/history/unknown"},
        {bhttp::verb::get, "/system_stats"}, {bhttp::verb::get, "/object_info/LoadImage"},
        {bhttp::verb::get, "/features"},     {bhttp::verb::get, "/embeddings"},
        {bhttp::verb::get, "/extensions"},   {bhttp::verb::get, "/view?filename=nope.png"},
        {bhttp::verb::post, "/interrupt"},
    };
    for (const auto& [verb, target] : routes) {
        const HttpReply plain = request(verb, target);
        const HttpReply api = request(verb, "/api" + target);
        EXPECT_NE(plain.status, 0) << target;
        EXPECT_EQ(api.status, plain.status) << target;
        EXPECT_EQ(api.body, plain.body) << target;
    }
    for (const char* target : {"/queue", "/history"}) {
        EXPECT_EQ(
            request(bhttp::verb::post, std::string("/api") + target, R"({"clear":true})").status,
            200)
            << target;
    }
    EXPECT_EQ(request(bhttp::verb::post, "/api/free", R"({"unload_models":true})").status, 200);
    EXPECT_EQ(upload("a.png", testing::gray_png(8, 8), {}, "/api/upload/image").status, 200);
    const Json queued = Json::parse(
        request(bhttp::verb::post, "/api/prompt",
                Json({{"prompt", testing::ddcolor_graph("a.png")}, {"client_id", "x"}}).dump())
            .body);
    EXPECT_EQ(queued["number"], 0);
    for (const char* target : {"/ws?clientId=a", "/api/ws?clientId=b"}) {
        auto ws = open_ws(target);
        EXPECT_EQ(read_json(*ws)["type"], "status") << target;
    }
    EXPECT_EQ(request(bhttp::verb::get, "/api/nothing-here").status, 404);
}

TEST_F(ServerTest, AnUploadNameClashIsRenamedUnlessOverwriteIsSet) {
    const std::string a = testing::gray_png(8, 8, 0);
    const std::string b = testing::gray_png(8, 8, 90);
    auto name_of = [](const HttpReply& r) { return Json::parse(r.body)["name"]; };
    EXPECT_EQ(name_of(upload("x.png", a)), "x.png");
    EXPECT_EQ(name_of(upload("x.png", a)), "x.png");  // same bytes: nothing new
    EXPECT_EQ(name_of(upload("x.png", b)), "x (1).png");
    EXPECT_EQ(name_of(upload("x.png", b, {{"overwrite", "true"}})), "x.png");
    const HttpReply view = request(bhttp::verb::get, "/view?filename=x.png&type=input");
    EXPECT_EQ(view.body, b);
}

TEST_F(ServerTest, SystemStatsReportTheLoadedModel) {
    const Json idle = Json::parse(request(bhttp::verb::get, "/system_stats").body)["devices"][0];
    EXPECT_EQ(idle["vram_total"], kVramTotalBytesDefault);
    EXPECT_EQ(idle["vram_free"], kVramTotalBytesDefault - kCudaContextBytes);
    EXPECT_EQ(idle["torch_vram_total"], 0);
    auto ws = open_ws("/ws?clientId=gw-test");
    read_json(*ws);
    submit_ddcolor();
    while (event_name(read_json(*ws)) != "executing:null") {
    }
    const Json after = Json::parse(request(bhttp::verb::get, "/system_stats").body)["devices"][0];
    const std::int64_t weights = NodeTable::standard().find("DDColor_Colorize")->vram_bytes;
    EXPECT_EQ(after["vram_free"], idle["vram_free"].get<std::int64_t>() - weights);
    EXPECT_GT(after["torch_vram_total"].get<std::int64_t>(), weights);
}

class ServerHangTest : public ServerTest {
    void configure(AppOptions& o) override { o.sim.hang_rate = 1.0; }
};

TEST_F(ServerHangTest, AHungJobHoldsItsVramAndNeverReachesHistory) {
    const std::int64_t idle_free =
        Json::parse(request(bhttp::verb::get, "/system_stats").body)["devices"][0]["vram_free"];
    auto ws = open_ws("/ws?clientId=gw-test");
    read_json(*ws);
    const std::string id = submit_ddcolor();
    while (event_name(read_json(*ws)) != "executing:2") {
    }
    // The node takes its memory as it starts, just after "executing" goes
    // out: read the device until it shows, for at most five seconds.
    const std::int64_t weights = NodeTable::standard().find("DDColor_Colorize")->vram_bytes;
    std::int64_t busy_free = idle_free;
    for (int i = 0; i < 500 && busy_free >= idle_free - weights; ++i) {
        if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        busy_free =
            Json::parse(request(bhttp::verb::get, "/system_stats").body)["devices"][0]["vram_free"];
    }
    EXPECT_LT(busy_free, idle_free - weights);  // plus working memory
    EXPECT_EQ(request(bhttp::verb::post, "/interrupt").status, 200);
    // A job that could end would have ended long before this.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(request(bhttp::verb::get, "/history/" + id).body, "{}");
    const Json queue = Json::parse(request(bhttp::verb::get, "/queue").body);
    ASSERT_EQ(queue["queue_running"].size(), 1u);
    EXPECT_EQ(queue["queue_running"][0][1], id);
}

class ServerWsDropTest : public ServerTest {
    void configure(AppOptions& o) override { o.sim.ws_drop_rate = 1.0; }
};

TEST_F(ServerWsDropTest, TheServerClosesSocketsMidJobAndTheJobStillFinishes) {
    auto owner = open_ws("/ws?clientId=gw-test");
    auto other = open_ws("/ws?clientId=bystander");
    read_json(*owner);
    read_json(*other);
    const std::string id = submit_ddcolor();
    std::vector<std::string> seen;
    beast::error_code ec;
    for (;;) {
        beast::flat_buffer b;
        owner->read(b, ec);
        if (ec) break;
        seen.push_back(event_name(Json::parse(beast::buffers_to_string(b.data()))));
        ASSERT_LT(seen.size(), 20u);
    }
    EXPECT_EQ(ec, beast::websocket::error::closed);
    EXPECT_EQ(seen.back(), "executing:1");
    for (;;) {
        beast::flat_buffer b;
        other->read(b, ec);
        if (ec) break;
    }
    EXPECT_EQ(ec, beast::websocket::error::closed);
    Json history;
    for (int i = 0;
         i < 500 &&
         (history = Json::parse(request(bhttp::verb::get, "/history/" + id).body)).empty();
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(history[id]["status"]["status_str"], "success");
}

class ServerSlowUploadTest : public ServerTest {
    void configure(AppOptions& o) override { o.upload_bytes_per_second = 50'000; }
};

TEST_F(ServerSlowUploadTest, UploadsAreReadAtTheConfiguredRate) {
    const std::string bytes(40'000, 'x');  // the upload route does not decode images
    const auto start = std::chrono::steady_clock::now();
    const HttpReply up = upload("slow.png", bytes);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(up.status, 200) << up.body;
    EXPECT_EQ(Json::parse(up.body)["name"], "slow.png");
    EXPECT_GE(seconds, 0.6);  // 40 kB at 50 kB/s
    EXPECT_LT(seconds, 5.0);
    const auto quick = std::chrono::steady_clock::now();
    EXPECT_EQ(request(bhttp::verb::post, "/queue", R"({"clear":true})").status, 200);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - quick).count(),
              0.5);  // other routes read at full speed
}

}  // namespace
}  // namespace tollgate::comfysim
