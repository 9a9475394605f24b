// Price calibration from measured GPU time: fits a workflow's execution
// seconds ≈ a + b·MP on its succeeded jobs (robust_fit.h), and suggests the
// base and per-megapixel prices that earn a target number of tokens per
// GPU-second: base = target·a, per_megapixel = target·b.
//
// A job's seconds are its reporting node's wall time when the node measured
// it (meter_wall_ms > 0), otherwise the worker's execution_start to
// execution_success. The node's figure leaves out what follows it in the
// graph (saving and encoding the result) and is immune to a busy worker
// host's scheduling of those steps, so it is the better measure of the model.
//
// The suggestion is rounded to hundredths of a token (10'000 micro-tokens),
// as a price book writes prices, and never below zero (a negative intercept,
// jobs cheaper than their size predicts, suggests a base of 0). Options that
// change the work (upscaling, quality levels) are not in the usage records,
// so the fit is over input megapixels only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "usage/insight/robust_fit.h"
#include "usage/reports.h"

namespace tollgate::usage {

inline constexpr std::int64_t kCalibrationStepMicro = 10'000;  // prices in hundredths of a token
inline constexpr double kCalibrationTargetMax = 1e6;           // tokens per GPU-second

struct Calibration {
    std::string workflow;
    FitResult fit;                 // coefficients [a seconds, b seconds per megapixel]
    std::size_t metered_jobs = 0;  // samples whose seconds came from the reporting node
    std::int64_t suggested_base_micro = 0;
    std::int64_t suggested_per_megapixel_micro = 0;
};

// Errors: "invalid_target" unless 0 < target <= kCalibrationTargetMax; and
// fit_robust()'s ("not_enough_data", "singular", "invalid_input").
core::Result<Calibration> calibrate(const std::string& workflow,
                                    const std::vector<ExecutionSample>& samples,
                                    double target_tokens_per_gpu_second);

}  // namespace tollgate::usage
