// Tests for quote arithmetic beyond the table: request errors, tenant terms,
// properties over random sizes, the largest possible quote, item texts and
// the decimal helpers.
#include "pricing/quote.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/limits.h"
#include "pricing/pricing_test_util.h"

namespace tollgate::pricing {
namespace {

constexpr std::int64_t kMicroPerToken = core::kMicroTokensPerToken;

// A UTC book without windows; `big` has an override, a discount and its own
// minimum below the workflow's.
constexpr std::string_view kTenantBook = R"(version = "tenants-1"
rounding = "floor"
[workflows.person]
base = 10
per_megapixel = 2
upscale_surcharge = 5
minimum = 10
[workflows.ocr]
base = 2
per_megapixel = 0.5
minimum = 2
[tenants.big]
discount_percent = 12.5
minimum = 5
[tenants.big.workflows.person]
base = 4
per_megapixel = 1
[tenants.free]
discount_percent = 100
[tenants.plain]
)";

QuoteRequest request(std::string_view workflow, std::int64_t w, std::int64_t h) {
    QuoteRequest r;
    r.workflow = workflow;
    r.width = w;
    r.height = h;
    r.at_unix_ms = local_ms(example_book().time_zone, "2026-11-30 10:00");
    return r;
}

Quote must_quote(const PriceBook& book, const QuoteRequest& r) {
    auto q = quote(book, r);
    EXPECT_TRUE(q.ok()) << q.error().message;
    return q.ok() ? std::move(q).value() : Quote{};
}

std::int64_t items_sum(const Quote& q) {
    std::int64_t sum = 0;
    for (const QuoteItem& item : q.items()) sum += item.micro_tokens;
    return sum;
}

TEST(QuoteTest, SeedPortraitShowsItsWorking) {
    const Quote q = must_quote(example_book(), request("person", 800, 600));
    EXPECT_EQ(q.tokens.value, 10);
    EXPECT_EQ(q.workflow(), "person");
    EXPECT_EQ(q.book_version, "seed-2026-11");
    EXPECT_EQ(q.model_input_size(), 512);  // the default level, standard
    EXPECT_EQ(q.minimum_tokens(), 10);
    EXPECT_EQ(q.window, nullptr);
    EXPECT_EQ(q.tenant, nullptr);
    EXPECT_EQ(q.tiles, 0);
    EXPECT_EQ(q.output_width, 800);
    EXPECT_EQ(q.output_height, 600);
    ASSERT_EQ(q.items().size(), 3u);
    EXPECT_EQ(describe(q, q.items()[0]), "person base");
    EXPECT_EQ(describe(q, q.items()[1]), "0.48 MP x 2 tokens/MP");
    EXPECT_EQ(describe(q, q.items()[2]), "floor 10.96 -> 10");
}

TEST(QuoteTest, DescribesEveryKindOfItem) {
    const PriceBook& book = example_book();
    QuoteRequest r = request("person", 3000, 2000);
    r.upscale_factor_milli = 2000;
    r.quality = "high";
    r.tenant = "acme";
    r.at_unix_ms = local_ms(book.time_zone, "2026-11-30 20:00");
    const Quote q = must_quote(book, r);
    std::vector<std::string> texts;
    for (const QuoteItem& item : q.items()) texts.push_back(describe(q, item));
    EXPECT_EQ(texts, (std::vector<std::string>{"person base", "6 MP x 2 tokens/MP", "upscale 2x",
                                               "quality high", "peak x1.2", "acme -10%",
                                               "floor 31.32 -> 31"}));

    QuoteRequest sr = request("super_resolution", 3000, 3000);
    sr.upscale_factor_milli = 4000;
    const Quote s = must_quote(book, sr);
    EXPECT_EQ(items_of(s), "base=4 per_megapixel=0 per_output_megapixel=72 tiling=9");
    EXPECT_EQ(describe(s, s.items()[2]), "144 output MP x 0.5 tokens/MP");
    EXPECT_EQ(describe(s, s.items()[3]), "9 tiles x 1 token");
    EXPECT_EQ(s.tiles, 9);
    EXPECT_EQ(s.output_width, 12000);

    QuoteRequest night = request("person", 800, 600);
    night.at_unix_ms = local_ms(book.time_zone, "2026-11-30 03:00");
    const Quote n = must_quote(book, night);
    EXPECT_EQ(describe(n, n.items()[2]), "night x0.8");
    EXPECT_EQ(describe(n, n.items()[3]), "floor 8.768 -> 8");
    EXPECT_EQ(describe(n, n.items()[4]), "minimum 10 tokens");
}

TEST(QuoteTest, RuleNamesAreTheWireNames) {
    const std::pair<Rule, const char*> names[] = {
        {Rule::Base, "base"},
        {Rule::PerMegapixel, "per_megapixel"},
        {Rule::PerOutputMegapixel, "per_output_megapixel"},
        {Rule::UpscaleSurcharge, "upscale_surcharge"},
        {Rule::Quality, "quality"},
        {Rule::Tiling, "tiling"},
        {Rule::TimeWindow, "time_window"},
        {Rule::TenantDiscount, "tenant_discount"},
        {Rule::Rounding, "rounding"},
        {Rule::Minimum, "minimum"},
    };
    for (auto [rule, name] : names) EXPECT_EQ(rule_name(rule), name);
}

TEST(QuoteTest, TenantOverrideDiscountAndOwnMinimum) {
    const PriceBook book = must_parse(kTenantBook);
    QuoteRequest r = request("person", 800, 600);
    r.tenant = "big";
    // 4 + 0.48 = 4.48, -12.5% = 3.92, floor 3, the tenant's own minimum 5.
    Quote q = must_quote(book, r);
    EXPECT_EQ(q.tokens.value, 5);
    EXPECT_EQ(items_of(q),
              "base=4 per_megapixel=0.48 tenant_discount=-0.56 rounding=-0.92 minimum=2");
    EXPECT_EQ(q.minimum_tokens(), 5);
    EXPECT_EQ(describe(q, q.items()[2]), "big -12.5%");
    EXPECT_EQ(describe(q, q.items()[4]), "minimum 5 tokens");

    // The tenant's minimum replaces the workflow's for workflows it does not override too.
    r.workflow = "ocr";
    q = must_quote(book, r);
    EXPECT_EQ(q.tokens.value, 5);  // 2.24 - 0.28 = 1.96 -> 1, raised to 5
    EXPECT_EQ(items_of(q),
              "base=2 per_megapixel=0.24 tenant_discount=-0.28 rounding=-0.96 minimum=4");

    r.workflow = "person";
    r.tenant = "plain";  // a tenant with no terms pays the book's prices
    EXPECT_EQ(must_quote(book, r).tokens.value, 10);
    r.tenant = "free";  // 100% off still pays the workflow minimum
    q = must_quote(book, r);
    EXPECT_EQ(q.tokens.value, 10);
    EXPECT_EQ(items_of(q), "base=10 per_megapixel=0.96 tenant_discount=-10.96 minimum=10");
    EXPECT_EQ(book.find("person", "big")->base_micro, 4 * kMicroPerToken);
    EXPECT_EQ(book.find("person", "plain")->base_micro, 10 * kMicroPerToken);
    EXPECT_EQ(book.find("person", "unknown")->base_micro, 10 * kMicroPerToken);
    EXPECT_EQ(book.find("person")->base_micro, 10 * kMicroPerToken);
    EXPECT_EQ(book.find("nope", "big"), nullptr);
}

TEST(QuoteTest, UnknownWorkflowIsAnError) {
    auto q = quote(example_book(), request("landscape", 800, 600));
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error().code, "unknown_workflow");
    EXPECT_NE(q.error().message.find("landscape"), std::string::npos);
}

