// Price calibration: known costs in, the prices that earn the target out.
#include "usage/insight/calibration.h"

#include <gtest/gtest.h>

#include <random>

namespace tollgate::usage {
namespace {

// Jobs whose GPU time is a + b·MP, with noise and a few cold starts, as a
// worker's would be.
std::vector<ExecutionSample> samples(double a_s, double b_s, int n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(0.0, 0.05);
    std::vector<ExecutionSample> out;
    for (int i = 0; i < n; ++i) {
        ExecutionSample s;
        s.width = 300 + static_cast<std::int64_t>(rng() % 3700);
        s.height = 300 + static_cast<std::int64_t>(rng() % 3700);
        const double mp = static_cast<double>(s.width * s.height) / 1e6;
        double seconds = a_s + b_s * mp + noise(rng);
        if (i % 25 == 0) seconds += 2.0 + static_cast<double>(rng() % 3000) / 1000.0;
        s.execution_ms = static_cast<std::int64_t>(seconds * 1000.0);
        out.push_back(s);
    }
    return out;
}

TEST(CalibrationTest, RecoversTheCostModelAndPricesItAtTheTarget) {
    const auto c = calibrate("person", samples(0.5, 0.5, 800, 7), 10.0);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_NEAR(c->fit.coefficients[0], 0.5, 0.025);  // within 5%
    EXPECT_NEAR(c->fit.coefficients[1], 0.5, 0.025);
    EXPECT_GT(c->fit.r_squared, 0.8);
    EXPECT_GT(c->fit.outliers, 0u);  // the cold starts
    // 10 tokens per GPU-second: about 5 tokens of base and 5 per megapixel.
    EXPECT_NEAR(static_cast<double>(c->suggested_base_micro), 5e6, 0.25e6);
    EXPECT_NEAR(static_cast<double>(c->suggested_per_megapixel_micro), 5e6, 0.25e6);
    EXPECT_EQ(c->suggested_base_micro % kCalibrationStepMicro, 0);
    EXPECT_EQ(c->suggested_per_megapixel_micro % kCalibrationStepMicro, 0);
}

TEST(CalibrationTest, ANegativeInterceptSuggestsNoBase) {
    const auto c = calibrate("building", samples(-0.4, 1.2, 400, 9), 2.0);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_LT(c->fit.coefficients[0], 0.0);
    EXPECT_EQ(c->suggested_base_micro, 0);
    EXPECT_NEAR(static_cast<double>(c->suggested_per_megapixel_micro), 2.4e6, 0.12e6);
}

// The reporting node's wall time is the model's; the worker's execution time
// adds what follows the node (saving the result) and the host's scheduling.
// Jobs the node did not time (-1, or 0 from an older ClickHouse row) fall
// back on the execution time.
TEST(CalibrationTest, PrefersTheReportingNodesTimeWhereItWasMeasured) {
    auto jobs = samples(0.5, 0.5, 200, 11);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        ExecutionSample& s = jobs[i];
        if (i % 4 == 3) {
            s.meter_wall_ms = i % 8 == 3 ? -1 : 0;  // not measured
            continue;
        }
        s.meter_wall_ms = s.execution_ms;
        s.execution_ms += 1500;  // what the node does not see
    }
    const auto c = calibrate("person", jobs, 10.0);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->metered_jobs, 150u);
    EXPECT_NEAR(c->fit.coefficients[0], 0.5, 0.025);
    EXPECT_NEAR(c->fit.coefficients[1], 0.5, 0.025);

    for (ExecutionSample& s : jobs) s.meter_wall_ms = -1;
    const auto by_execution = calibrate("person", jobs, 10.0);
    ASSERT_TRUE(by_execution.ok()) << by_execution.error().message;
    EXPECT_EQ(by_execution->metered_jobs, 0u);
    EXPECT_GT(by_execution->fit.coefficients[0], 1.5);
}

TEST(CalibrationTest, TooFewSamplesOrABadTargetAreRefused) {
    EXPECT_EQ(calibrate("person", samples(0.5, 0.5, 2, 1), 10.0).error().code, "not_enough_data");
    EXPECT_EQ(calibrate("person", samples(0.5, 0.5, 50, 1), 0.0).error().code, "invalid_target");
    EXPECT_EQ(calibrate("person", samples(0.5, 0.5, 50, 1), -1.0).error().code, "invalid_target");
    EXPECT_EQ(calibrate("person", samples(0.5, 0.5, 50, 1), 2e6).error().code, "invalid_target");
    std::vector<ExecutionSample> same(10, ExecutionSample{1000, 1000, 1500, "a", 0});
    EXPECT_EQ(calibrate("person", same, 10.0).error().code, "singular");
}

}  // namespace
}  // namespace tollgate::usage
