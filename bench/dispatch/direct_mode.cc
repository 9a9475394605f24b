// The direct mode of bench_dispatch (see modes.h): a lean ComfyUI client.
//
// One WebSocket serves every job of the run, as ComfyUI's server is built for
// (events go to the socket whose clientId is the prompt's client_id). Jobs are
// told apart by prompt_id: the client proposes its own UUID in POST /prompt
// and registers the job under it before sending, since a fast worker's events
// can overtake the HTTP answer. A job continues to GET /view once both the
// POST /prompt answer and `executing` with node null have arrived.
#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "bench/dispatch/http_pool.h"
#include "bench/dispatch/modes.h"
#include "core/ids.h"
#include "http/codec/query.h"

namespace tollgate::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using Json = nlohmann::json;

enum Phase { kUpload, kExecute, kView, kPhases };

struct OutputImage {
    std::string filename;
    std::string subfolder;
    std::string type;
};

// One job in flight.
struct DirectJob {
    std::int64_t index = 0;
    Mode::JobDone done;
    JobReport report;
    std::string prompt_id;
    std::int64_t posted_us = 0;
    bool answered = false;  // POST /prompt answered 200
    bool finished = false;  // `executing` with node null seen
    std::optional<OutputImage> image;
    std::string error;  // from execution_error / execution_interrupted
};

class DirectMode final : public Mode {
  public:
    DirectMode(asio::io_context& io, DirectOptions options)
        : options_(std::move(options)),
          upload_pool_(io, options_.worker, options_.connections_max),
          pool_(io, options_.worker, options_.connections_max),
          ws_(io),
          client_id_("bench-direct-" + core::random_hex(8)) {}

    void setup(SetupDone done) override;
    void run_job(std::int64_t index, JobDone done) override;
    std::vector<std::string> phase_names() const override { return {"upload", "execute", "view"}; }
    std::string stats() const override {
        return " connections=" +
               std::to_string(upload_pool_.connections_opened() + pool_.connections_opened());
    }

  private:
    std::string load_template();
    void read_events();
    void on_event(const std::string& text);
    void queue(const std::shared_ptr<DirectJob>& job, const Json& uploaded);
    void maybe_view(const std::shared_ptr<DirectJob>& job);
    void fail(const std::shared_ptr<DirectJob>& job, std::string error);
    void end(const std::shared_ptr<DirectJob>& job);

    DirectOptions options_;
    HttpPool upload_pool_;  // each job's first request
    HttpPool pool_;         // the requests of jobs already under way
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer ws_buffer_;
    bool ws_open_ = false;
    std::string ws_error_;
    const std::string client_id_;
    Json template_;
    std::string load_node_;
    std::vector<std::string> save_nodes_;
    std::map<std::string, std::shared_ptr<DirectJob>> by_prompt_;
};

std::string DirectMode::load_template() {
    template_ = Json::parse(options_.workflow_json, nullptr, /*allow_exceptions=*/false);
    if (!template_.is_object()) return "the workflow is not a JSON object";
    for (const auto& [id, node] : template_.items()) {
        if (!node.is_object() || !node.contains("class_type")) continue;
        if (node["class_type"] == "LoadImage") load_node_ = id;
        if (node["class_type"] == "SaveImage") save_nodes_.push_back(id);
    }
    if (load_node_.empty() || save_nodes_.empty()) {
        return "the workflow needs a LoadImage and a SaveImage node";
    }
    return {};
}

void DirectMode::setup(SetupDone done) {
    if (std::string e = load_template(); !e.empty()) {
        done(e);
        return;
    }
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(ws_).async_connect(
        options_.worker, [this, done = std::move(done)](beast::error_code ec) mutable {
            if (ec) {
                done("WebSocket connect: " + ec.message());
                return;
            }
            beast::get_lowest_layer(ws_).socket().set_option(asio::ip::tcp::no_delay(true), ec);
            beast::get_lowest_layer(ws_).expires_never();
            ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
            const std::string host = options_.worker.address().to_string() + ":" +
                                     std::to_string(options_.worker.port());
            ws_.async_handshake(host, "/ws?clientId=" + client_id_,
                                [this, done = std::move(done)](beast::error_code ec) {
                                    if (ec) {
                                        done("WebSocket handshake: " + ec.message());
                                        return;
                                    }
                                    ws_open_ = true;
                                    read_events();
                                    done({});
                                });
        });
}

void DirectMode::read_events() {
    ws_.async_read(ws_buffer_, [this](beast::error_code ec, std::size_t) {
        if (ec) {
            ws_open_ = false;
            ws_error_ = "WebSocket closed: " + ec.message();
            auto waiting = std::move(by_prompt_);
            by_prompt_.clear();
            for (auto& [id, job] : waiting) fail(job, ws_error_);
            return;
        }
        if (ws_.got_text()) on_event(beast::buffers_to_string(ws_buffer_.data()));
        ws_buffer_.consume(ws_buffer_.size());
        read_events();
    });
}

