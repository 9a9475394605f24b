// fit_robust(): Huber regression by iteratively reweighted least squares.
//
// Each step computes the residuals of the current coefficients, their scale
// (kMadToSigma × the median absolute deviation, which outliers cannot
// inflate), the Huber weights min(1, k·scale / |residual|), and solves the
// weighted normal equations again. The predictors are centred and scaled to
// unit spread first: the normal matrix then stays well conditioned whatever
// the units (megapixels or pixels), and one relative pivot tolerance tells
// collinear predictors from merely correlated ones. The system is at most
// 9 × 9, so Gaussian elimination with partial pivoting is enough.
//
// Rejected: QR on the full design matrix (more accurate, but it holds n × 9
// doubles where the normal equations hold 81); least absolute deviations
// (more robust, but it needs a linear program and wastes efficiency on the
// ordinary noise that is most of the data); refitting without the rows beyond
// a threshold (a hard cut flips rows in and out and need not converge).
#include "usage/insight/robust_fit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>

#include "core/assert.h"

namespace tollgate::usage {
namespace {

// A pivot below this fraction of the largest diagonal entry means collinear predictors.
constexpr double kPivotRelativeMin = 1e-10;
// A residual scale below this fraction of max |y| is rounding noise: the fit is exact.
constexpr double kScaleFloorRelative = 1e-9;

constexpr std::size_t kTermsMax = kFitColumnsMax + 1;
using Terms = std::array<double, kTermsMax>;
using Matrix = std::array<Terms, kTermsMax>;

core::Error invalid_fit(const std::string& why) { return core::make_error("invalid_input", why); }
core::Error singular(const std::string& why) { return core::make_error("singular", why); }

bool in_range(double v) { return std::isfinite(v) && std::abs(v) <= kFitValueAbsMax; }

core::Status validate(const FitInput& in) {
    const std::size_t rows = in.x.size();
    if (rows > kFitRowsMax) return invalid_fit(std::to_string(rows) + " rows is too many");
    if (in.y.size() != rows) return invalid_fit("x and y have different lengths");
    const std::size_t columns = rows == 0 ? 0 : in.x[0].size();
    if (columns > kFitColumnsMax)
        return invalid_fit(std::to_string(columns) + " columns is too many");
    for (std::size_t i = 0; i < rows; ++i) {
        if (in.x[i].size() != columns)
            return invalid_fit("row " + std::to_string(i) + " is ragged");
        if (!in_range(in.y[i]))
            return invalid_fit("y of row " + std::to_string(i) + " is not usable");
        for (double v : in.x[i]) {
            if (!in_range(v))
                return invalid_fit("x of row " + std::to_string(i) + " is not usable");
        }
    }
    if (rows < columns + 2) {
        return core::make_error("not_enough_data", std::to_string(rows) + " rows for " +
                                                       std::to_string(columns) + " predictors");
    }
    return {};
}

// The predictors centred on their mean and divided by their spread (root mean square
// deviation). Sums are taken relative to the first row, so a constant column is exactly 0.
struct Design {
    std::size_t terms = 1;  // the intercept and one per predictor
    Terms mean{};
    Terms spread{};

    Terms row(const std::vector<double>& x) const {
        Terms a{};
        a[0] = 1;
        for (std::size_t j = 1; j < terms; ++j) a[j] = (x[j - 1] - mean[j]) / spread[j];
        return a;
    }
    double predict(const Terms& c, const std::vector<double>& x) const {
        const Terms a = row(x);
        double sum = 0;
        for (std::size_t j = 0; j < terms; ++j) sum += c[j] * a[j];
        return sum;
    }
};

core::Result<Design> make_design(const FitInput& in) {
    Design d;
    d.terms = in.x[0].size() + 1;
    const double n = static_cast<double>(in.x.size());
    for (std::size_t j = 1; j < d.terms; ++j) {
        const double origin = in.x[0][j - 1];
        double sum = 0;
        for (const auto& row : in.x) sum += row[j - 1] - origin;
        const double shift = sum / n;
        double squares = 0;
        for (const auto& row : in.x) squares += std::pow(row[j - 1] - origin - shift, 2);
        d.mean[j] = origin + shift;
        d.spread[j] = std::sqrt(squares / n);
        if (d.spread[j] == 0 || d.spread[j] <= kPivotRelativeMin * std::abs(d.mean[j])) {
            return singular("predictor " + std::to_string(j - 1) + " is constant");
        }
    }
    return d;
}

// Solves m · c = b for the leading `terms` rows; nullopt when the matrix is singular.
std::optional<Terms> solve(Matrix m, Terms b, std::size_t terms) {
    double diagonal_max = 0;
    for (std::size_t i = 0; i < terms; ++i) diagonal_max = std::max(diagonal_max, m[i][i]);
    for (std::size_t col = 0; col < terms; ++col) {
        std::size_t pivot = col;
        for (std::size_t r = col + 1; r < terms; ++r) {
            if (std::abs(m[r][col]) > std::abs(m[pivot][col])) pivot = r;
        }
        if (!(std::abs(m[pivot][col]) > kPivotRelativeMin * diagonal_max)) return std::nullopt;
        std::swap(m[col], m[pivot]);
        std::swap(b[col], b[pivot]);
        for (std::size_t r = col + 1; r < terms; ++r) {
            const double f = m[r][col] / m[col][col];
            for (std::size_t k = col; k < terms; ++k) m[r][k] -= f * m[col][k];
            b[r] -= f * b[col];
        }
    }
    Terms c{};
    for (std::size_t i = terms; i-- > 0;) {
        double sum = b[i];
        for (std::size_t k = i + 1; k < terms; ++k) sum -= m[i][k] * c[k];
        c[i] = sum / m[i][i];
    }
    return c;
}

// Least squares with one weight per row; empty weights count every row as 1.
std::optional<Terms> weighted_least_squares(const FitInput& in, const Design& d,
                                            const std::vector<double>& weights) {
    Matrix m{};
    Terms b{};
    for (std::size_t i = 0; i < in.x.size(); ++i) {
        const Terms a = d.row(in.x[i]);
        const double w = weights.empty() ? 1.0 : weights[i];
        for (std::size_t j = 0; j < d.terms; ++j) {
            for (std::size_t k = j; k < d.terms; ++k) m[j][k] += w * a[j] * a[k];
            b[j] += w * a[j] * in.y[i];
        }
    }
    for (std::size_t j = 0; j < d.terms; ++j) {
        for (std::size_t k = 0; k < j; ++k) m[j][k] = m[k][j];
    }
    return solve(m, b, d.terms);
}

double median(std::vector<double> v) {
    const std::size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
    const double upper = v[mid];
    if (v.size() % 2 == 1) return upper;
    return (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)) + upper) / 2;
}

