// Tests for reading the [pricing] table: the happy path, the conversion of
// TOML numbers to micro-tokens, and that every rejection names file and line.
#include "pricing/price_book.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace tollgate::pricing {
namespace {

// Line numbers matter in this fixture: the tests below refer to them.
constexpr std::string_view kSeedConfig = R"([server]
listen = "127.0.0.1:8080"
threads = 2

[pricing]
version = "seed-2026-11"
rounding = "floor"

[pricing.workflows.person]
base = 10
per_megapixel = 2.0
upscale_surcharge = 5
minimum = 10

[pricing.workflows.building]
base = 15
per_megapixel = 2.0
upscale_surcharge = 5
minimum = 10

[workflows.person]
template = "workflows/ddcolor_person.api.json"
workers = ["http://127.0.0.1:8188"]
)";

// A book with one workflow whose four coefficient lines are given; the
// workflow table header is on line 4 and `body` starts on line 5.
std::string one_workflow(std::string_view body, std::string_view rounding = "floor") {
    return "[pricing]\nversion = \"v1\"\nrounding = \"" + std::string(rounding) +
           "\"\n[pricing.workflows.person]\n" + std::string(body);
}

std::string error_message(std::string_view text) {
    auto book = parse_price_book(text, "cfg.toml");
    if (book.ok()) return "<parsed without error>";
    EXPECT_EQ(book.error().code, "invalid_price_book");
    return book.error().message;
}

TEST(PriceBookTest, ParsesSeedConfigAndIgnoresOtherTables) {
    auto book = parse_price_book(kSeedConfig, "cfg.toml");
    ASSERT_TRUE(book.ok()) << book.error().message;
    EXPECT_EQ(book->version, "seed-2026-11");
    EXPECT_EQ(book->rounding, Rounding::Floor);
    ASSERT_EQ(book->workflows.size(), 2u);
    const WorkflowPrice* person = book->find("person");
    ASSERT_NE(person, nullptr);
    EXPECT_EQ(person->name, "person");
    EXPECT_EQ(person->base_micro, 10'000'000);
    EXPECT_EQ(person->per_megapixel_micro, 2'000'000);
    EXPECT_EQ(person->upscale_surcharge_micro, 5'000'000);
    EXPECT_EQ(person->minimum_tokens, 10);
    const WorkflowPrice* building = book->find("building");
    ASSERT_NE(building, nullptr);
    EXPECT_EQ(building->base_micro, 15'000'000);
    EXPECT_EQ(book->find("landscape"), nullptr);
    EXPECT_EQ(book->find(""), nullptr);
}

TEST(PriceBookTest, ShippedExampleConfigIsValid) {
    // The example configuration lives two folders above this test's source.
    const auto path =
        std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "config" / "tollgate.toml";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "no example config at " << path;
    auto book = load_price_book(path.string());
    ASSERT_TRUE(book.ok()) << book.error().message;
    EXPECT_NE(book->find("person"), nullptr);
    EXPECT_NE(book->find("building"), nullptr);
}

TEST(PriceBookTest, ConvertsFractionalCoefficientsExactly) {
    auto book = parse_price_book(one_workflow("base = 0.1\nper_megapixel = 4.1472\n"
                                              "upscale_surcharge = 0.000001\nminimum = 0\n"),
                                 "cfg.toml");
    ASSERT_TRUE(book.ok()) << book.error().message;
    const WorkflowPrice* p = book->find("person");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->base_micro, 100'000);
    EXPECT_EQ(p->per_megapixel_micro, 4'147'200);
    EXPECT_EQ(p->upscale_surcharge_micro, 1);
    EXPECT_EQ(p->minimum_tokens, 0);
}

TEST(PriceBookTest, AcceptsBoundsExactly) {
    auto book = parse_price_book(one_workflow("base = 1000000\nper_megapixel = 1000000.0\n"
                                              "upscale_surcharge = 0\nminimum = 1000000000\n"),
                                 "cfg.toml");
    ASSERT_TRUE(book.ok()) << book.error().message;
    EXPECT_EQ(book->find("person")->base_micro, 1'000'000'000'000);
    EXPECT_EQ(book->find("person")->per_megapixel_micro, 1'000'000'000'000);
}

