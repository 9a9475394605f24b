#include "core/ids.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <set>
#include <string>
#include <thread>

namespace tollgate::core {
namespace {

std::uint64_t now_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

TEST(IdsTest, NewIdIsPrefixThenCreationTimeThenRandomBits) {
    const std::uint64_t before = now_ms();
    const std::string id = new_id("job");
    const std::uint64_t after = now_ms();
    ASSERT_EQ(id.size(), 4u + 24u);
    EXPECT_EQ(id.substr(0, 4), "job_");
    for (char c : id.substr(4)) EXPECT_TRUE(std::isxdigit(c) && !std::isupper(c)) << id;
    const std::uint64_t stamp = std::stoull(id.substr(4, 12), nullptr, 16);
    EXPECT_GE(stamp, before);
    EXPECT_LE(stamp, after);
}

TEST(IdsTest, NewIdsAreUniqueAndSortByCreationTime) {
    std::set<std::string> seen;
    std::string previous_time;
    for (int i = 0; i < 20'000; ++i) {
        std::string id = new_id("hold");
        EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
        std::string time = id.substr(5, 12);
        EXPECT_GE(time, previous_time);
        previous_time = time;
    }
    const std::string first = new_id("a");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_LT(first, new_id("a"));
}

TEST(IdsTest, UuidV4HasItsVersionAndVariant) {
    const std::string u = uuid_v4();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[8], '-');
    EXPECT_EQ(u[14], '4');
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
    EXPECT_NE(uuid_v4(), u);
}

}  // namespace
}  // namespace tollgate::core
