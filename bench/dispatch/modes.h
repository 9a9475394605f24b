// The two ways bench_dispatch runs one job, behind one interface, so that the
// open-loop driver (bench_dispatch.cc) schedules, times and reports both the
// same way:
//
// - direct: a ComfyUI client against the worker itself, written as ComfyUI's
//   server expects a client to follow prompts: one WebSocket for the whole run
//   (one clientId, events routed by prompt_id, which the client chooses so
//   that events arriving before the POST /prompt answer are not lost), then
//   per job POST /upload/image, POST /prompt, wait for `executing` with node
//   null (the output's name comes from the SaveImage node's `executed`
//   event), GET /view. The history entry is deleted afterwards, off the
//   clock, so the worker keeps the same state in both modes.
// - gateway: a Tollgate client: POST /v1/jobs (multipart image) with one of
//   the run's funded API keys, GET /v1/jobs/{id} every poll interval until
//   the job is final, GET /v1/jobs/{id}/result.
//
// A job's latency runs from its scheduled start to the last byte of its
// result image. Each mode also reports named phases (in microseconds) so
// the difference between the modes can be attributed. Everything runs on
// the one io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tollgate::bench {

struct JobReport {
    std::string error;                 // empty when the job succeeded
    std::vector<std::int64_t> phases;  // one per Mode::phase_names(), in microseconds
};

class Mode {
  public:
    using SetupDone = std::function<void(std::string error)>;
    using JobDone = std::function<void(JobReport)>;

    virtual ~Mode() = default;
    // Connects, creates accounts and so on; `done` gets "" on success.
    virtual void setup(SetupDone done) = 0;
    // Runs job number `index` (unique within the run) and calls `done` once.
    virtual void run_job(std::int64_t index, JobDone done) = 0;
    virtual std::vector<std::string> phase_names() const = 0;
    // Extra key=value pairs for the RESULT line (may be empty, else starts with a space).
    virtual std::string stats() const { return {}; }
};

struct DirectOptions {
    boost::asio::ip::tcp::endpoint worker;
    std::string workflow_json;  // API-format graph with one LoadImage and SaveImage nodes
    std::string image;          // PNG bytes
    std::size_t connections_max = 256;
};

struct GatewayOptions {
    boost::asio::ip::tcp::endpoint gateway;
    std::string admin_token;
    std::string workflow = "person";
    std::string image;  // PNG bytes
    int accounts = 8;
    std::int64_t tokens_per_account = 1'000'000;
    int poll_interval_us = 1'000;
    // Follow each job on its event stream (GET /v1/jobs/{id}/events, the
    // push a client that waits would use, as the direct mode's WebSocket)
    // rather than by polling GET /v1/jobs/{id} every poll_interval_us.
    bool follow_events = false;
    std::size_t connections_max = 256;
};

// Errors in the workflow JSON are reported by setup().
std::unique_ptr<Mode> make_direct_mode(boost::asio::io_context& io, DirectOptions options);
std::unique_ptr<Mode> make_gateway_mode(boost::asio::io_context& io, GatewayOptions options);

// The steady clock in microseconds, as every timing in the benchmark reads it.
std::int64_t now_us();

}  // namespace tollgate::bench