void DirectMode::on_event(const std::string& text) {
    const Json event = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!event.is_object() || !event.contains("data") || !event["data"].is_object()) return;
    const Json& data = event["data"];
    if (!data.contains("prompt_id") || !data["prompt_id"].is_string()) return;
    const auto found = by_prompt_.find(data["prompt_id"].get<std::string>());
    if (found == by_prompt_.end()) return;
    const std::shared_ptr<DirectJob> job = found->second;
    const std::string type = event.value("type", "");
    if (type == "executed") {
        const std::string node = data.value("node", "");
        const Json* images = data.contains("output") && data["output"].contains("images")
                                 ? &data["output"]["images"]
                                 : nullptr;
        const bool saved =
            std::find(save_nodes_.begin(), save_nodes_.end(), node) != save_nodes_.end();
        if (saved && !job->image && images && images->is_array() && !images->empty()) {
            const Json& first = (*images)[0];
            job->image = OutputImage{first.value("filename", ""), first.value("subfolder", ""),
                                     first.value("type", "output")};
        }
    } else if (type == "execution_error" || type == "execution_interrupted") {
        job->error = type + ": " + data.value("exception_message", "");
    } else if (type == "executing" && data.contains("node") && data["node"].is_null()) {
        job->finished = true;
        by_prompt_.erase(found);
        maybe_view(job);
    }
}

void DirectMode::run_job(std::int64_t index, JobDone done) {
    auto job = std::make_shared<DirectJob>();
    job->index = index;
    job->done = std::move(done);
    job->report.phases.assign(kPhases, 0);
    if (!ws_open_) {
        fail(job, ws_error_.empty() ? "no WebSocket" : ws_error_);
        return;
    }
    const std::string name = std::to_string(index);
    const Multipart form =
        image_form("image", "bench-" + name + ".png", options_.image,
                   {{"type", "input"}, {"subfolder", "bench/" + name}, {"overwrite", "true"}});
    const std::int64_t began = now_us();
    upload_pool_.send(
        HttpPool::make(bhttp::verb::post, "/upload/image", form.body, form.content_type),
        [this, job, began](beast::error_code ec, HttpResponse r) {
            job->report.phases[kUpload] = now_us() - began;
            if (ec) return fail(job, "upload: " + ec.message());
            if (r.result_int() != 200) {
                return fail(job, "upload: HTTP " + std::to_string(r.result_int()));
            }
            queue(job, Json::parse(r.body(), nullptr, /*allow_exceptions=*/false));
        });
}

void DirectMode::queue(const std::shared_ptr<DirectJob>& job, const Json& uploaded) {
    if (!uploaded.is_object() || !uploaded.contains("name")) {
        return fail(job, "upload: no name in the answer");
    }
    const std::string subfolder = uploaded.value("subfolder", "");
    const std::string name = uploaded.value("name", "");
    Json graph = template_;
    graph[load_node_]["inputs"]["image"] = subfolder.empty() ? name : subfolder + "/" + name;
    for (const auto& id : save_nodes_) {
        graph[id]["inputs"]["filename_prefix"] = "bench/" + std::to_string(job->index);
    }
    job->prompt_id = core::uuid_v4();
    by_prompt_[job->prompt_id] = job;
    const Json body = {{"prompt", graph}, {"client_id", client_id_}, {"prompt_id", job->prompt_id}};
    job->posted_us = now_us();
    pool_.send(HttpPool::make(bhttp::verb::post, "/prompt", body.dump(), "application/json"),
               [this, job](beast::error_code ec, HttpResponse r) {
                   if (ec || r.result_int() != 200) {
                       by_prompt_.erase(job->prompt_id);
                       return fail(
                           job, "prompt: " +
                                    (ec ? ec.message() : "HTTP " + std::to_string(r.result_int())));
                   }
                   job->answered = true;
                   maybe_view(job);
               });
}

void DirectMode::maybe_view(const std::shared_ptr<DirectJob>& job) {
    if (!job->answered || !job->finished) return;
    job->report.phases[kExecute] = now_us() - job->posted_us;
    if (!job->error.empty()) return fail(job, job->error);
    if (!job->image) return fail(job, "no executed event for the SaveImage node");
    const std::string target = "/view?filename=" + http::percent_encode(job->image->filename) +
                               "&subfolder=" + http::percent_encode(job->image->subfolder) +
                               "&type=" + http::percent_encode(job->image->type);
    const std::int64_t began = now_us();
    pool_.send(HttpPool::make(bhttp::verb::get, target),
               [this, job, began](beast::error_code ec, HttpResponse r) {
                   job->report.phases[kView] = now_us() - began;
                   if (ec) return fail(job, "view: " + ec.message());
                   if (r.result_int() != 200 || r.body().empty()) {
                       return fail(job, "view: HTTP " + std::to_string(r.result_int()));
                   }
                   end(job);
               });
}

void DirectMode::fail(const std::shared_ptr<DirectJob>& job, std::string error) {
    job->report.error = std::move(error);
    end(job);
}

// Reports the job, then deletes its history entry (off the clock), as a
// well-behaved client does.
void DirectMode::end(const std::shared_ptr<DirectJob>& job) {
    auto done = std::move(job->done);
    if (done) done(std::move(job->report));
    if (job->prompt_id.empty() || !job->finished) return;
    const Json body = {{"delete", Json::array({job->prompt_id})}};
    pool_.send(HttpPool::make(bhttp::verb::post, "/history", body.dump(), "application/json"),
               [](beast::error_code, HttpResponse) {});
}

}  // namespace

std::unique_ptr<Mode> make_direct_mode(asio::io_context& io, DirectOptions options) {
    return std::make_unique<DirectMode>(io, std::move(options));
}

}  // namespace tollgate::bench
