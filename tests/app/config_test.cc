#include "app/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/config_fixture.h"
#include "app/quote_command.h"
#include "app/statement_command.h"
#include "support/temp_dir.h"

namespace tollgate::app {
namespace {

const std::string kSourceDir =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().string();

constexpr const char* kMinimal = R"(
[server]
admin_token = "t"
[pricing]
book = "pricing.toml"
[workflows.person]
template = "workflows/p.json"
workers = ["http://127.0.0.1:8188"]
params = { model_input_size = "2.model_input_size" }
)";

// The price book these tests start from, shared with the config fixture.
constexpr const char* kBook = testing_support::kMinimalBook;

class ConfigTest : public ::testing::Test {
  protected:
    void write(const std::string& name, const std::string& text) {
        std::ofstream(dir_.file(name)) << text;
    }
    core::Result<Config> parse(const std::string& config, const std::string& book = kBook) {
        write("pricing.toml", book);
        return parse_config(config, dir_.file("tollgate.toml"));
    }
    testing::TempDir dir_;
};

TEST_F(ConfigTest, ShippedExampleLoads) {
    auto c = load_config(kSourceDir + "/config/tollgate.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->listen_port, 8080);
    EXPECT_GE(c->workflows.size(), 6u);  // person, building and four more capabilities
    for (const WorkflowConfig& w : c->workflows) {
        EXPECT_TRUE(std::filesystem::exists(w.template_path)) << w.template_path;
        EXPECT_NE(c->price_book.find(w.name), nullptr) << w.name;
    }
    EXPECT_EQ(c->price_book.version, "seed-2026-11");
    EXPECT_EQ(c->price_book_path, kSourceDir + "/config/pricing.toml");
}

TEST_F(ConfigTest, RelativePathsResolveAgainstTheConfigFile) {
    auto c = parse(kMinimal);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->workflows[0].template_path, dir_.file("workflows/p.json"));
    EXPECT_EQ(c->data_dir, dir_.file("data"));
    EXPECT_EQ(c->price_book_path, dir_.file("pricing.toml"));
    EXPECT_EQ(c->admin_token, "t");
    ASSERT_EQ(c->workflows[0].params.size(), 1u);
    EXPECT_EQ(c->workflows[0].params[0].first, "model_input_size");
    EXPECT_EQ(c->workflows[0].params[0].second, "2.model_input_size");
}

TEST_F(ConfigTest, UnknownKeyNamesFileLineAndKey) {
    std::string text = std::string(kMinimal) + "[dispatch]\nretries = 3\n";
    auto c = parse(text);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("tollgate.toml:11"), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("dispatch.retries"), std::string::npos);
}

TEST_F(ConfigTest, AccountJobsCapDefaultsTo16AndIsBounded) {
    auto defaults = parse(kMinimal);
    ASSERT_TRUE(defaults.ok()) << defaults.error().message;
    EXPECT_EQ(defaults->account_jobs_max, 16);
    auto off = parse(std::string(kMinimal) + "[dispatch]\naccount_jobs_max = 0\n");
    ASSERT_TRUE(off.ok()) << off.error().message;
    EXPECT_EQ(off->account_jobs_max, 0);
    auto negative = parse(std::string(kMinimal) + "[dispatch]\naccount_jobs_max = -1\n");
    ASSERT_FALSE(negative.ok());
    EXPECT_NE(negative.error().message.find("account_jobs_max"), std::string::npos)
        << negative.error().message;
}