TEST(QuoteTest, RejectsBadDimensions) {
    using core::limits::kImagePixelsMax;
    using core::limits::kImageSideMax;
    const std::pair<std::int64_t, std::int64_t> bad[] = {
        {0, 600},
        {800, 0},
        {-1, 600},
        {800, -5},
        {kImageSideMax + 1, 10},
        {10, kImageSideMax + 1},
        {kImageSideMax, kImageSideMax},
        {kImageSideMax, kImagePixelsMax / kImageSideMax + 1}};
    for (auto [w, h] : bad) {
        auto q = quote(example_book(), request("person", w, h));
        ASSERT_FALSE(q.ok()) << w << "x" << h;
        EXPECT_EQ(q.error().code, "invalid_dimensions") << w << "x" << h;
    }
    EXPECT_TRUE(
        quote(example_book(), request("person", kImageSideMax, kImagePixelsMax / kImageSideMax))
            .ok());
}

TEST(QuoteTest, RejectsUpscaleFactorsOutsideRangeOrList) {
    for (std::int64_t factor : {std::int64_t{0}, std::int64_t{999}, std::int64_t{8001}}) {
        QuoteRequest r = request("denoise", 800, 600);
        r.upscale_factor_milli = factor;
        auto q = quote(example_book(), r);
        ASSERT_FALSE(q.ok()) << factor;
        EXPECT_EQ(q.error().code, "invalid_upscale_factor");
    }
    QuoteRequest r = request("person", 800, 600);
    r.upscale_factor_milli = 4000;  // person offers [1, 2]
    auto q = quote(example_book(), r);
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error().code, "invalid_upscale_factor");
    EXPECT_EQ(q.error().message, "workflow person does not offer upscale factor 4 (allowed: 1, 2)");
    r.workflow = "super_resolution";  // offers [2, 4], so the default 1x is refused
    r.upscale_factor_milli = 1000;
    q = quote(example_book(), r);
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error().code, "invalid_upscale_factor");
    r.upscale_factor_milli = 8000;
    r.workflow = "denoise";  // no list: anything in [1, 8]
    EXPECT_TRUE(quote(example_book(), r).ok());
}