TEST(PriceBookTest, ReadsEveryRoundingRule) {
    for (auto [text, rule] :
         {std::pair{"floor", Rounding::Floor}, std::pair{"ceil", Rounding::Ceil},
          std::pair{"nearest", Rounding::Nearest}}) {
        auto book = parse_price_book(
            one_workflow("base = 1\nper_megapixel = 1\nupscale_surcharge = 1\nminimum = 1\n", text),
            "cfg.toml");
        ASSERT_TRUE(book.ok()) << book.error().message;
        EXPECT_EQ(book->rounding, rule) << text;
    }
}

// Each case: the document, and the exact message it must produce.
struct BadBook {
    const char* name;
    std::string text;
    std::string message;
};

void PrintTo(const BadBook& book, std::ostream* os) { *os << book.name; }

class PriceBookErrorTest : public ::testing::TestWithParam<BadBook> {};

TEST_P(PriceBookErrorTest, NamesFileLineAndProblem) {
    EXPECT_EQ(error_message(GetParam().text), GetParam().message);
}

const std::string kGood3 = "per_megapixel = 2.0\nupscale_surcharge = 5\nminimum = 10\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, PriceBookErrorTest,
    ::testing::Values(
        BadBook{"NegativeBase", one_workflow("base = -1\n" + kGood3),
                "cfg.toml:5: pricing.workflows.person.base must be a non-negative number"},
        BadBook{"NegativeFloat",
                one_workflow("base = 1\nper_megapixel = -0.5\nupscale_surcharge = 5\n"
                             "minimum = 1\n"),
                "cfg.toml:6: pricing.workflows.person.per_megapixel must be a non-negative number"},
        BadBook{"StringBase", one_workflow("base = \"10\"\n" + kGood3),
                "cfg.toml:5: pricing.workflows.person.base must be a non-negative number"},
        BadBook{"NanBase", one_workflow("base = nan\n" + kGood3),
                "cfg.toml:5: pricing.workflows.person.base must be a finite number"},
        BadBook{"InfBase", one_workflow("base = inf\n" + kGood3),
                "cfg.toml:5: pricing.workflows.person.base must be a finite number"},
        BadBook{"HugeBase", one_workflow("base = 1000001\n" + kGood3),
                "cfg.toml:5: pricing.workflows.person.base must be at most 1000000 tokens"},
        BadBook{"HugeFloatRate",
                one_workflow("base = 1\nper_megapixel = 1e7\nupscale_surcharge = 5\nminimum = 1\n"),
                "cfg.toml:6: pricing.workflows.person.per_megapixel must be at most 1000000 "
                "tokens"},
        BadBook{"TooPrecise",
                one_workflow("base = 1\nper_megapixel = 0.0000001\nupscale_surcharge = 5\n"
                             "minimum = 1\n"),
                "cfg.toml:6: pricing.workflows.person.per_megapixel has more than 6 decimal "
                "places"},
        BadBook{"FractionalMinimum",
                one_workflow("base = 1\nper_megapixel = 2\nupscale_surcharge = 5\nminimum = 1.5\n"),
                "cfg.toml:8: pricing.workflows.person.minimum must be a non-negative integer"},
        BadBook{"NegativeMinimum",
                one_workflow("base = 1\nper_megapixel = 2\nupscale_surcharge = 5\nminimum = -1\n"),
                "cfg.toml:8: pricing.workflows.person.minimum must be a non-negative integer"},
        BadBook{"HugeMinimum",
                one_workflow("base = 1\nper_megapixel = 2\nupscale_surcharge = 5\n"
                             "minimum = 1000000001\n"),
                "cfg.toml:8: pricing.workflows.person.minimum must be at most 1000000000 tokens"},
        BadBook{"MissingKey", one_workflow("base = 1\nper_megapixel = 2\nupscale_surcharge = 5\n"),
                "cfg.toml:4: pricing.workflows.person.minimum is missing"},
        BadBook{"UnknownWorkflowKey", one_workflow("base = 1\n" + kGood3 + "bsae = 2\n"),
                "cfg.toml:9: unknown key pricing.workflows.person.bsae (expected base, "
                "per_megapixel, upscale_surcharge, minimum)"},
        BadBook{"UnknownPricingKey", "[pricing]\nversion = \"v1\"\nroundng = \"floor\"\n",
                "cfg.toml:3: unknown key pricing.roundng (expected version, rounding, workflows)"},
        BadBook{"BadRounding", one_workflow("base = 1\n" + kGood3, "up"),
                "cfg.toml:3: pricing.rounding must be one of \"floor\", \"ceil\", \"nearest\""},
        BadBook{"RoundingIsCaseSensitive", one_workflow("base = 1\n" + kGood3, "Floor"),
                "cfg.toml:3: pricing.rounding must be one of \"floor\", \"ceil\", \"nearest\""},
        BadBook{"MissingRounding", "[pricing]\nversion = \"v1\"\n",
                "cfg.toml:1: pricing.rounding is missing"},
        BadBook{"EmptyVersion", "[pricing]\nversion = \"\"\nrounding = \"floor\"\n",
                "cfg.toml:2: pricing.version must be a non-empty string of at most 128 bytes"},
        BadBook{"NumericVersion", "[pricing]\nversion = 3\nrounding = \"floor\"\n",
                "cfg.toml:2: pricing.version must be a non-empty string of at most 128 bytes"},
        BadBook{"MissingVersion", "\n[pricing]\nrounding = \"floor\"\n",
                "cfg.toml:2: pricing.version is missing"},
        BadBook{"MissingWorkflows", "[pricing]\nversion = \"v1\"\nrounding = \"floor\"\n",
                "cfg.toml:1: pricing.workflows is missing"},
        BadBook{"EmptyWorkflows",
                "[pricing]\nversion = \"v1\"\nrounding = \"floor\"\n[pricing.workflows]\n",
                "cfg.toml:4: pricing.workflows must define at least one workflow"},
        BadBook{"WorkflowNotTable",
                "[pricing]\nversion = \"v1\"\nrounding = \"floor\"\n[pricing.workflows]\n"
                "person = 3\n",
                "cfg.toml:5: pricing.workflows.person must be a table"},
        BadBook{"BadWorkflowName",
                "[pricing]\nversion = \"v1\"\nrounding = \"floor\"\n"
                "[pricing.workflows.\"a b\"]\nbase = 1\n",
                "cfg.toml:4: workflow name \"a b\" must be 1-64 characters of letters, digits, "
                "'_' or '-'"},
        BadBook{"PricingNotTable", "pricing = 3\n", "cfg.toml:1: pricing must be a table"},
        BadBook{"NoPricing", "[server]\nthreads = 2\n", "cfg.toml: [pricing] table is missing"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PriceBookTest, SyntaxErrorNamesFileAndLine) {
    const std::string message = error_message("[pricing]\nversion = \"v1\"\nrounding = = 3\n");
    EXPECT_EQ(message.rfind("cfg.toml:3: ", 0), 0u) << message;
}

TEST(PriceBookTest, LoadReadsFileAndNamesItInErrors) {
    const std::string dir = ::testing::TempDir();
    const std::string good = dir + "/price_book_test_good.toml";
    const std::string bad = dir + "/price_book_test_bad.toml";
    {
        std::ofstream(good) << kSeedConfig;
        std::ofstream(bad) << one_workflow("base = -1\n" + kGood3);
    }
    auto book = load_price_book(good);
    ASSERT_TRUE(book.ok()) << book.error().message;
    EXPECT_EQ(book->version, "seed-2026-11");

    auto failed = load_price_book(bad);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, "invalid_price_book");
    EXPECT_EQ(failed.error().message,
              bad + ":5: pricing.workflows.person.base must be a non-negative number");

    auto missing = load_price_book(dir + "/price_book_test_missing.toml");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, "invalid_price_book");
    EXPECT_NE(missing.error().message.find("price_book_test_missing.toml"), std::string::npos);
    std::remove(good.c_str());
    std::remove(bad.c_str());
}

TEST(RoundingTest, ParsesAndPrintsEveryRule) {
    for (Rounding r : {Rounding::Floor, Rounding::Ceil, Rounding::Nearest}) {
        EXPECT_EQ(parse_rounding(to_string(r)), r);
    }
    EXPECT_EQ(to_string(Rounding::Nearest), "nearest");
    EXPECT_EQ(parse_rounding(""), std::nullopt);
    EXPECT_EQ(parse_rounding("round"), std::nullopt);
    EXPECT_EQ(parse_rounding("CEIL"), std::nullopt);
    EXPECT_EQ(parse_rounding("floor "), std::nullopt);
}

}  // namespace
}  // namespace tollgate::pricing
