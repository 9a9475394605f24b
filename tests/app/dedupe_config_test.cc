// [dedupe]: its defaults, every key, and the errors that name a bad value.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/config.h"
#include "app/config_fixture.h"
#include "support/temp_dir.h"

namespace tollgate::app {
namespace {

class DedupeConfigTest : public testing_support::ConfigTableTest {};

TEST_F(DedupeConfigTest, LeftOutItReusesExactAndFlagsNearDuplicatesOfTheAccountForAWeek) {
    auto c = parse("");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->dedupe.policy, jobs::DedupePolicy::Reuse);
    EXPECT_EQ(c->dedupe.near_policy, jobs::NearDedupePolicy::Flag);
    EXPECT_EQ(c->dedupe.near_distance_max, 6);
    EXPECT_EQ(c->dedupe.window_s, 7 * 86'400);
    EXPECT_EQ(c->dedupe.scope, jobs::DedupeScope::Account);
}

TEST_F(DedupeConfigTest, ReadsEveryKey) {
    auto c = parse(
        "[dedupe]\npolicy = \"reject\"\nnear_policy = \"reuse\"\nnear_distance_max = 3\n"
        "window_s = 3600\nscope = \"tenant\"\n");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->dedupe.policy, jobs::DedupePolicy::Reject);
    EXPECT_EQ(c->dedupe.near_policy, jobs::NearDedupePolicy::Reuse);
    EXPECT_EQ(c->dedupe.near_distance_max, 3);
    EXPECT_EQ(c->dedupe.window_s, 3600);
    EXPECT_EQ(c->dedupe.scope, jobs::DedupeScope::Tenant);
    auto off = parse("[dedupe]\npolicy = \"allow\"\nnear_policy = \"allow\"\n");
    ASSERT_TRUE(off.ok()) << off.error().message;
    EXPECT_FALSE(off->dedupe.enabled());
}

TEST_F(DedupeConfigTest, BadValuesAreRefusedByNameAndLine) {
    const std::pair<const char*, const char*> cases[] = {
        {"[dedupe]\npolicy = \"flag\"\n", "dedupe.policy must be one of"},
        {"[dedupe]\nnear_policy = \"maybe\"\n", "dedupe.near_policy must be one of"},
        {"[dedupe]\nscope = \"global\"\n", "dedupe.scope must be one of"},
        {"[dedupe]\npolicy = 1\n", "dedupe.policy must be a string"},
        {"[dedupe]\nwindow_s = 0\n", "dedupe.window_s must be an integer from 1 to 7776000"},
        {"[dedupe]\nwindow_s = 7776001\n", "dedupe.window_s"},
        {"[dedupe]\nnear_distance_max = 17\n", "dedupe.near_distance_max must be an integer"},
        {"[dedupe]\nnear_distance_max = -1\n", "dedupe.near_distance_max"},
        {"[dedupe]\nwindow = 60\n", "unknown key dedupe.window"},
    };
    for (const auto& [text, expected] : cases) {
        auto c = parse(text);
        ASSERT_FALSE(c.ok()) << text;
        EXPECT_EQ(c.error().code, "invalid_config");
        EXPECT_NE(c.error().message.find(expected), std::string::npos) << c.error().message;
        EXPECT_NE(c.error().message.find("tollgate.toml:8"), std::string::npos)
            << c.error().message;
    }
}

}  // namespace
}  // namespace tollgate::app
