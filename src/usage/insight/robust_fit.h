// Robust multiple linear regression, for calibrating prices against measured
// GPU time: execution seconds ≈ a + b·megapixels, plus one term for each extra
// predictor (an option's factor, an upscale flag). Pure arithmetic on doubles
// with no I/O and no shared state; any thread may call it.
//
// The fit is Huber's M-estimator, computed by iteratively reweighted least
// squares from the ordinary least-squares start: residuals within
// kHuberTuning × the residual scale count fully, larger ones (a stalled
// worker, a cold start) count less the further out they are, so a tenth of
// gross outliers barely moves the coefficients while ordinary noise is
// weighted as in least squares. Huber is not robust to leverage: a row with an
// extreme predictor still pulls, so callers keep x within its working range.
//
// Key invariant: a successful fit has rows ≥ predictors + 2 and finite
// coefficients. Collinear predictors are refused ("singular") rather than
// answered with an arbitrary split of the effect between them.
#pragma once

#include <cstddef>
#include <vector>

#include "core/result.h"

namespace tollgate::usage {

inline constexpr std::size_t kFitRowsMax = 1'000'000;
inline constexpr std::size_t kFitColumnsMax = 8;  // predictors, not counting the intercept
inline constexpr int kFitIterationsMax = 50;
// Every x and y lies within ±this, so no sum of squares over kFitRowsMax rows overflows.
inline constexpr double kFitValueAbsMax = 1e12;
// Huber's tuning constant in units of the residual scale: 95% efficiency under normal noise.
inline constexpr double kHuberTuning = 1.345;
// The median absolute deviation times this estimates the standard deviation of normal noise.
inline constexpr double kMadToSigma = 1.4826;
// Reweighting stops once no coefficient moves by more than this fraction of the largest
// coefficient (or of the residual scale, when that is larger).
inline constexpr double kFitTolerance = 1e-9;

struct FitInput {
    std::vector<std::vector<double>> x;  // one row of predictors per observation; no intercept
    std::vector<double> y;               // the observed value of each row
};

struct FitResult {
    // [intercept, b1, b2, ...]: the intercept in the units of y, each b in y per unit of its x.
    std::vector<double> coefficients;
    double r_squared = 0;         // 1 - SS_res / SS_tot over all rows, unweighted
    double residual_mad = 0;      // median absolute deviation of the residuals × kMadToSigma
    double residual_p90_abs = 0;  // 90th percentile (nearest rank) of |residual|
    std::size_t rows = 0;
    std::size_t outliers = 0;  // rows whose final Huber weight is below 1
    int iterations = 0;        // reweighting steps after the least-squares start
    bool converged = false;    // false: kFitIterationsMax steps ran without settling
};

// Fits y ≈ coefficients[0] + Σ coefficients[j] · x[j-1]. Errors (core::Error::code):
//   "invalid_input"   ragged rows, x and y of different lengths, a value that is not finite or
//                     beyond kFitValueAbsMax, more than kFitRowsMax rows or kFitColumnsMax columns;
//   "not_enough_data" fewer rows than predictors + 2;
//   "singular"        a predictor is constant or a combination of the others.
[[nodiscard]] core::Result<FitResult> fit_robust(const FitInput& in);

}  // namespace tollgate::usage
