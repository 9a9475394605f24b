// Price calibration from measured GPU time (see calibration.h).
#include "usage/insight/calibration.h"

#include <cmath>

#include "core/assert.h"

namespace tollgate::usage {
namespace {

// target × seconds in micro-tokens, to the nearest step, at least 0.
std::int64_t price_micro(double target, double seconds) {
    const double steps = std::round(target * seconds * 1e6 / kCalibrationStepMicro);
    if (!(steps > 0)) return 0;
    TOLLGATE_ASSERT(steps <= 1e14);  // target ≤ 1e6 and seconds ≤ 1e6: at most 1e18 micro
    return static_cast<std::int64_t>(steps) * kCalibrationStepMicro;
}

}  // namespace

core::Result<Calibration> calibrate(const std::string& workflow,
                                    const std::vector<ExecutionSample>& samples,
                                    double target_tokens_per_gpu_second) {
    const double target = target_tokens_per_gpu_second;
    if (!(target > 0) || target > kCalibrationTargetMax) {
        return core::make_error("invalid_target",
                                "the target is above 0 and at most 1000000 tokens per GPU-second");
    }
    FitInput in;
    in.x.reserve(samples.size());
    in.y.reserve(samples.size());
    std::size_t metered = 0;
    for (const ExecutionSample& s : samples) {
        const bool by_meter = s.meter_wall_ms > 0;
        metered += by_meter ? 1 : 0;
        in.x.push_back({static_cast<double>(s.width) * static_cast<double>(s.height) / 1e6});
        in.y.push_back(static_cast<double>(by_meter ? s.meter_wall_ms : s.execution_ms) / 1000.0);
    }
    auto fit = fit_robust(in);
    if (!fit.ok()) return fit.error();
    TOLLGATE_ASSERT(fit->coefficients.size() == 2);
    TOLLGATE_ASSERT(metered <= samples.size());
    Calibration out{workflow, std::move(fit).value(), metered, 0, 0};
    // A fit whose coefficients are this large came from values fit_robust bounds.
    if (std::abs(out.fit.coefficients[0]) > 1e6 || std::abs(out.fit.coefficients[1]) > 1e6) {
        return core::make_error("invalid_input", "the fitted seconds are out of range");
    }
    out.suggested_base_micro = price_micro(target, out.fit.coefficients[0]);
    out.suggested_per_megapixel_micro = price_micro(target, out.fit.coefficients[1]);
    return out;
}

}  // namespace tollgate::usage
