// FakeComfy: a small in-process ComfyUI built on synchronous Beast, for the
// run_job and resume_job tests. It speaks just enough of the API (upload,
// prompt, ws, history, view, queue) to drive each outcome, as a Script says,
// and can hold a prompt it was never sent (seed()) to stand for one an
// earlier gateway process queued. The full emulator (comfysim) is exercised
// by the integration tests. Each connection is served on its own thread;
// every public field is guarded by mu_.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "dispatch/run_job.h"
#include "dispatch/workflow_template.h"
#include "http/codec/multipart.h"
#include "http/codec/query.h"

namespace tollgate::dispatch::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

// A port that was free a moment ago: bound to port 0, then closed.
inline unsigned short unused_port() {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const unsigned short port = acceptor.local_endpoint().port();
    acceptor.close();
    return port;
}

inline std::string workflows_dir() {
    return (std::filesystem::path(__FILE__).parent_path() / "../../config/workflows").string();
}

inline const WorkflowTemplate& person_template() {
    static const WorkflowTemplate t = [] {
        auto loaded = WorkflowTemplate::load(workflows_dir() + "/ddcolor_person.api.json");
        EXPECT_TRUE(loaded.ok());
        return *loaded;
    }();
    return t;
}

inline JobSpec job_spec(const std::string& url, int timeout_ms = 10'000) {
    JobSpec spec;
    spec.job_id = "job_test1";
    spec.worker_url = url;
    spec.workflow = &person_template();
    spec.image_bytes = "\x89PNG fake image bytes";
    spec.image_extension = "png";
    spec.timeout_ms = timeout_ms;
    return spec;
}

enum class Script { Success, ExecutionError, Reject, NoWebSocket, OldServer, NeverFinishes };

// A prompt the fake holds without having been sent it, as if an earlier
// gateway process had queued it: running (listed in /queue) or finished (in
// /history, with the script's result).
enum class Seeded { None, Running, Finished };

