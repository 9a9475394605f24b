#include "app/config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "app/quote_command.h"

namespace tollgate::app {
namespace {

const std::string kSourceDir =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().string();

constexpr const char* kMinimal = R"(
[server]
admin_token = "t"
[pricing]
version = "v1"
rounding = "floor"
[pricing.workflows.person]
base = 10
per_megapixel = 2.0
upscale_surcharge = 5
minimum = 10
[workflows.person]
template = "workflows/p.json"
workers = ["http://127.0.0.1:8188"]
)";

TEST(ConfigTest, ShippedExampleLoads) {
    auto c = load_config(kSourceDir + "/config/tollgate.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->listen_port, 8080);
    EXPECT_EQ(c->workflows.size(), 2u);
    EXPECT_TRUE(std::filesystem::exists(c->workflows[0].template_path));
    EXPECT_EQ(c->price_book.version, "seed-2026-11");
}

TEST(ConfigTest, RelativePathsResolveAgainstTheConfigFile) {
    auto c = parse_config(kMinimal, "/etc/tollgate/tollgate.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->workflows[0].template_path, "/etc/tollgate/workflows/p.json");
    EXPECT_EQ(c->data_dir, "/etc/tollgate/data");
    EXPECT_EQ(c->admin_token, "t");
}

TEST(ConfigTest, UnknownKeyNamesFileLineAndKey) {
    std::string text = std::string(kMinimal) + "[dispatch]\nretries = 3\n";
    auto c = parse_config(text, "x.toml");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("x.toml:16"), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("dispatch.retries"), std::string::npos);
}

TEST(ConfigTest, WorkflowWithoutPriceIsRejected) {
    std::string text = std::string(kMinimal) +
                       "[workflows.building]\ntemplate = \"b.json\"\nworkers = [\"http://h:1\"]\n";
    auto c = parse_config(text, "x.toml");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("pricing.workflows.building"), std::string::npos);
}

TEST(ConfigTest, WorkersMustBeHttpUrls) {
    std::string text = kMinimal;
    text.replace(text.find("http://127.0.0.1:8188"), 21, "ftp://x");
    EXPECT_FALSE(parse_config(text, "x.toml").ok());
}

TEST(ConfigTest, ListenParses) {
    EXPECT_EQ(parse_listen("127.0.0.1:0")->port, 0);
    EXPECT_EQ(parse_listen("0.0.0.0:8080")->host, "0.0.0.0");
    EXPECT_FALSE(parse_listen("8080").ok());
    EXPECT_FALSE(parse_listen("h:70000").ok());
    EXPECT_FALSE(parse_listen("h:12x").ok());
}

TEST(QuoteCommandTest, TableShowsItemsAndTotal) {
    auto c = parse_config(kMinimal, "x.toml");
    ASSERT_TRUE(c.ok());
    pricing::QuoteRequest r;
    r.workflow = "person";
    r.width = 800;
    r.height = 600;
    auto q = pricing::quote(c->price_book, r);
    ASSERT_TRUE(q.ok());
    std::string table = format_quote_table(*q);
    EXPECT_NE(table.find("0.48 MP x 2 tokens/MP"), std::string::npos) << table;
    EXPECT_NE(table.find("-0.96"), std::string::npos);
    EXPECT_NE(format_quote_json(*q).find("\"tokens\": 10"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::app