TEST(QuoteTest, RejectsUnknownQualityListingTheLevels) {
    QuoteRequest r = request("person", 800, 600);
    r.quality = "ultra";
    auto q = quote(example_book(), r);
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error().code, "invalid_quality");
    EXPECT_EQ(q.error().message,
              "workflow person has no quality \"ultra\" (levels: draft, standard, high)");
    r.workflow = "ocr";  // no levels at all
    r.quality = "high";
    q = quote(example_book(), r);
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error().code, "invalid_quality");
    EXPECT_NE(q.error().message.find("no quality levels"), std::string::npos);
    r.quality = "";
    const Quote ok = must_quote(example_book(), r);
    EXPECT_EQ(ok.quality, nullptr);
    EXPECT_EQ(ok.model_input_size(), 0);
}

TEST(QuoteTest, QualitySelectsTheModelInputSize) {
    QuoteRequest r = request("building", 1920, 1080);
    EXPECT_EQ(must_quote(example_book(), r).model_input_size(), 1024);
    r.quality = "high";
    EXPECT_EQ(must_quote(example_book(), r).model_input_size(), 1280);
    r.workflow = "person";
    r.quality = "draft";
    EXPECT_EQ(must_quote(example_book(), r).model_input_size(), 460);
}

// Random sizes under every workflow and option of the example book: the
// items sum to the total, the total is never below the minimum in force, and
// it never decreases as either side grows.
TEST(QuotePropertyTest, SumsMinimumAndMonotoneInPixels) {
    const PriceBook& book = example_book();
    std::mt19937_64 rng(20261129);
    std::uniform_int_distribution<std::int64_t> side(1, 9000);
    std::uniform_int_distribution<std::int64_t> growth(0, 400);
    const char* times[] = {"2026-11-30 10:00", "2026-11-30 03:00", "2026-11-30 20:00"};
    int checked = 0;
    for (const auto& [name, price] : book.workflows) {
        std::vector<std::int64_t> factors = price.upscale_factors_milli;
        if (factors.empty()) factors = {1000, 1500, 8000};
        std::vector<std::string> qualities{""};
        for (const QualityLevel& level : price.qualities) qualities.push_back(level.name);
        for (std::int64_t factor : factors) {
            for (const std::string& quality : qualities) {
                for (const char* tenant : {"", "acme"}) {
                    for (const char* time : times) {
                        for (Rounding rounding :
                             {Rounding::Floor, Rounding::Ceil, Rounding::Nearest}) {
                            QuoteRequest r;
                            r.workflow = name;
                            r.upscale_factor_milli = factor;
                            r.quality = quality;
                            r.tenant = tenant;
                            r.at_unix_ms = local_ms(book.time_zone, time);
                            r.rounding = rounding;
                            for (int i = 0; i < 20; ++i) {
                                r.width = side(rng);
                                r.height = side(rng);
                                const Quote a = must_quote(book, r);
                                r.width = std::min<std::int64_t>(r.width + growth(rng), 10'000);
                                r.height = std::min<std::int64_t>(r.height + growth(rng), 10'000);
                                const Quote b = must_quote(book, r);
                                ASSERT_EQ(items_sum(a), a.tokens.value * kMicroPerToken);
                                ASSERT_EQ(items_sum(b), b.tokens.value * kMicroPerToken);
                                ASSERT_GE(a.tokens.value, a.minimum_tokens());
                                ASSERT_LE(a.tokens, b.tokens)
                                    << name << " " << r.width << "x" << r.height << " at " << time;
                                ++checked;
                            }
                        }
                    }
                }
            }
        }
    }
    EXPECT_GT(checked, 5000);
}

TEST(QuotePropertyTest, RoundingRulesAreOrdered) {
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<std::int64_t> side(1, 6000);
    for (int i = 0; i < 2000; ++i) {
        QuoteRequest r = request("scratch_removal", side(rng), side(rng));
        r.rounding = Rounding::Floor;
        const std::int64_t floor = must_quote(example_book(), r).tokens.value;
        r.rounding = Rounding::Nearest;
        const std::int64_t nearest = must_quote(example_book(), r).tokens.value;
        r.rounding = Rounding::Ceil;
        const std::int64_t ceil = must_quote(example_book(), r).tokens.value;
        ASSERT_LE(floor, nearest);
        ASSERT_LE(nearest, ceil);
        ASSERT_LE(ceil - floor, 1);
    }
}

// Every coefficient at its bound, a 10x window all day, ceil rounding and the
// largest images: the quote stays within kQuoteTokensMax (quote.cc proves it
// with static_asserts; this checks the proof against the real arithmetic).
TEST(QuoteLimitTest, LargestPossibleQuoteFits) {
    const std::string text =
        "version = \"max\"\nrounding = \"ceil\"\n"
        "[workflows.max]\nbase = " +
        std::to_string(kBaseTokensMax) +
        "\nper_megapixel = " + std::to_string(kPerMegapixelTokensMax) +
        "\nper_output_megapixel = " + std::to_string(kPerOutputMegapixelTokensMax) +
        "\nupscale_surcharge = " + std::to_string(kUpscaleSurchargeTokensMax) +
        "\nminimum = 0\ntile_side_px = " + std::to_string(kTileSidePxMin) +
        "\nper_tile = " + std::to_string(kPerTileTokensMax) +
        "\ndefault_quality = \"max\"\n[workflows.max.quality.max]\n"
        "model_input_size = 1\nsurcharge = " +
        std::to_string(kQualitySurchargeTokensMax) +
        "\n[[windows]]\nname = \"always\"\nstart = \"00:00\"\nend = \"24:00\"\n"
        "multiplier = 10\n";
    const PriceBook book = must_parse(text);
    using core::limits::kImagePixelsMax;
    using core::limits::kImageSideMax;
    const std::pair<std::int64_t, std::int64_t> sizes[] = {
        {10'000, 10'000}, {kImageSideMax, kImagePixelsMax / kImageSideMax}, {kImageSideMax, 1}};
    for (auto [w, h] : sizes) {
        QuoteRequest r;
        r.workflow = "max";
        r.width = w;
        r.height = h;
        r.upscale_factor_milli = kUpscaleFactorMilliMax;
        const Quote q = must_quote(book, r);
        EXPECT_LE(q.tokens.value, core::limits::kQuoteTokensMax);
        EXPECT_EQ(items_sum(q), q.tokens.value * kMicroPerToken);
    }
    QuoteRequest r;
    r.workflow = "max";
    r.width = 10'000;
    r.height = 10'000;
    r.upscale_factor_milli = kUpscaleFactorMilliMax;
    // (1e6 + 100 MP x 1e5 + 6400 MP x 1e4 + 1e6 + 1e6 + 40 x 40 tiles x 1e3) x 10.
    EXPECT_EQ(must_quote(book, r).tokens.value, 786'000'000);
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
                             ".",
                             "1.5000"}) {
        auto parsed = parse_upscale_factor_milli(text);
        ASSERT_FALSE(parsed.ok()) << '"' << text << '"';
        EXPECT_EQ(parsed.error().code, "invalid_upscale_factor") << text;
    }
}

}  // namespace
}  // namespace tollgate::pricing