double mad_sigma(const std::vector<double>& residuals) {
    const double center = median(residuals);
    std::vector<double> deviations(residuals.size());
    for (std::size_t i = 0; i < residuals.size(); ++i) {
        deviations[i] = std::abs(residuals[i] - center);
    }
    return kMadToSigma * median(std::move(deviations));
}

void compute_residuals(const FitInput& in, const Design& d, const Terms& c,
                       std::vector<double>& out) {
    for (std::size_t i = 0; i < in.x.size(); ++i) out[i] = in.y[i] - d.predict(c, in.x[i]);
}

// Fills in everything but the iteration count from the final coefficients.
void summarize(const FitInput& in, const Design& d, const Terms& c, double scale_floor,
               FitResult& out) {
    const std::size_t n = in.y.size();
    std::vector<double> residuals(n);
    compute_residuals(in, d, c, residuals);
    out.rows = n;
    out.residual_mad = mad_sigma(residuals);
    const double cutoff = kHuberTuning * std::max(out.residual_mad, scale_floor);
    double y_sum = 0;
    for (double y : in.y) y_sum += y - in.y[0];
    const double y_mean_shift = y_sum / static_cast<double>(n);
    double ss_res = 0;
    double ss_tot = 0;
    for (std::size_t i = 0; i < n; ++i) {
        ss_res += residuals[i] * residuals[i];
        ss_tot += std::pow(in.y[i] - in.y[0] - y_mean_shift, 2);
        residuals[i] = std::abs(residuals[i]);
        if (residuals[i] > cutoff) ++out.outliers;
    }
    if (ss_tot > 0) {
        out.r_squared = 1 - ss_res / ss_tot;
    } else {
        const bool exact = ss_res <= static_cast<double>(n) * scale_floor * scale_floor;
        out.r_squared = exact ? 1 : 0;
    }
    const auto rank = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(n))) - 1;
    std::nth_element(residuals.begin(), residuals.begin() + static_cast<std::ptrdiff_t>(rank),
                     residuals.end());
    out.residual_p90_abs = residuals[rank];
    // Back to the caller's units: c0 + Σ cj (xj - mean_j) / spread_j.
    out.coefficients.assign(d.terms, 0);
    out.coefficients[0] = c[0];
    for (std::size_t j = 1; j < d.terms; ++j) {
        out.coefficients[j] = c[j] / d.spread[j];
        out.coefficients[0] -= out.coefficients[j] * d.mean[j];
    }
    for (double v : out.coefficients) TOLLGATE_ASSERT(std::isfinite(v));
}

}  // namespace

core::Result<FitResult> fit_robust(const FitInput& in) {
    if (core::Status valid = validate(in); !valid.ok()) return valid.error();
    core::Result<Design> design = make_design(in);
    if (!design.ok()) return design.error();
    const Design& d = *design;
    std::optional<Terms> c = weighted_least_squares(in, d, {});
    if (!c) return singular("the predictors are collinear");

    double y_abs_max = 0;
    for (double y : in.y) y_abs_max = std::max(y_abs_max, std::abs(y));
    const double scale_floor = kScaleFloorRelative * y_abs_max;
    FitResult result;
    std::vector<double> residuals(in.y.size());
    std::vector<double> weights(in.y.size(), 1.0);
    while (!result.converged && result.iterations < kFitIterationsMax) {
        compute_residuals(in, d, *c, residuals);
        const double scale = std::max(mad_sigma(residuals), scale_floor);
        for (std::size_t i = 0; i < residuals.size(); ++i) {
            const double r = std::abs(residuals[i]);
            weights[i] = r <= kHuberTuning * scale ? 1.0 : kHuberTuning * scale / r;
        }
        std::optional<Terms> next = weighted_least_squares(in, d, weights);
        if (!next) return singular("the weighted predictors are collinear");
        double change = 0;
        double size = scale;
        for (std::size_t j = 0; j < d.terms; ++j) {
            change = std::max(change, std::abs((*next)[j] - (*c)[j]));
            size = std::max(size, std::abs((*next)[j]));
        }
        c = next;
        ++result.iterations;
        result.converged = change <= kFitTolerance * size;
    }
    summarize(in, d, *c, scale_floor, result);
    return result;
}

}  // namespace tollgate::usage
