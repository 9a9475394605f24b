// Tests for quote arithmetic: the seed's worked examples, a table of cases
// written as data, properties over random sizes, and the decimal helpers.
#include "pricing/quote.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/limits.h"
#include "pricing/price_book.h"

namespace tollgate::pricing {
namespace {

// person and building are the seed article's prices; premium has fractional
// coefficients and a minimum that bites; odd charges one micro-token per
// megapixel to expose truncation; free costs nothing at all.
constexpr std::string_view kBook = R"(
[pricing]
version = "test-1"
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

[pricing.workflows.premium]
base = 0.5
per_megapixel = 3.25
upscale_surcharge = 1.5
minimum = 3

[pricing.workflows.odd]
base = 1
per_megapixel = 0.000001
upscale_surcharge = 0
minimum = 0

[pricing.workflows.free]
base = 0
per_megapixel = 0
upscale_surcharge = 0
minimum = 0
)";

const PriceBook& book() {
    static const PriceBook parsed = [] {
        auto result = parse_price_book(kBook, "quote_test");
        TOLLGATE_ASSERT(result.ok());
        return std::move(result).value();
    }();
    return parsed;
}

Quote must_quote(QuoteRequest request) {
    auto result = quote(book(), request);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? std::move(result).value() : Quote{};
}

// "rule=amount" for each item, space separated: the shape the table expects.
std::string items_of(const Quote& q) {
    std::string out;
    for (const QuoteItem& item : q.items) {
        if (!out.empty()) out += ' ';
        out += item.rule + "=" + format_micro_tokens(item.micro_tokens);
    }
    return out;
}

std::int64_t items_sum(const Quote& q) {
    std::int64_t sum = 0;
    for (const QuoteItem& item : q.items) sum += item.micro_tokens;
    return sum;
}

TEST(QuoteTest, SeedPortraitFloorsToTen) {
    Quote q = must_quote({"person", 800, 600, 1000, std::nullopt});
    EXPECT_EQ(q.tokens, core::Tokens(10));
    EXPECT_EQ(q.rounding, Rounding::Floor);
    EXPECT_EQ(q.workflow, "person");
    EXPECT_EQ(q.book_version, "test-1");
    EXPECT_EQ(q.width, 800);
    EXPECT_EQ(q.height, 600);
    EXPECT_EQ(q.upscale_factor_milli, 1000);
    ASSERT_EQ(q.items.size(), 3u);
    EXPECT_EQ(q.items[0].rule, "base");
    EXPECT_EQ(q.items[0].micro_tokens, 10'000'000);
    EXPECT_EQ(q.items[1].rule, "per_megapixel");
    EXPECT_EQ(q.items[1].detail, "0.48 MP x 2 tokens/MP");
    EXPECT_EQ(q.items[1].micro_tokens, 960'000);
    EXPECT_EQ(q.items[2].rule, "rounding");
    EXPECT_EQ(q.items[2].detail, "floor 10.96 → 10");
    EXPECT_EQ(q.items[2].micro_tokens, -960'000);
}

TEST(QuoteTest, SeedPortraitNearestIsEleven) {
    Quote q = must_quote({"person", 800, 600, 1000, Rounding::Nearest});
    EXPECT_EQ(q.tokens, core::Tokens(11));
    EXPECT_EQ(q.rounding, Rounding::Nearest);
    ASSERT_EQ(q.items.size(), 3u);
    EXPECT_EQ(q.items[2].detail, "nearest 10.96 → 11");
    EXPECT_EQ(q.items[2].micro_tokens, 40'000);
}

TEST(QuoteTest, SeedBuildingWithUpscaleFloorsToTwentyFour) {
    Quote q = must_quote({"building", 1920, 1080, 2000, std::nullopt});
    EXPECT_EQ(q.tokens, core::Tokens(24));
    ASSERT_EQ(q.items.size(), 4u);
    EXPECT_EQ(q.items[1].detail, "2.0736 MP x 2 tokens/MP");
    EXPECT_EQ(q.items[1].micro_tokens, 4'147'200);
    EXPECT_EQ(q.items[2].rule, "upscale_surcharge");
    EXPECT_EQ(q.items[2].detail, "upscale 2x");
    EXPECT_EQ(q.items[2].micro_tokens, 5'000'000);
    EXPECT_EQ(q.items[3].detail, "floor 24.1472 → 24");
}

TEST(QuoteTest, MinimumItemNamesTheMinimum) {
    Quote q = must_quote({"premium", 100, 100, 1000, std::nullopt});
    EXPECT_EQ(q.tokens, core::Tokens(3));
    ASSERT_EQ(q.items.size(), 4u);
    EXPECT_EQ(q.items[3].rule, "minimum");
    EXPECT_EQ(q.items[3].detail, "minimum 3 tokens");
    EXPECT_EQ(q.items[3].micro_tokens, 3'000'000);
}

// The table: one row per case, written as data.
struct Case {
    const char* name;
    const char* workflow;
    std::int64_t width;
    std::int64_t height;
    std::int64_t upscale_milli;
    std::optional<Rounding> rounding;
    std::int64_t tokens;
    const char* items;
};

constexpr auto F = Rounding::Floor;
constexpr auto C = Rounding::Ceil;
constexpr auto N = Rounding::Nearest;

const Case kCases[] = {
    {"PortraitFloor", "person", 800, 600, 1000, F, 10, "base=10 per_megapixel=0.96 rounding=-0.96"},
    {"PortraitBookRule", "person", 800, 600, 1000, std::nullopt, 10,
     "base=10 per_megapixel=0.96 rounding=-0.96"},
    {"PortraitCeil", "person", 800, 600, 1000, C, 11, "base=10 per_megapixel=0.96 rounding=0.04"},
    {"PortraitNearest", "person", 800, 600, 1000, N, 11,
     "base=10 per_megapixel=0.96 rounding=0.04"},
    {"PortraitUpscaleOnePointFive", "person", 800, 600, 1500, F, 15,
     "base=10 per_megapixel=0.96 upscale_surcharge=5 rounding=-0.96"},
    {"PortraitUpscaleOneIsFree", "person", 800, 600, 1000, C, 11,
     "base=10 per_megapixel=0.96 rounding=0.04"},
    {"PortraitUpscaleBarelyAboveOne", "person", 800, 600, 1001, F, 15,
     "base=10 per_megapixel=0.96 upscale_surcharge=5 rounding=-0.96"},
    {"BuildingUpscaleFloor", "building", 1920, 1080, 2000, F, 24,
     "base=15 per_megapixel=4.1472 upscale_surcharge=5 rounding=-0.1472"},
    {"BuildingUpscaleCeil", "building", 1920, 1080, 2000, C, 25,
     "base=15 per_megapixel=4.1472 upscale_surcharge=5 rounding=0.8528"},
    {"BuildingUpscaleNearest", "building", 1920, 1080, 2000, N, 24,
     "base=15 per_megapixel=4.1472 upscale_surcharge=5 rounding=-0.1472"},
    {"BuildingNoUpscale", "building", 1920, 1080, 1000, F, 19,
     "base=15 per_megapixel=4.1472 rounding=-0.1472"},
    {"ExactMegapixelNeedsNoRounding", "person", 1000, 1000, 1000, C, 12, "base=10 per_megapixel=2"},
    {"OnePixelFloor", "person", 1, 1, 1000, F, 10,
     "base=10 per_megapixel=0.000002 rounding=-0.000002"},
    {"OnePixelCeil", "person", 1, 1, 1000, C, 11,
     "base=10 per_megapixel=0.000002 rounding=0.999998"},
    {"NearestHalfRoundsUp", "person", 1000, 250, 1000, N, 11,
     "base=10 per_megapixel=0.5 rounding=0.5"},
    {"NearestJustBelowHalf", "person", 1000, 249, 1000, N, 10,
     "base=10 per_megapixel=0.498 rounding=-0.498"},
    {"LongThinImage", "person", 30000, 1, 1000, F, 10, "base=10 per_megapixel=0.06 rounding=-0.06"},
    {"HundredMegapixels", "person", 10000, 10000, 1000, F, 210, "base=10 per_megapixel=200"},
    {"LargestSideNearlyMaxPixels", "person", 30000, 3333, 1000, F, 209,
     "base=10 per_megapixel=199.98 rounding=-0.98"},
    {"LargestUpscaledNearest", "building", 30000, 3333, 8000, N, 220,
     "base=15 per_megapixel=199.98 upscale_surcharge=5 rounding=0.02"},
    {"TwelveMegapixels", "building", 4000, 3000, 1000, F, 39, "base=15 per_megapixel=24"},
    {"TwelveMegapixelsEightfold", "building", 4000, 3000, 8000, C, 44,
     "base=15 per_megapixel=24 upscale_surcharge=5"},
    {"FullHdPortraitNearest", "person", 1920, 1080, 1000, N, 14,
     "base=10 per_megapixel=4.1472 rounding=-0.1472"},
    {"MinimumRaisesFloor", "premium", 100, 100, 1000, F, 3,
     "base=0.5 per_megapixel=0.0325 rounding=-0.5325 minimum=3"},
    {"MinimumRaisesCeil", "premium", 100, 100, 1000, C, 3,
     "base=0.5 per_megapixel=0.0325 rounding=0.4675 minimum=2"},
    {"MinimumEqualAddsNoItem", "premium", 1000, 1000, 1000, F, 3,
     "base=0.5 per_megapixel=3.25 rounding=-0.75"},
    {"PremiumNearest", "premium", 1000, 1000, 1000, N, 4,
     "base=0.5 per_megapixel=3.25 rounding=0.25"},
    {"PremiumUpscaleFloor", "premium", 800, 600, 2000, F, 3,
     "base=0.5 per_megapixel=1.56 upscale_surcharge=1.5 rounding=-0.56"},
    {"PremiumUpscaleCeil", "premium", 800, 600, 1001, C, 4,
     "base=0.5 per_megapixel=1.56 upscale_surcharge=1.5 rounding=0.44"},
    {"SubMicroPixelTermTruncates", "odd", 999, 1001, 1000, C, 1, "base=1 per_megapixel=0"},
    {"OneMicroTokenStillRoundsUp", "odd", 1000, 1000, 1000, C, 2,
     "base=1 per_megapixel=0.000001 rounding=0.999999"},
    {"FreeWorkflowCostsNothing", "free", 5000, 4000, 4000, N, 0,
     "base=0 per_megapixel=0 upscale_surcharge=0"},
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class QuoteTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(QuoteTableTest, MatchesTotalAndItems) {
    const Case& c = GetParam();
    Quote q = must_quote({c.workflow, c.width, c.height, c.upscale_milli, c.rounding});
    EXPECT_EQ(q.tokens.value, c.tokens);
    EXPECT_EQ(items_of(q), c.items);
    EXPECT_EQ(items_sum(q), q.tokens.value * core::kMicroTokensPerToken);
}

INSTANTIATE_TEST_SUITE_P(Cases, QuoteTableTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(QuoteTest, UnknownWorkflowIsAnError) {
    auto q = quote(book(), {"landscape", 800, 600, 1000, std::nullopt});
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error().code, "unknown_workflow");
    EXPECT_NE(q.error().message.find("landscape"), std::string::npos);
    EXPECT_EQ(quote(book(), {"", 800, 600, 1000, std::nullopt}).error().code, "unknown_workflow");
    EXPECT_EQ(quote(book(), {"Person", 800, 600, 1000, std::nullopt}).error().code,
              "unknown_workflow");
}

TEST(QuoteTest, RejectsBadDimensions) {
    using core::limits::kImageSideMax;
    const std::pair<std::int64_t, std::int64_t> bad[] = {{0, 600},
                                                         {800, 0},
                                                         {0, 0},
                                                         {-800, 600},
                                                         {800, -600},
                                                         {kImageSideMax + 1, 1},
                                                         {1, kImageSideMax + 1},
                                                         {10001, 10000},
                                                         {kImageSideMax, kImageSideMax},
                                                         {INT64_MAX, INT64_MAX},
                                                         {INT64_MIN, 1}};
    for (auto [w, h] : bad) {
        auto q = quote(book(), {"person", w, h, 1000, std::nullopt});
        ASSERT_FALSE(q.ok()) << w << "x" << h;
        EXPECT_EQ(q.error().code, "invalid_dimensions") << w << "x" << h;
    }
    // The limits themselves are allowed.
    EXPECT_TRUE(quote(book(), {"person", kImageSideMax, 1, 1000, std::nullopt}).ok());
    EXPECT_TRUE(quote(book(), {"person", 10000, 10000, 1000, std::nullopt}).ok());
}

TEST(QuoteTest, RejectsUpscaleOutsideRange) {
    for (std::int64_t f :
         {std::int64_t{0}, std::int64_t{999}, std::int64_t{8001}, std::int64_t{-2000}}) {
        auto q = quote(book(), {"person", 800, 600, f, std::nullopt});
        ASSERT_FALSE(q.ok()) << f;
        EXPECT_EQ(q.error().code, "invalid_upscale_factor");
    }
    EXPECT_TRUE(quote(book(), {"person", 800, 600, 8000, std::nullopt}).ok());
}

// Properties over many random sizes, for every workflow, rounding and a few
// upscale factors. The seed is fixed, so a failure replays exactly.
TEST(QuotePropertyTest, ItemsSumMinimumHoldsAndPriceGrowsWithPixels) {
    std::mt19937_64 rng(20261101);
    const auto random_size = [&] {
        std::uniform_int_distribution<std::int64_t> side(1, core::limits::kImageSideMax);
        const std::int64_t w = side(rng);
        const std::int64_t h_max =
            std::min(core::limits::kImageSideMax, core::limits::kImagePixelsMax / w);
        return std::pair{w, std::uniform_int_distribution<std::int64_t>(1, h_max)(rng)};
    };
    for (const auto& [name, price] : book().workflows) {
        for (Rounding r : {Rounding::Floor, Rounding::Ceil, Rounding::Nearest}) {
            for (std::int64_t f : {1000, 1500, 8000}) {
                std::vector<std::pair<std::int64_t, std::int64_t>> sizes(400);
                for (auto& s : sizes) s = random_size();
                std::sort(sizes.begin(), sizes.end(),
                          [](auto a, auto b) { return a.first * a.second < b.first * b.second; });
                std::int64_t previous = -1;
                for (auto [w, h] : sizes) {
                    Quote q = must_quote({name, w, h, f, r});
                    SCOPED_TRACE(name + " " + std::to_string(w) + "x" + std::to_string(h));
                    EXPECT_EQ(items_sum(q), q.tokens.value * core::kMicroTokensPerToken);
                    EXPECT_GE(q.tokens.value, price.minimum_tokens);
                    EXPECT_LE(q.tokens.value, core::limits::kQuoteTokensMax);
                    EXPECT_GE(q.tokens.value, previous);
                    previous = q.tokens.value;
                }
            }
        }
    }
}

TEST(QuotePropertyTest, RoundingRulesAreOrdered) {
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<std::int64_t> side(1, 9000);
    for (int i = 0; i < 2000; ++i) {
        const std::int64_t w = side(rng);
        const std::int64_t h = side(rng);
        const auto floor = must_quote({"premium", w, h, 1000, Rounding::Floor}).tokens;
        const auto nearest = must_quote({"premium", w, h, 1000, Rounding::Nearest}).tokens;
        const auto ceil = must_quote({"premium", w, h, 1000, Rounding::Ceil}).tokens;
        EXPECT_LE(floor, nearest) << w << "x" << h;
        EXPECT_LE(nearest, ceil) << w << "x" << h;
        EXPECT_LE(ceil.value - floor.value, 1) << w << "x" << h;
    }
}

TEST(FormatMicroTokensTest, PrintsExactDecimals) {
    EXPECT_EQ(format_micro_tokens(960'000), "0.96");
    EXPECT_EQ(format_micro_tokens(-960'000), "-0.96");
    EXPECT_EQ(format_micro_tokens(10'000'000), "10");
    EXPECT_EQ(format_micro_tokens(0), "0");
    EXPECT_EQ(format_micro_tokens(1), "0.000001");
    EXPECT_EQ(format_micro_tokens(-1), "-0.000001");
    EXPECT_EQ(format_micro_tokens(24'147'200), "24.1472");
    EXPECT_EQ(format_micro_tokens(100'000), "0.1");
    EXPECT_EQ(format_micro_tokens(1'000'001), "1.000001");
    EXPECT_EQ(format_micro_tokens(INT64_MAX), "9223372036854.775807");
    EXPECT_EQ(format_micro_tokens(INT64_MIN), "-9223372036854.775808");
}

TEST(UpscaleFactorTest, ParsesDecimals) {
    const std::pair<const char*, std::int64_t> good[] = {
        {"1", 1000},     {"2", 2000},     {"1.5", 1500},   {"1.25", 1250},
        {"1.125", 1125}, {"8", 8000},     {"8.000", 8000}, {"1.0", 1000},
        {"01.5", 1500},  {"1.001", 1001}, {"7.999", 7999}};
    for (auto [text, milli] : good) {
        auto parsed = parse_upscale_factor_milli(text);
        ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.error().message;
        EXPECT_EQ(*parsed, milli) << text;
    }
}

TEST(UpscaleFactorTest, RejectsMalformedAndOutOfRange) {
    for (const char* text : {"",
                             "0",
                             "0.999",
                             "8.001",
                             "9",
                             "-1",
                             "+2",
                             "1.",
                             ".5",
                             "1.5.",
                             "1.1234",
                             "2x",
                             " 2",
                             "2 ",
                             "1e3",
                             "nan",
                             "inf",
                             "1,5",
                             "99999999999999999999",
                             "0x2",
                             "."}) {
        auto parsed = parse_upscale_factor_milli(text);
        ASSERT_FALSE(parsed.ok()) << '"' << text << '"';
        EXPECT_EQ(parsed.error().code, "invalid_upscale_factor") << text;
    }
}

}  // namespace
}  // namespace tollgate::pricing
