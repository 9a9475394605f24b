// The gateway mode of bench_dispatch (see modes.h): a Tollgate API client.
//
// setup() creates the run's accounts through the admin API, funds each with
// a grant large enough that no job is refused for balance, and mints one API
// key per account; jobs take the keys in turn. Tollgate has no long poll, so
// a job is followed either by GET /v1/jobs/{id} every poll interval (the
// first one interval after the 202: on average about half an interval of
// every measured latency is the client's polling, not the gateway's work), or
// on its event stream, GET /v1/jobs/{id}/events, on a connection of its own:
// the gateway pushes the final state as the worker's WebSocket does in the
// direct mode.
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "bench/dispatch/http_pool.h"
#include "bench/dispatch/modes.h"

namespace tollgate::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using Json = nlohmann::json;

enum Phase { kSubmit, kWait, kResult, kCreatedToFinished, kPhases };

struct EventStream;

struct GatewayJob {
    explicit GatewayJob(asio::io_context& io) : timer(io) {}
    Mode::JobDone done;
    JobReport report;
    std::string key;
    std::string job_id;
    std::int64_t accepted_us = 0;
    asio::steady_timer timer;
};

class GatewayMode final : public Mode {
  public:
    GatewayMode(asio::io_context& io, GatewayOptions options)
        : io_(io),
          options_(std::move(options)),
          submit_pool_(io, options_.gateway, options_.connections_max),
          pool_(io, options_.gateway, options_.connections_max),
          form_(image_form("image", "bench.png", options_.image, {})) {}

    void setup(SetupDone done) override { add_account(0, std::move(done)); }
    void run_job(std::int64_t index, JobDone done) override;
    std::vector<std::string> phase_names() const override {
        return {"submit", "wait", "result", "created_to_finished"};
    }
    std::string stats() const override {
        const double per_job = jobs_ ? static_cast<double>(polls_) / static_cast<double>(jobs_) : 0;
        char text[64];
        std::snprintf(text, sizeof text, "%.2f", per_job);
        return " poll_interval_us=" + std::to_string(options_.poll_interval_us) +
               " polls_per_job=" + text + " connections=" +
               std::to_string(submit_pool_.connections_opened() + pool_.connections_opened());
    }

  private:
    using Answer = std::function<void(std::string error, Json body)>;
    void admin(const std::string& target, const Json& body, Answer answer);
    void add_account(int index, SetupDone done);
    void poll(const std::shared_ptr<GatewayJob>& job);
    void follow(const std::shared_ptr<GatewayJob>& job);
    void read_events(const std::shared_ptr<GatewayJob>& job,
                     const std::shared_ptr<EventStream>& stream);
    // The job's final state, from a poll's answer or a state event: true when
    // the job ended (then the result is fetched, or the job ends in error).
    bool ended(const std::shared_ptr<GatewayJob>& job, const Json& body);
    void fetch_result(const std::shared_ptr<GatewayJob>& job);
    static void end(const std::shared_ptr<GatewayJob>& job, std::string error);

    asio::io_context& io_;
    GatewayOptions options_;
    HttpPool submit_pool_;  // each job's first request
    HttpPool pool_;         // set-up, and the requests of jobs already under way
    const Multipart form_;
    std::vector<std::string> keys_;
    std::int64_t jobs_ = 0;
    std::int64_t polls_ = 0;
};

std::string describe(beast::error_code ec, const HttpResponse& r) {
    if (ec) return ec.message();
    return "HTTP " + std::to_string(r.result_int()) + " " + r.body().substr(0, 200);
}

