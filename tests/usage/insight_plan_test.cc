// The calibration and forecast plans on a generated history of usage records
// in a real SQLite file, read back on a read-only connection as the
// commands and the admin API read it.
#include "usage/insight/insight_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "support/temp_dir.h"
#include "usage/insight/suggested_book.h"
#include "usage/sample_record.h"
#include "usage/sqlite/sqlite_reports.h"
#include "usage/sqlite/sqlite_usage_sink.h"

namespace tollgate::usage {
namespace {

constexpr std::int64_t kMonday = 1'795'996'800'000;  // 2026-11-30 00:00 UTC
constexpr std::int64_t kHour = kMsPerHour;

constexpr const char* kBook = R"(version = "b1"
rounding = "floor"
time_zone = "UTC"

[workflows.person]
base = 10
per_megapixel = 2.0
minimum = 10

[workflows.building]
base = 15
per_megapixel = 2.0
minimum = 10
)";

class InsightPlanTest : public ::testing::Test {
  protected:
    void SetUp() override {
        db_ = store::Database::open(dir_.file("tollgate.db")).value();
        sink_ = SqliteUsageSink::open(*db_).value();
        book_path_ = dir_.file("book.toml");
        std::ofstream(book_path_) << kBook;
        book_ = pricing::load_price_book(book_path_).value();
    }

    void write(const std::vector<UsageRecord>& records) {
        ASSERT_TRUE(store::transact(*db_, [&]() -> core::Status {
                        for (const auto& r : records) {
                            if (core::Status s = sink_->write(r); !s.ok()) return s;
                        }
                        return {};
                    }).ok());
    }

    UsageReportSource& source() {
        if (!source_) {
            store::Database::Options options;
            options.group_commit = false;
            options.read_only = true;
            reader_ = store::Database::open(dir_.file("tollgate.db"), options).value();
            source_ = sqlite_report_source(*reader_);
        }
        return *source_;
    }

