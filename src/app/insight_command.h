// `tollgate calibrate` and `tollgate forecast`: prices learnt from measured
// GPU time, and the demand and workers of the coming week, from the usage
// records the reports read (app/report_source.h).
//
// Each prints a plan (usage/insight/insight_plan.h: what the numbers say,
// which the dashboard reads too). Exit codes as the other commands': 0 done,
// 2 nothing could be read or computed.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "app/config.h"
#include "app/store_open.h"
#include "usage/insight/insight_plan.h"

namespace tollgate::app {

// The plans live in usage/insight/insight_plan.h, where the admin API reads
// them too; the commands take their requests under these names.
using usage::CalibrateRequest;
using usage::ForecastRequest;

// Workers each configured workflow's pool lists, by workflow: what a
// forecast compares its plan with (ForecastRequest::pools, and
// /admin/reports/forecast's workers_now).
std::vector<std::pair<std::string, std::int64_t>> configured_pools(const Config& config);

// The commands: read the store `where` (and [usage] export_to), print the
// plan on stdout; calibrate writes the suggested book to `write_path` too
// when it is not empty.
int run_calibrate(const Config& config, const StoreLocation& where, CalibrateRequest request,
                  const std::string& write_path);
int run_forecast(const Config& config, const StoreLocation& where, ForecastRequest request);

}  // namespace tollgate::app