void GatewayMode::admin(const std::string& target, const Json& body, Answer answer) {
    auto request = HttpPool::make(bhttp::verb::post, target, body.dump(), "application/json");
    request.set(bhttp::field::authorization, "Bearer " + options_.admin_token);
    pool_.send(std::move(request),
               [target, answer = std::move(answer)](beast::error_code ec, HttpResponse r) {
                   if (ec || r.result_int() != 201)
                       return answer(target + ": " + describe(ec, r), {});
                   Json parsed = Json::parse(r.body(), nullptr, /*allow_exceptions=*/false);
                   if (!parsed.is_object()) return answer(target + ": the answer is not JSON", {});
                   answer({}, std::move(parsed));
               });
}

// Creates account `index`, funds it and mints its key, then the next one.
void GatewayMode::add_account(int index, SetupDone done) {
    if (index == options_.accounts) {
        done({});
        return;
    }
    const Json account = {{"name", "bench-" + std::to_string(index)}};
    admin("/admin/accounts", account, [this, index, done](std::string e, Json body) {
        if (!e.empty()) return done(e);
        const std::string id = body.value("account_id", "");
        const Json grant = {{"tokens", options_.tokens_per_account}, {"reason", "bench"}};
        admin("/admin/accounts/" + id + "/grants", grant,
              [this, index, done, id](std::string e, Json) {
                  if (!e.empty()) return done(e);
                  admin("/admin/accounts/" + id + "/keys", Json::object(),
                        [this, index, done](std::string e, Json body) {
                            if (!e.empty()) return done(e);
                            keys_.push_back(body.value("api_key", ""));
                            add_account(index + 1, done);
                        });
              });
    });
}

void GatewayMode::run_job(std::int64_t index, JobDone done) {
    auto job = std::make_shared<GatewayJob>(io_);
    job->done = std::move(done);
    job->report.phases.assign(kPhases, 0);
    job->key = keys_[static_cast<std::size_t>(index) % keys_.size()];
    ++jobs_;
    auto request = HttpPool::make(bhttp::verb::post, "/v1/jobs?workflow=" + options_.workflow,
                                  form_.body, form_.content_type);
    request.set(bhttp::field::authorization, "Bearer " + job->key);
    const std::int64_t began = now_us();
    submit_pool_.send(std::move(request), [this, job, began](beast::error_code ec, HttpResponse r) {
        job->accepted_us = now_us();
        job->report.phases[kSubmit] = job->accepted_us - began;
        if (ec || r.result_int() != 202) return end(job, "submit: " + describe(ec, r));
        const Json body = Json::parse(r.body(), nullptr, /*allow_exceptions=*/false);
        if (!body.is_object() || !body.contains("job_id")) {
            return end(job, "submit: no job_id in the answer");
        }
        job->job_id = body["job_id"].get<std::string>();
        if (options_.follow_events) {
            follow(job);
        } else {
            poll(job);
        }
    });
}

void GatewayMode::poll(const std::shared_ptr<GatewayJob>& job) {
    job->timer.expires_after(std::chrono::microseconds(options_.poll_interval_us));
    job->timer.async_wait([this, job](beast::error_code ec) {
        if (ec) return end(job, "poll timer: " + ec.message());
        auto request = HttpPool::make(bhttp::verb::get, "/v1/jobs/" + job->job_id);
        request.set(bhttp::field::authorization, "Bearer " + job->key);
        ++polls_;
        pool_.send(std::move(request), [this, job](beast::error_code ec, HttpResponse r) {
            if (ec || r.result_int() != 200) return end(job, "poll: " + describe(ec, r));
            const Json body = Json::parse(r.body(), nullptr, /*allow_exceptions=*/false);
            if (!ended(job, body)) poll(job);
        });
    });
}

bool GatewayMode::ended(const std::shared_ptr<GatewayJob>& job, const Json& body) {
    const std::string state = body.is_object() ? body.value("state", "") : "";
    if (state != "succeeded" && state != "failed") return false;
    job->report.phases[kWait] = now_us() - job->accepted_us;
    const std::int64_t created_ms = body.value("created_ms", std::int64_t{0});
    const std::int64_t finished_ms = body.value("finished_ms", std::int64_t{0});
    job->report.phases[kCreatedToFinished] = (finished_ms - created_ms) * 1000;
    if (state == "failed") {
        end(job, "failed: " + body.value("failure_reason", ""));
    } else {
        fetch_result(job);
    }
    return true;
}