class FakeComfy {
  public:
    explicit FakeComfy(Script script)
        : script_(script), acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    ~FakeComfy() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        beast::error_code ec;
        tcp::socket waker(ioc_);  // wakes the blocking accept()
        waker.connect(acceptor_.local_endpoint(), ec);
        accept_thread_.join();
        for (auto& t : threads_) t.join();
    }

    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    }

    // Holds prompt `id` in `phase` (see Seeded).
    void seed(std::string id, Seeded phase) {
        std::lock_guard<std::mutex> lock(mu_);
        seeded_id_ = std::move(id);
        seeded_ = phase;
        prompt_received_ms = core::SystemClock::instance().now_ms();
    }

    // Finishes the seeded running prompt: it leaves /queue for /history, and
    // the events of its last moments go to the WebSocket.
    void finish_seeded() {
        std::lock_guard<std::mutex> lock(mu_);
        seeded_ = Seeded::Finished;
        const std::string id = seeded_id_;
        ws_out_.push_back(event(
            "executed",
            {{"node", "3"}, {"prompt_id", id}, {"output", {{"images", nlohmann::json::array()}}}}));
        ws_out_.push_back(
            event("execution_success", {{"prompt_id", id}, {"timestamp", start_ms() + 2500}}));
        ws_out_.push_back(event("executing", {{"node", nullptr}, {"prompt_id", id}}));
        cv_.notify_all();
    }

    // Blocks until `seen()` (called with mu_ held) holds after some request; false after 10 s.
    template <typename Pred>
    bool wait_until(Pred seen) {
        std::unique_lock<std::mutex> lock(mu_);
        return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return seen(); });
    }

    // What the fake saw.
    std::mutex mu_;
    std::string upload_filename, upload_subfolder, upload_type, upload_overwrite, upload_data;
    nlohmann::json prompt_body;
    std::string ws_client_id;
    std::string view_target;
    std::vector<std::string> history_deletes;
    std::vector<std::string> queue_deletes;
    int queue_gets = 0;
    std::int64_t prompt_received_ms = 0;
    // Set by the test: more node outputs for a finished prompt's /history
    // entry (for instance a meter node's), next to SaveImage "3".
    nlohmann::json extra_history_outputs = nlohmann::json::object();

  private:
    static constexpr const char* kServerId = "11111111-2222-4333-8444-555555555555";

    void accept_loop() {
        for (;;) {
            tcp::socket socket(ioc_);
            beast::error_code ec;
            acceptor_.accept(socket, ec);
            std::lock_guard<std::mutex> lock(mu_);
            if (stopping_ || ec) return;
            threads_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
        }
    }

    void serve(tcp::socket socket) {
        beast::error_code ec;
        beast::flat_buffer buffer;
        bhttp::request_parser<bhttp::string_body> parser;
        parser.body_limit(1 << 20);
        bhttp::read(socket, buffer, parser, ec);
        if (ec) return;
        auto req = parser.release();
        if (websocket::is_upgrade(req)) return serve_ws(std::move(socket), req);
        bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
        res.set(bhttp::field::content_type, "application/json");
        route(req, res);
        res.keep_alive(false);
        res.prepare_payload();
        bhttp::write(socket, res, ec);
        socket.shutdown(tcp::socket::shutdown_both, ec);
    }

    std::string prompt_id() {
        if (!seeded_id_.empty()) return seeded_id_;
        if (script_ == Script::OldServer) return kServerId;
        return prompt_body.value("prompt_id", "");
    }

    void route(const bhttp::request<bhttp::string_body>& req,
               bhttp::response<bhttp::string_body>& res) {
        const std::string target(req.target());
        std::lock_guard<std::mutex> lock(mu_);
        cv_.notify_all();  // for wait_until(), which looks once the answer is decided
        if (req.method() == bhttp::verb::post && target == "/upload/image") {
            auto parts = tollgate::http::parse_multipart(
                req.body(), std::string(req[bhttp::field::content_type]), 16, 1 << 20);
            if (!parts.ok()) {
                res.result(bhttp::status::bad_request);
                return;
            }
            for (const auto& p : *parts) {
                if (p.name == "image") upload_filename = p.filename, upload_data = p.data;
                if (p.name == "subfolder") upload_subfolder = p.data;
                if (p.name == "type") upload_type = p.data;
                if (p.name == "overwrite") upload_overwrite = p.data;
            }
            res.body() = nlohmann::json{
                {"name", upload_filename},
                {"subfolder", upload_subfolder},
                {"type",
                 "input"}}.dump();
        } else if (req.method() == bhttp::verb::post && target == "/prompt") {
            prompt_body = nlohmann::json::parse(req.body());
            prompt_received_ms = core::SystemClock::instance().now_ms();
            if (script_ == Script::Reject) {
                res.result(bhttp::status::bad_request);
                res.body() =
                    R"({"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "Value smaller than min of 32: model_input_size"}, "node_errors": {}})";
                return;
            }
            res.body() = nlohmann::json{{"prompt_id", prompt_id()},
                                        {"number", 0},
                                        {"node_errors", nlohmann::json::object()}}
                             .dump();
            queue_events();
        } else if (req.method() == bhttp::verb::get && target.rfind("/history/", 0) == 0) {
            res.body() = history_json(target.substr(9));
        } else if (req.method() == bhttp::verb::post && target == "/history") {
            const nlohmann::json body = nlohmann::json::parse(req.body());
            for (const auto& id : body["delete"]) {
                history_deletes.push_back(id.get<std::string>());
            }
            res.body() = "";
        } else if (req.method() == bhttp::verb::get && target.rfind("/view?", 0) == 0) {
            view_target = target;
            res.set(bhttp::field::content_type, "image/png");
            res.body() = "COLORIZED";
        } else if (req.method() == bhttp::verb::get && target == "/queue") {
            ++queue_gets;
            const bool pending = (script_ == Script::NeverFinishes && !prompt_body.is_null()) ||
                                 seeded_ == Seeded::Running;
            res.body() = pending ? R"({"queue_running": [[0, ")" + prompt_id() +
                                       R"(", {}, {}, ["3"]]], "queue_pending": []})"
                                 : R"({"queue_running": [], "queue_pending": []})";
        } else if (req.method() == bhttp::verb::post && target == "/queue") {
            const nlohmann::json body = nlohmann::json::parse(req.body());
            for (const auto& id : body["delete"]) queue_deletes.push_back(id.get<std::string>());
            res.body() = "";
        } else {
            res.result(bhttp::status::not_found);
        }
    }

    bool finished() const {
        if (seeded_ != Seeded::None) return seeded_ == Seeded::Finished;
        return !prompt_body.is_null() && script_ != Script::NeverFinishes &&
               script_ != Script::Reject;
    }

    std::int64_t start_ms() const { return prompt_received_ms + 700; }

    std::string history_json(const std::string& id) {
        if (!finished() || id != prompt_id()) return "{}";
        nlohmann::json entry;
        entry["outputs"] = extra_history_outputs;
        using nlohmann::json;
        const json start =
            json::array({"execution_start", {{"prompt_id", id}, {"timestamp", start_ms()}}});
        if (script_ == Script::ExecutionError) {
            entry["status"] = {
                {"status_str", "error"},
                {"completed", false},
                {"messages",
                 json::array({start, json::array({"execution_error", error_data(id)})})}};
        } else {
            entry["outputs"]["3"]["images"] = {{{"filename", "job_test1_00001_.png"},
                                                {"subfolder", "tollgate"},
                                                {"type", "output"}}};
            entry["status"] = {
                {"status_str", "success"},
                {"completed", true},
                {"messages",
                 json::array({start, json::array({"execution_success",
                                                  {{"prompt_id", id},
                                                   {"timestamp", start_ms() + 2500}}})})}};
        }
        return nlohmann::json{{id, entry}}.dump();
    }

    nlohmann::json error_data(const std::string& id) const {
        return {{"prompt_id", id},
                {"node_id", "2"},
                {"node_type", "DDColor_Colorize"},
                {"exception_message", "Checkpoint load failed.\n"},
                {"exception_type", "FileNotFoundError"},
                {"timestamp", start_ms() + 1200}};
    }

    static std::string event(const std::string& type, const nlohmann::json& data) {
        return nlohmann::json{{"type", type}, {"data", data}}.dump();
    }

    // Called with mu_ held, when the prompt is accepted.
    void queue_events() {
        if (script_ == Script::NeverFinishes || script_ == Script::NoWebSocket) return;
        const std::string id = prompt_id();
        auto& q = ws_out_;
        q.push_back(event("status", {{"status", {{"exec_info", {{"queue_remaining", 1}}}}}}));
        q.push_back(event("execution_start", {{"prompt_id", "someone-else"}, {"timestamp", 1}}));
        q.push_back(event("execution_start", {{"prompt_id", id}, {"timestamp", start_ms()}}));
        q.push_back("\x01\x02 binary");  // sent as a binary frame, must be skipped
        q.push_back(event("executing", {{"node", "2"}, {"prompt_id", id}}));
        if (script_ == Script::ExecutionError) {
            q.push_back(event("execution_error", error_data(id)));
        } else {
            q.push_back(event("executed", {{"node", "3"},
                                           {"prompt_id", id},
                                           {"output", {{"images", nlohmann::json::array()}}}}));
            q.push_back(
                event("execution_success", {{"prompt_id", id}, {"timestamp", start_ms() + 2500}}));
        }
        q.push_back(event("executing", {{"node", nullptr}, {"prompt_id", id}}));
        cv_.notify_all();
    }

    void serve_ws(tcp::socket socket, const bhttp::request<bhttp::string_body>& req) {
        if (script_ == Script::NoWebSocket) return;  // dropping the socket fails the handshake
        websocket::stream<tcp::socket> ws(std::move(socket));
        beast::error_code ec;
        ws.accept(req, ec);
        if (ec) return;
        {
            std::lock_guard<std::mutex> lock(mu_);
            const std::string target(req.target());
            ws_client_id =
                tollgate::http::parse_query(target.substr(target.find('?') + 1))["clientId"];
        }
        ws.write(
            asio::buffer(event("status", {{"status", {{"exec_info", {{"queue_remaining", 0}}}}},
                                          {"sid", ws_client_id}})),
            ec);
        for (;;) {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !ws_out_.empty(); });
            if (stopping_) return;
            const std::string msg = std::move(ws_out_.front());
            ws_out_.pop_front();
            lock.unlock();
            ws.text(msg.front() == '{');
            ws.write(asio::buffer(msg), ec);
            if (ec) return;
        }
    }

    const Script script_;
    asio::io_context ioc_;
    tcp::acceptor acceptor_;
    std::thread accept_thread_;
    std::vector<std::thread> threads_;
    std::condition_variable cv_;
    std::deque<std::string> ws_out_;
    bool stopping_ = false;
    std::string seeded_id_;
    Seeded seeded_ = Seeded::None;
};

}  // namespace tollgate::dispatch::testing
