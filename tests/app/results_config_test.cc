// [results] and [webhooks], and the secrets kept in the data directory.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "app/config.h"
#include "app/config_fixture.h"
#include "app/secrets.h"
#include "support/temp_dir.h"

namespace tollgate::app {
namespace {

class ResultsConfigTest : public testing_support::ConfigTableTest {};

TEST_F(ResultsConfigTest, DefaultsLeaveTheDirAndSecretsToTheDataDir) {
    auto c = parse("");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->results_dir, "");
    EXPECT_EQ(c->result_url_ttl_s, 3600);
    EXPECT_EQ(c->result_url_secret, "");
    EXPECT_EQ(c->webhook_attempts_max, 8);
    EXPECT_EQ(c->webhook_backoff_initial_ms, 1000);
    EXPECT_EQ(c->webhook_backoff_max_ms, 600'000);
    EXPECT_EQ(c->webhook_timeout_ms, 10'000);
    EXPECT_EQ(c->webhook_secret, "");
    EXPECT_FALSE(c->webhook_allow_private_addresses);
}

TEST_F(ResultsConfigTest, ReadsEveryKeyAndResolvesTheDir) {
    auto c = parse(R"(
[results]
dir = "out/results"
url_ttl_s = 600
url_secret = "0123456789abcdef0123"
[webhooks]
attempts_max = 3
backoff_initial_ms = 50
backoff_max_ms = 400
timeout_ms = 2000
secret = "fedcba9876543210fedc"
allow_private_addresses = true
)");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->results_dir, dir_.file("out/results"));
    EXPECT_EQ(c->result_url_ttl_s, 600);
    EXPECT_EQ(c->result_url_secret, "0123456789abcdef0123");
    EXPECT_EQ(c->webhook_attempts_max, 3);
    EXPECT_EQ(c->webhook_backoff_initial_ms, 50);
    EXPECT_EQ(c->webhook_backoff_max_ms, 400);
    EXPECT_EQ(c->webhook_timeout_ms, 2000);
    EXPECT_EQ(c->webhook_secret, "fedcba9876543210fedc");
    EXPECT_TRUE(c->webhook_allow_private_addresses);
}

TEST_F(ResultsConfigTest, OutOfRangeValuesAreRefusedByName) {
    for (const char* bad : {"[results]\nurl_ttl_s = 0\n", "[results]\nurl_ttl_s = 999999999\n",
                            "[results]\nurl_secret = \"short\"\n", "[results]\nlinks = 1\n",
                            "[webhooks]\nattempts_max = 0\n", "[webhooks]\nattempts_max = 1000\n",
                            "[webhooks]\nbackoff_initial_ms = 5000\nbackoff_max_ms = 1000\n",
                            "[webhooks]\ntimeout_ms = 3600000\n",
                            "[webhooks]\nallow_private_addresses = \"yes\"\n"}) {
        auto c = parse(bad);
        ASSERT_FALSE(c.ok()) << bad;
        EXPECT_EQ(c.error().code, "invalid_config");
        EXPECT_NE(c.error().message.find("tollgate.toml:"), std::string::npos) << c.error().message;
    }
}

TEST(SecretsTest, ASecretIsMadeOnceWithMode0600AndKept) {
    testing::TempDir dir;
    const std::string path = dir.file("result_url_secret");
    auto first = load_or_create_secret(path);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(first->size(), 64u);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto again = load_or_create_secret(path);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *first);
    testing::TempDir other;
    EXPECT_NE(load_or_create_secret(other.file("result_url_secret")).value(), *first);
    // Nothing but the secret is left behind.
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        (void)entry;
        ++files;
    }
    EXPECT_EQ(files, 1);
}

TEST(SecretsTest, ADamagedSecretFileIsRefused) {
    testing::TempDir dir;
    std::ofstream(dir.file("s")) << "not hex";
    auto s = load_or_create_secret(dir.file("s"));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "invalid_secret_file");
}

}  // namespace
}  // namespace tollgate::app