// One job's event stream on a connection of its own, read until a state
// event carries the final state. The gateway's first event is the job's
// current state, so a job that ended before the stream opened still ends it.
// Each event arrives whole ("event: state\ndata: {...}\n\n", written at
// once), so the raw bytes are scanned for state events whatever the
// transfer encoding around them.
struct EventStream {
    explicit EventStream(asio::io_context& io) : socket(io) {}
    asio::ip::tcp::socket socket;
    std::string request;
    std::string bytes;
    std::size_t scanned = 0;
    std::array<char, 16 * 1024> chunk{};
};

void GatewayMode::follow(const std::shared_ptr<GatewayJob>& job) {
    auto stream = std::make_shared<EventStream>(io_);
    stream->request = "GET /v1/jobs/" + job->job_id +
                      "/events HTTP/1.1\r\nHost: " + options_.gateway.address().to_string() + ":" +
                      std::to_string(options_.gateway.port()) + "\r\nAuthorization: Bearer " +
                      job->key + "\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n";
    ++polls_;  // one request per job, counted like a poll
    stream->socket.async_connect(options_.gateway, [this, job, stream](beast::error_code ec) {
        if (ec) return end(job, "events: " + ec.message());
        stream->socket.set_option(asio::ip::tcp::no_delay(true), ec);
        asio::async_write(stream->socket, asio::buffer(stream->request),
                          [this, job, stream](beast::error_code ec, std::size_t) {
                              if (ec) return end(job, "events: " + ec.message());
                              read_events(job, stream);
                          });
    });
}

void GatewayMode::read_events(const std::shared_ptr<GatewayJob>& job,
                              const std::shared_ptr<EventStream>& stream) {
    stream->socket.async_read_some(
        asio::buffer(stream->chunk), [this, job, stream](beast::error_code ec, std::size_t n) {
            stream->bytes.append(stream->chunk.data(), n);
            static constexpr std::string_view kState = "event: state\ndata: ";
            for (;;) {
                const auto at = stream->bytes.find(kState, stream->scanned);
                if (at == std::string::npos) break;
                const auto from = at + kState.size();
                const auto line_end = stream->bytes.find('\n', from);
                if (line_end == std::string::npos) break;
                stream->scanned = line_end;
                const Json body = Json::parse(stream->bytes.substr(from, line_end - from), nullptr,
                                              /*allow_exceptions=*/false);
                if (ended(job, body)) {
                    beast::error_code ignored;
                    stream->socket.close(ignored);
                    return;
                }
            }
            if (ec) return end(job, "events: the stream ended: " + ec.message());
            read_events(job, stream);
        });
}

void GatewayMode::fetch_result(const std::shared_ptr<GatewayJob>& job) {
    auto request = HttpPool::make(bhttp::verb::get, "/v1/jobs/" + job->job_id + "/result");
    request.set(bhttp::field::authorization, "Bearer " + job->key);
    const std::int64_t began = now_us();
    pool_.send(std::move(request), [job, began](beast::error_code ec, HttpResponse r) {
        job->report.phases[kResult] = now_us() - began;
        if (ec || r.result_int() != 200 || r.body().empty()) {
            return end(job, "result: " + describe(ec, r));
        }
        end(job, {});
    });
}

void GatewayMode::end(const std::shared_ptr<GatewayJob>& job, std::string error) {
    job->report.error = std::move(error);
    auto done = std::move(job->done);
    if (done) done(std::move(job->report));
}

}  // namespace

std::unique_ptr<Mode> make_gateway_mode(asio::io_context& io, GatewayOptions options) {
    return std::make_unique<GatewayMode>(io, std::move(options));
}

}  // namespace tollgate::bench