TEST_F(ConfigTest, RateLimitsDefaultToNoneAndAreBounded) {
    auto defaults = parse(kMinimal);
    ASSERT_TRUE(defaults.ok()) << defaults.error().message;
    EXPECT_EQ(defaults->rate_limits, pricing::RateLimits{});
    EXPECT_EQ(defaults->rate_limit_accounts_max, 100'000);
    auto set = parse(std::string(kMinimal) +
                     "[rate_limits]\nrequests_per_minute = 120\nburst_requests = 20\n"
                     "upload_bytes_per_minute = 67108864\nburst_upload_bytes = 33554432\n"
                     "accounts_max = 5000\n");
    ASSERT_TRUE(set.ok()) << set.error().message;
    EXPECT_EQ(set->rate_limits, (pricing::RateLimits{120, 20, 67'108'864, 33'554'432}));
    EXPECT_EQ(set->rate_limit_accounts_max, 5000);
    for (const char* bad :
         {"requests_per_minute = -1", "burst_requests = 1000001", "accounts_max = 0",
          "upload_bytes_per_minute = 1099511627777", "burst_upload_bytes = \"1M\"", "rpm = 5"}) {
        auto c = parse(std::string(kMinimal) + "[rate_limits]\n" + bad + "\n");
        ASSERT_FALSE(c.ok()) << bad;
        const std::string key = std::string(bad).substr(0, std::string(bad).find(' '));
        EXPECT_NE(c.error().message.find("tollgate.toml:11: "), std::string::npos)
            << c.error().message;
        EXPECT_NE(c.error().message.find("rate_limits." + key), std::string::npos)
            << c.error().message;
    }
}

TEST_F(ConfigTest, LogsAreTextOrJson) {
    EXPECT_EQ(parse(kMinimal)->log_format, "text");
    auto with = [](const std::string& line) {
        std::string text = kMinimal;
        text.replace(text.find("admin_token"), 0, line + "\n");
        return text;
    };
    auto json = parse(with("log_format = \"json\""));
    ASSERT_TRUE(json.ok()) << json.error().message;
    EXPECT_EQ(json->log_format, "json");
    auto xml = parse(with("log_format = \"xml\""));
    ASSERT_FALSE(xml.ok());
    EXPECT_NE(xml.error().message.find("server.log_format"), std::string::npos);
}

TEST_F(ConfigTest, ReportsSayWhatTokensAndGpuTimeAreWorth) {
    auto defaults = parse(kMinimal);
    ASSERT_TRUE(defaults.ok()) << defaults.error().message;
    EXPECT_EQ(defaults->report_prices.token_value_micros, 0);
    EXPECT_EQ(defaults->calibration_tokens_per_gpu_second, 0);
    auto set = parse(std::string(kMinimal) +
                     "[reports]\ncurrency = \"EUR\"\ntoken_value_micros = 1000\n"
                     "gpu_second_cost_micros = 300\ncalibration_tokens_per_gpu_second = 7.5\n");
    ASSERT_TRUE(set.ok()) << set.error().message;
    EXPECT_EQ(set->report_prices.currency, "EUR");
    EXPECT_EQ(set->report_prices.token_value_micros, 1000);
    EXPECT_EQ(set->report_prices.gpu_second_cost_micros, 300);
    EXPECT_EQ(set->calibration_tokens_per_gpu_second, 7.5);
    EXPECT_EQ(parse(std::string(kMinimal) + "[reports]\ncalibration_tokens_per_gpu_second = 8\n")
                  ->calibration_tokens_per_gpu_second,
              8.0);
    for (const char* bad :
         {"currency = \"usd\"", "currency = \"DOLLARSXX\"", "currency = 1",
          "token_value_micros = -1", "token_value_micros = 1000000000001",
          "gpu_second_cost_micros = 1.5", "calibration_tokens_per_gpu_second = 0",
          "calibration_tokens_per_gpu_second = -2", "calibration_tokens_per_gpu_second = \"8\"",
          "calibration_tokens_per_gpu_second = 1e7", "token_value = 1"}) {
        auto c = parse(std::string(kMinimal) + "[reports]\n" + bad + "\n");
        ASSERT_FALSE(c.ok()) << bad;
        EXPECT_NE(c.error().message.find("tollgate.toml:11"), std::string::npos)
            << c.error().message;
    }
}

TEST_F(ConfigTest, UsageExportNamesItsSinksAndIsBounded) {
    auto defaults = parse(kMinimal);
    ASSERT_TRUE(defaults.ok()) << defaults.error().message;
    EXPECT_TRUE(defaults->usage_export_to.empty());
    EXPECT_EQ(defaults->usage_export_batch_max, 1000);
    auto set = parse(std::string(kMinimal) +
                     "[usage]\nexport_to = [\"postgresql://r:pw@db/usage\", "
                     "\"clickhouse://ch:8123/tollgate\"]\nexport_batch_max = 500\n"
                     "export_interval_ms = 250\nexport_backoff_max_ms = 60000\n");
    ASSERT_TRUE(set.ok()) << set.error().message;
    EXPECT_EQ(set->usage_export_to, (std::vector<std::string>{"postgresql://r:pw@db/usage",
                                                              "clickhouse://ch:8123/tollgate"}));
    EXPECT_EQ(set->usage_export_batch_max, 500);
    EXPECT_EQ(set->usage_export_interval_ms, 250);
    EXPECT_EQ(set->usage_export_backoff_max_ms, 60'000);
    for (const char* bad :
         {"export_to = \"postgresql://db/u\"", "export_to = [1]", "export_to = [\"mysql://db/u\"]",
          "export_to = [\"clickhouse://ch/a-b\"]",
          "export_to = [\"postgresql://a:x@db/u\", \"postgresql://a:y@db/u\"]",
          "export_batch_max = 0", "export_batch_max = 5001", "export_interval_ms = 1",
          "export_backoff_max_ms = 99", "export = 1"}) {
        auto c = parse(std::string(kMinimal) + "[usage]\n" + bad + "\n");
        ASSERT_FALSE(c.ok()) << bad;
        EXPECT_NE(c.error().message.find("tollgate.toml:11"), std::string::npos)
            << c.error().message;
        // A refused URL is quoted without its password.
        EXPECT_EQ(c.error().message.find(":x@"), std::string::npos) << c.error().message;
    }
}

TEST_F(ConfigTest, WorkflowWithoutPriceIsRejected) {
    std::string text = std::string(kMinimal) +
                       "[workflows.building]\ntemplate = \"b.json\"\nworkers = [\"http://h:1\"]\n";
    auto c = parse(text);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, "invalid_price_book");
    EXPECT_NE(c.error().message.find("building"), std::string::npos) << c.error().message;
}

TEST_F(ConfigTest, PricedWorkflowWithoutTemplateIsRejected) {
    std::string book = std::string(kBook) + "[workflows.ocr]\nbase = 3\nminimum = 3\n";
    auto c = parse(kMinimal, book);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, "invalid_price_book");
    EXPECT_NE(c.error().message.find("ocr"), std::string::npos) << c.error().message;
}

