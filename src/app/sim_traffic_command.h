// `tollgate sim-traffic`: sends the traffic plan of app/sim_traffic.h to a
// running gateway, through its public API as a client would, so that the
// dashboard, the reports, calibration and /metrics have real jobs to show.
//
// It first makes `accounts` accounts ("sim-1", ...) with the admin token, each
// with a grant and a key; then it sends each planned job at its time
// (POST /v1/jobs with a synthetic photo, image/synthetic.h) and prints a
// progress line every progress_interval_s. It stops after `jobs` jobs, after
// duration_s, or when `stop` is set (SIGINT, SIGTERM); with `wait`, it then
// polls every accepted job until it ends.
//
// Exit codes: 0 done; 1 with `wait`, some jobs did not end in time, or no
// job could be sent at all; 2 bad options or the accounts could not be made.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "app/sim_traffic.h"

namespace tollgate::app {

struct SimTrafficOptions {
    std::string gateway = "http://127.0.0.1:8080";
    std::string admin_token;
    TrafficShape shape;
    std::int64_t jobs = 0;  // stop after this many jobs (0: no limit)
    double duration_s = 0;  // stop after this long (0: no limit)
    bool wait = false;      // then wait until every accepted job has ended
    double wait_timeout_s = 600;
    double progress_interval_s = 60;
    std::int64_t grant_tokens = 10'000'000;  // each account's starting grant
    int request_timeout_ms = 30'000;
};

int run_sim_traffic(const SimTrafficOptions& options, const std::atomic<bool>& stop);

}  // namespace tollgate::app