    testing::TempDir dir_;
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<SqliteUsageSink> sink_;
    std::string book_path_;
    pricing::PriceBook book_;
    std::unique_ptr<store::Database> reader_;
    std::unique_ptr<UsageReportSource> source_;
};

TEST_F(InsightPlanTest, CalibrationRecoversTheCostModelAndWritesABookThatReadsBack) {
    // person jobs cost 0.5 s + 0.5 s per megapixel on the GPU (comfysim's
    // defaults), with noise and a few cold starts; failed jobs and duplicates
    // are left out of the fit.
    std::mt19937_64 rng(11);
    std::normal_distribution<double> noise(0.0, 0.04);
    std::vector<UsageRecord> records;
    for (int i = 0; i < 600; ++i) {
        UsageRecord r = sample_record("job_" + std::to_string(i), 12, i % 7 == 0 ? "big" : "small",
                                      kMonday + i * 60'000);
        r.width = 400 + static_cast<std::int64_t>(rng() % 3600);
        r.height = 400 + static_cast<std::int64_t>(rng() % 3600);
        double seconds = 0.5 + 0.5 * static_cast<double>(r.width * r.height) / 1e6 + noise(rng);
        if (i % 30 == 0) seconds += 4.0;
        r.execution_ms = std::llround(seconds * 1000);
        r.meter_wall_ms = -1;  // timed by the worker alone
        if (i % 50 == 1) {
            r.outcome = "failed";
            r.execution_ms = 60'000;  // a timeout: not what the work costs
        }
        records.push_back(r);
    }
    ASSERT_NO_FATAL_FAILURE(write(records));
    CalibrateRequest request;
    request.workflows = {"person"};
    request.now_ms = kMonday + 2 * 24 * kHour;
    request.days = 7;
    request.target_tokens_per_gpu_second = 8.0;
    auto plan = plan_calibration(source(), book_, request);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    ASSERT_EQ(plan->fitted.size(), 1u);
    const Calibration& c = plan->fitted[0];
    EXPECT_EQ(c.fit.rows, 600u - 12u);  // the failed jobs are not fitted
    EXPECT_NEAR(c.fit.coefficients[0], 0.5, 0.025);
    EXPECT_NEAR(c.fit.coefficients[1], 0.5, 0.025);
    EXPECT_NEAR(static_cast<double>(c.suggested_base_micro), 4e6, 0.2e6);
    EXPECT_NEAR(static_cast<double>(c.suggested_per_megapixel_micro), 4e6, 0.2e6);
    EXPECT_EQ(plan->suggested.workflows.at("person").base_micro, c.suggested_base_micro);
    EXPECT_EQ(plan->suggested.workflows.at("building").base_micro, 15'000'000);  // untouched
    EXPECT_EQ(plan->jobs, 588);
    EXPECT_EQ(plan->shadow.total.jobs, 588);
    EXPECT_GT(plan->shadow.total.suggested_tokens, plan->shadow.total.current_tokens);
    ASSERT_FALSE(plan->shadow.accounts.empty());

    auto text = suggested_book_toml(book_path_, *plan);
    ASSERT_TRUE(text.ok()) << text.error().message;
    auto back = pricing::parse_price_book(*text, "suggested");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->version, "b1-calibrated");
    EXPECT_EQ(back->workflows.at("person").per_megapixel_micro, c.suggested_per_megapixel_micro);
    EXPECT_EQ(back->workflows.at("building").per_megapixel_micro, 2'000'000);
}

TEST_F(InsightPlanTest, AWorkflowWithoutEnoughJobsIsSkippedAndABadTargetRefused) {
    CalibrateRequest request;
    request.now_ms = kMonday;
    request.target_tokens_per_gpu_second = 8.0;
    auto plan = plan_calibration(source(), book_, request);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_TRUE(plan->fitted.empty());
    ASSERT_EQ(plan->skipped.size(), 2u);
    EXPECT_EQ(plan->skipped[0].workflow, "building");
    EXPECT_EQ(plan->skipped[1].workflow, "person");
    EXPECT_FALSE(plan->skipped[0].reason.empty());
    EXPECT_EQ(plan->shadow.total.jobs, 0);
    request.target_tokens_per_gpu_second = -1;
    EXPECT_EQ(plan_calibration(source(), book_, request).error().code, "invalid_target");
    request.target_tokens_per_gpu_second = 8;
    request.workflows = {"portrait"};
    EXPECT_EQ(plan_calibration(source(), book_, request).error().code, "unknown_workflow");
}

TEST_F(InsightPlanTest, TheForecastFollowsTheWeeklyCurveAndSizesThePool) {
    // Four weeks of person jobs: busy weekday afternoons, quiet nights and weekends.
    std::mt19937_64 rng(5);
    auto demand = [](int how) {
        const int day = how / 24, hour = how % 24;
        const int base = hour >= 9 && hour < 18 ? 12 : 2;
        return day < 5 ? base + (hour == 14 ? 10 : 0) : base / 2;
    };
    std::vector<UsageRecord> records;
    const std::int64_t start = kMonday - 4 * 7 * 24 * kHour;
    int n = 0;
    for (std::int64_t h = 0; h < 4 * 168; ++h) {
        const int jobs = demand(static_cast<int>(h % 168)) + static_cast<int>(rng() % 2);
        for (int j = 0; j < jobs; ++j) {
            UsageRecord r = sample_record("job_" + std::to_string(n++), 12, "acct",
                                          start + h * kHour + j * 1000);
            r.execution_ms = 1800;
            records.push_back(r);
        }
    }
    ASSERT_NO_FATAL_FAILURE(write(records));
    ForecastRequest request;
    request.now_ms = kMonday + 5 * 60'000;  // the hour under way is not history
    request.weeks = 4;
    request.target_utilization = 0.5;
    request.pools = {{"person", 2}};
    auto plan = plan_forecast(source(), request);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_EQ(plan->first_hour, kMonday / kHour);
    EXPECT_LT(plan->backtest.wape, 0.15);
    EXPECT_EQ(plan->backtest.hours, kHoursPerWeek);
    ASSERT_EQ(plan->pools.size(), 1u);
    const PoolForecast& p = plan->pools[0];
    EXPECT_NEAR(p.gpu_seconds_per_job, 1.8, 1e-9);
    ASSERT_EQ(p.jobs_per_hour.size(), kHoursPerWeek);
    // The peak is a weekday at 14:00, about 22.5 jobs: 22.5 × 1.8 s at 50% busy is one worker.
    const auto busiest = static_cast<std::int64_t>(
        std::max_element(p.jobs_per_hour.begin(), p.jobs_per_hour.end()) - p.jobs_per_hour.begin());
    EXPECT_EQ(hour_of_week(plan->first_hour + busiest) % 24, 14);
    EXPECT_LT(hour_of_week(plan->first_hour + busiest) / 24, 5);
    EXPECT_NEAR(p.jobs_per_hour[14], 22.5, 2.0);
    EXPECT_NEAR(p.jobs_per_hour[3], 2.5, 1.0);
    EXPECT_EQ(p.workers.workers_peak, 1);
    EXPECT_EQ(p.workers_now, 2);
    // Two weeks would leave one to fit on once the backtest holds the last one out.
    for (std::int64_t weeks : {1, 2, 53}) {
        request.weeks = weeks;
        EXPECT_EQ(plan_forecast(source(), request).error().code, "invalid_option") << weeks;
    }
    request.weeks = 3;
    EXPECT_TRUE(plan_forecast(source(), request).ok());
    request.target_utilization = 0;
    EXPECT_EQ(plan_forecast(source(), request).error().code, "invalid_option");
}

}  // namespace
}  // namespace tollgate::usage