TEST_F(ConfigTest, BrokenBookNamesTheBookFileAndLine) {
    std::string book = kBook;
    book.replace(book.find("base = 10"), 9, "base = -1");  // line 5
    auto c = parse(kMinimal, book);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, "invalid_price_book");
    EXPECT_NE(c.error().message.find("pricing.toml:5"), std::string::npos) << c.error().message;
}

TEST_F(ConfigTest, PricingTableNeedsABook) {
    std::string text = kMinimal;
    text.replace(text.find("book = \"pricing.toml\""), 21, "version = \"v1\"");
    auto c = parse(text);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("pricing.version"), std::string::npos) << c.error().message;
}

TEST_F(ConfigTest, WorkersMustBeHttpUrls) {
    std::string text = kMinimal;
    text.replace(text.find("http://127.0.0.1:8188"), 21, "ftp://x");
    EXPECT_FALSE(parse(text).ok());
}

TEST_F(ConfigTest, ParamsMustBeStrings) {
    std::string text = kMinimal;
    text.replace(text.find("\"2.model_input_size\""), 20, "512");
    auto c = parse(text);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("params.model_input_size"), std::string::npos)
        << c.error().message;
}

TEST(ListenTest, Parses) {
    EXPECT_EQ(parse_listen("127.0.0.1:0")->port, 0);
    EXPECT_EQ(parse_listen("0.0.0.0:8080")->host, "0.0.0.0");
    EXPECT_FALSE(parse_listen("8080").ok());
    EXPECT_FALSE(parse_listen("h:70000").ok());
    EXPECT_FALSE(parse_listen("h:12x").ok());
}

TEST(QuoteCommandTest, TableShowsItemsAndTotal) {
    auto book = pricing::parse_price_book(kBook, "pricing.toml");
    ASSERT_TRUE(book.ok()) << book.error().message;
    pricing::QuoteRequest r;
    r.workflow = "person";
    r.width = 800;
    r.height = 600;
    auto q = pricing::quote(*book, r);
    ASSERT_TRUE(q.ok());
    std::string table = format_quote_table(*q);
    EXPECT_NE(table.find("0.48 MP x 2 tokens/MP"), std::string::npos) << table;
    EXPECT_NE(table.find("-0.96"), std::string::npos);
    EXPECT_NE(table.find("total"), std::string::npos);
    EXPECT_NE(format_quote_json(*q).find("\"tokens\": 10"), std::string::npos);
    EXPECT_NE(format_quote_json(*q).find("\"items\""), std::string::npos);
}

TEST(StatementTest, CsvRowsQuoteWhatNeedsQuoting) {
    EXPECT_EQ(statement_header(),
              "entry_id,time,kind,tokens,balance_after,job_id,grant_id,reason\r\n");
    ledger::Entry e;
    e.id = 7;
    e.kind = "hold";
    e.tokens = core::Tokens(10);
    e.balance_after = 40;
    e.hold_key = "job_1";
    e.reason = "quote under price book \"seed\", v2";
    e.created_ms = (core::days_from_civil({2026, 11, 28}) * 86'400 + 12 * 3600) * 1000;
    EXPECT_EQ(statement_row(e, core::TimeZone::utc()),
              "7,2026-11-28T12:00:00+00:00,hold,10,40,job_1,,\"quote under price book "
              "\"\"seed\"\", v2\"\r\n");
    e.grant_id = 3;
    e.reason = "plain";
    EXPECT_EQ(statement_row(e, core::TimeZone::utc()),
              "7,2026-11-28T12:00:00+00:00,hold,10,40,job_1,3,plain\r\n");
}

}  // namespace
}  // namespace tollgate::app
