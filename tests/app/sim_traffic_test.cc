// The traffic plan of `tollgate sim-traffic`: its daily curve, its arrival
// rate, its mix of sizes, workflows, accounts, duplicates and bad uploads.
#include "app/sim_traffic.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

namespace tollgate::app {
namespace {

TEST(MixEntryTest, ParsesNameQueryAndWeight) {
    auto e = parse_mix_entry("super_resolution?upscale_factor=2:10");
    ASSERT_TRUE(e.ok()) << e.error().message;
    EXPECT_EQ(e->workflow, "super_resolution");
    EXPECT_EQ(e->query, "upscale_factor=2");
    EXPECT_DOUBLE_EQ(e->weight, 10);
    auto plain = parse_mix_entry("person");
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->workflow, "person");
    EXPECT_EQ(plain->query, "");
    EXPECT_DOUBLE_EQ(plain->weight, 1);
    EXPECT_DOUBLE_EQ(parse_mix_entry("building:2.5")->weight, 2.5);
}

TEST(MixEntryTest, RefusesWhatIsNotNameQueryWeight) {
    for (const char* bad :
         {"", ":3", "person:", "person:0", "person:-1", "person:x", "Person", "per son",
          "person?a=1#x", "person?a=%2F:1", "person:1e9", "person:nan"}) {
        auto e = parse_mix_entry(bad);
        ASSERT_FALSE(e.ok()) << bad;
        EXPECT_EQ(e.error().code, "invalid_mix") << bad;
    }
}

TEST(TrafficShapeTest, TheDefaultsAreValidAndEachBoundIsChecked) {
    EXPECT_TRUE(check_shape(TrafficShape{}).ok());
    auto refused = [](auto edit) {
        TrafficShape s;
        edit(s);
        core::Status st = check_shape(s);
        return !st.ok() && st.error().code == "invalid_traffic_shape";
    };
    EXPECT_TRUE(refused([](TrafficShape& s) { s.peak_jobs_per_minute = 0; }));
    EXPECT_TRUE(refused([](TrafficShape& s) { s.day_seconds = 0.5; }));
    EXPECT_TRUE(refused([](TrafficShape& s) { s.start_hour = 25; }));
    EXPECT_TRUE(refused([](TrafficShape& s) { s.night_share = 0; }));
    EXPECT_TRUE(refused([](TrafficShape& s) { s.duplicate_share = -0.1; }));
    EXPECT_TRUE(refused([](TrafficShape& s) {
        s.duplicate_share = s.near_duplicate_share = s.bad_upload_share = 0.31;
    }));
    EXPECT_TRUE(refused([](TrafficShape& s) { s.megapixels_max = 0.2; }));
    EXPECT_TRUE(refused([](TrafficShape& s) { s.megapixels_min = 3.5, s.megapixels_max = 3.9; }));
    EXPECT_TRUE(refused([](TrafficShape& s) { s.accounts = 0; }));
    EXPECT_TRUE(refused([](TrafficShape& s) { s.mix.clear(); }));
}

TEST(DailyCurveTest, QuietAtNightPeakingLateMorningAndInTheEvening) {
    EXPECT_NEAR(daily_curve(11, 0.1), 1.0, 1e-9);
    EXPECT_NEAR(daily_curve(20, 0.1), 0.1 + 0.9 * 0.8, 1e-9);
    EXPECT_LT(daily_curve(4, 0.1), 0.13);
    EXPECT_GE(daily_curve(4, 0.1), 0.1);
    EXPECT_LT(daily_curve(15.5, 0.1), daily_curve(11, 0.1));  // the afternoon dip
    EXPECT_NEAR(daily_curve(0, 0.2), daily_curve(24, 0.2), 1e-12);
    for (double h = 0; h <= 24; h += 0.25) {
        EXPECT_GE(daily_curve(h, 0.3), 0.3);
        EXPECT_LE(daily_curve(h, 0.3), 1.0);
    }
}

TEST(TrafficPlanTest, ArrivalsFollowTheCurve) {
    TrafficShape s;
    s.peak_jobs_per_minute = 600;  // 10 per second at the peak
    s.day_seconds = 2400;          // 100 s per simulated hour
    s.start_hour = 0;
    TrafficPlan plan(s);
    std::map<int, int> per_hour;
    double last = 0;
    for (;;) {
        SimJob job = plan.next();
        ASSERT_GE(job.at_s, last);
        last = job.at_s;
        if (job.at_s >= s.day_seconds) break;
        ++per_hour[static_cast<int>(plan.simulated_hour(job.at_s))];
    }
    // Expected: 1000 × curve at the peak hour, about 100 at 03:00.
    EXPECT_GT(per_hour[11], 850);
    EXPECT_LT(per_hour[11], 1150);
    EXPECT_LT(per_hour[3], 160);
    EXPECT_GT(per_hour[20], 3 * per_hour[3]);
    EXPECT_GT(per_hour[11], per_hour[15]);
}

TEST(TrafficPlanTest, TheSameSeedGivesTheSamePlanAndAnotherADifferentOne) {
    auto first_jobs = [](std::uint64_t seed) {
        TrafficShape s;
        s.seed = seed;
        TrafficPlan plan(s);
        std::vector<std::tuple<double, std::size_t, std::int64_t, int, int, int>> out;
        for (int i = 0; i < 50; ++i) {
            SimJob j = plan.next();
            out.emplace_back(j.at_s, j.mix_index, j.account, j.width, j.height,
                             static_cast<int>(j.kind));
        }
        return out;
    };
    EXPECT_EQ(first_jobs(3), first_jobs(3));
    EXPECT_NE(first_jobs(3), first_jobs(4));
}

TEST(TrafficPlanTest, MixesKindsSizesWorkflowsAndAccounts) {
    TrafficShape s;
    s.duplicate_share = 0.1;
    s.near_duplicate_share = 0.1;
    s.bad_upload_share = 0.05;
    TrafficPlan plan(s);
    std::map<SimJobKind, int> kinds;
    std::map<std::size_t, int> mix;
    std::map<std::int64_t, int> accounts;
    std::set<std::pair<int, int>> sizes;
    std::set<std::uint64_t> fresh_seeds;
    std::vector<SimJob> fresh;
    const int n = 4000;
    for (int i = 0; i < n; ++i) {
        SimJob j = plan.next();
        ++kinds[j.kind];
        ++mix[j.mix_index];
        ++accounts[j.account];
        sizes.insert({j.width, j.height});
        const double mp = j.width * static_cast<double>(j.height) / 1e6;
        EXPECT_GE(mp, 0.3);
        EXPECT_LE(mp, 8.0);
        if (s.mix[j.mix_index].query.find("upscale_factor") != std::string::npos) {
            EXPECT_LE(mp, 1);
        }
        if (j.kind == SimJobKind::Fresh) {
            EXPECT_TRUE(fresh_seeds.insert(j.image_seed).second) << "a fresh job reused its image";
            fresh.push_back(j);
        }
        if (j.kind == SimJobKind::Duplicate || j.kind == SimJobKind::NearDuplicate) {
            // The image of an earlier fresh job, from its account, for the same work.
            bool found = false;
            for (const SimJob& f : fresh) {
                if (f.image_seed == j.image_seed && f.account == j.account &&
                    f.mix_index == j.mix_index && f.width == j.width && f.height == j.height) {
                    found = true;
                    EXPECT_EQ(j.jpeg_quality == f.jpeg_quality, j.kind == SimJobKind::Duplicate);
                }
            }
            EXPECT_TRUE(found);
        }
    }
    EXPECT_NEAR(kinds[SimJobKind::Duplicate], 0.1 * n, 0.03 * n);
    EXPECT_NEAR(kinds[SimJobKind::NearDuplicate], 0.1 * n, 0.03 * n);
    EXPECT_NEAR(kinds[SimJobKind::BadUpload], 0.05 * n, 0.02 * n);
    EXPECT_EQ(mix.size(), s.mix.size());
    EXPECT_NEAR(mix[0], 0.45 * n, 0.05 * n);  // person at 45 of 100
    EXPECT_EQ(accounts.size(), static_cast<std::size_t>(s.accounts));
    EXPECT_GT(accounts[0], 3 * accounts[5]);  // a few accounts send most of the work
    EXPECT_GE(sizes.size(), 12u);             // landscape and portrait
}

TEST(TrafficPlanTest, KeepsToTheMegapixelRange) {
    TrafficShape s;
    s.megapixels_min = 1;
    s.megapixels_max = 3.2;
    TrafficPlan plan(s);
    for (int i = 0; i < 500; ++i) {
        SimJob j = plan.next();
        const double mp = j.width * static_cast<double>(j.height) / 1e6;
        EXPECT_GE(mp, 1);
        EXPECT_LE(mp, 3.2);
    }
}

}  // namespace
}  // namespace tollgate::app
