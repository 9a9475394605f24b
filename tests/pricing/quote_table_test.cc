// Quotes under the example book (config/pricing.toml), written as data: one
// row per case with the request, the local time in the book's zone
// (Europe/Paris), the expected total and every expected item. The first rows
// are the seed's worked examples. Local times used: 10:00 is outside every
// window, 03:00 is in "night" (x0.8), 20:00 is in "peak" (x1.2).
#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>

#include "pricing/pricing_test_util.h"
#include "pricing/quote.h"

namespace tollgate::pricing {
namespace {

struct QuoteCase {
    const char* workflow;
    std::int64_t width;
    std::int64_t height;
    const char* factor;   // upscale factor as a request writes it
    const char* quality;  // "" = the default level
    const char* tenant;   // "" = none
    const char* local;    // wall clock in Europe/Paris
    std::int64_t tokens;
    const char* items;     // rule=amount, in order
    const char* rounding;  // "" = the book's (floor)
};

constexpr const char* kDay = "2026-11-30 10:00";
constexpr const char* kNight = "2026-11-30 03:00";
constexpr const char* kPeak = "2026-11-30 20:00";

// clang-format off
const QuoteCase kCases[] = {
    // The seed: 800x600 portrait is 10 + 0.48 MP x 2 = 10.96, floored to 10.
    {"person", 800, 600, "1", "", "", kDay, 10, "base=10 per_megapixel=0.96 rounding=-0.96", ""},
    {"person", 800, 600, "2", "", "", kDay, 15,
     "base=10 per_megapixel=0.96 upscale_surcharge=5 rounding=-0.96", ""},
    {"building", 1920, 1080, "1", "", "", kDay, 19,
     "base=15 per_megapixel=4.1472 rounding=-0.1472", ""},
    {"building", 1920, 1080, "2", "", "", kDay, 24,
     "base=15 per_megapixel=4.1472 upscale_surcharge=5 rounding=-0.1472", ""},
    // The seed's prose says "about 11": that is nearest (or ceil) rounding.
    {"person", 800, 600, "1", "", "", kDay, 11,
     "base=10 per_megapixel=0.96 rounding=0.04", "nearest"},
    {"person", 800, 600, "1", "", "", kDay, 11, "base=10 per_megapixel=0.96 rounding=0.04", "ceil"},
    {"person", 500, 500, "1", "", "", kDay, 11,
     "base=10 per_megapixel=0.5 rounding=0.5", "nearest"},
    {"person", 600, 400, "1", "", "", kDay, 10,
     "base=10 per_megapixel=0.48 rounding=-0.48", "nearest"},
    // Quality levels of person: draft 460 (+0), standard 512 (default, +0), high 680 (+2).
    {"person", 800, 600, "1", "draft", "", kDay, 10,
     "base=10 per_megapixel=0.96 rounding=-0.96", ""},
    {"person", 800, 600, "1", "standard", "", kDay, 10,
     "base=10 per_megapixel=0.96 rounding=-0.96", ""},
    {"person", 800, 600, "1", "high", "", kDay, 12,
     "base=10 per_megapixel=0.96 quality=2 rounding=-0.96", ""},
    // Sizes.
    {"person", 1000, 1000, "1", "", "", kDay, 12, "base=10 per_megapixel=2", ""},
    {"person", 2000, 1500, "1", "", "", kDay, 16, "base=10 per_megapixel=6", ""},
    {"person", 4000, 3000, "1", "", "", kDay, 34,
     "base=10 per_megapixel=24", ""},  // tiled, unpriced
    {"person", 1, 1, "1", "", "", kDay, 10,
     "base=10 per_megapixel=0.000002 rounding=-0.000002", ""},
    // Windows.
    {"person", 800, 600, "1", "", "", kNight, 10,
     "base=10 per_megapixel=0.96 time_window=-2.192 rounding=-0.768 minimum=2", ""},
    {"person", 800, 600, "1", "", "", kPeak, 13,
     "base=10 per_megapixel=0.96 time_window=2.192 rounding=-0.152", ""},
    {"person", 800, 600, "2", "high", "", kPeak, 21,
     "base=10 per_megapixel=0.96 upscale_surcharge=5 quality=2 time_window=3.592 "
     "rounding=-0.552", ""},
    {"person", 800, 600, "1", "", "", "2026-11-30 06:59:59", 10,
     "base=10 per_megapixel=0.96 time_window=-2.192 rounding=-0.768 minimum=2", ""},
    {"person", 800, 600, "1", "", "", "2026-11-30 07:00:00", 10,
     "base=10 per_megapixel=0.96 rounding=-0.96", ""},
    {"person", 800, 600, "1", "", "", "2026-11-30 18:59:59", 10,
     "base=10 per_megapixel=0.96 rounding=-0.96", ""},
    {"person", 800, 600, "1", "", "", "2026-11-30 19:00:00", 13,
     "base=10 per_megapixel=0.96 time_window=2.192 rounding=-0.152", ""},
    {"person", 800, 600, "1", "", "", "2026-11-30 22:59:59", 13,
     "base=10 per_megapixel=0.96 time_window=2.192 rounding=-0.152", ""},
    {"person", 800, 600, "1", "", "", "2026-11-30 23:00:00", 10,
     "base=10 per_megapixel=0.96 rounding=-0.96", ""},
    {"person", 800, 600, "1", "", "", "2026-11-30 00:00:00", 10,
     "base=10 per_megapixel=0.96 time_window=-2.192 rounding=-0.768 minimum=2", ""},
    // Tenant acme: 10% off after the window; its own building base of 12.
    {"person", 800, 600, "1", "", "acme", kDay, 10,
     "base=10 per_megapixel=0.96 tenant_discount=-1.096 rounding=-0.864 minimum=1", ""},
    {"person", 800, 600, "2", "", "acme", kDay, 14,
     "base=10 per_megapixel=0.96 upscale_surcharge=5 tenant_discount=-1.596 rounding=-0.364", ""},
    {"person", 3000, 2000, "2", "", "acme", kPeak, 29,
     "base=10 per_megapixel=12 upscale_surcharge=5 time_window=5.4 tenant_discount=-3.24 "
     "rounding=-0.16", ""},
    {"person", 800, 600, "1", "", "nobody", kDay, 10,
     "base=10 per_megapixel=0.96 rounding=-0.96", ""},
    // Building: standard 1024 (default, +0), high 1280 (+3).
    {"building", 1920, 1080, "1", "high", "", kDay, 22,
     "base=15 per_megapixel=4.1472 quality=3 rounding=-0.1472", ""},
    {"building", 1920, 1080, "1", "", "", kNight, 15,
     "base=15 per_megapixel=4.1472 time_window=-3.82944 rounding=-0.31776", ""},
    {"building", 1920, 1080, "1", "", "", kPeak, 22,
     "base=15 per_megapixel=4.1472 time_window=3.82944 rounding=-0.97664", ""},
    {"building", 1920, 1080, "1", "", "acme", kDay, 14,
     "base=12 per_megapixel=4.1472 tenant_discount=-1.61472 rounding=-0.53248", ""},
    {"building", 1920, 1080, "1", "", "acme", kNight, 11,
     "base=12 per_megapixel=4.1472 time_window=-3.22944 tenant_discount=-1.291776 "
     "rounding=-0.625984", ""},
    {"building", 100, 100, "1", "", "", kDay, 15, "base=15 per_megapixel=0.02 rounding=-0.02", ""},
    {"building", 5000, 4000, "1", "", "", kDay, 55, "base=15 per_megapixel=40", ""},
    {"building", 1280, 960, "2", "high", "acme", kPeak, 24,
     "base=12 per_megapixel=2.4576 upscale_surcharge=5 quality=3 time_window=4.49152 "
     "tenant_discount=-2.694912 rounding=-0.254208", ""},
    {"building", 1920, 1080, "1", "", "", "2026-07-15 03:00", 15,
     "base=15 per_megapixel=4.1472 time_window=-3.82944 rounding=-0.31776", ""},  // summer time
    // Super-resolution: priced per output megapixel; tiles above 1024 px cost 1 each.
    {"super_resolution", 800, 600, "2", "", "", kDay, 5,
     "base=4 per_megapixel=0 per_output_megapixel=0.96 rounding=-0.96 minimum=1", ""},
    {"super_resolution", 800, 600, "4", "", "", kDay, 7,
     "base=4 per_megapixel=0 per_output_megapixel=3.84 rounding=-0.84", ""},
    {"super_resolution", 2000, 1500, "2", "", "", kDay, 14,
     "base=4 per_megapixel=0 per_output_megapixel=6 tiling=4", ""},
    {"super_resolution", 2000, 1500, "4", "", "", kDay, 32,
     "base=4 per_megapixel=0 per_output_megapixel=24 tiling=4", ""},
    {"super_resolution", 1024, 1024, "2", "", "", kDay, 6,
     "base=4 per_megapixel=0 per_output_megapixel=2.097152 rounding=-0.097152", ""},
    {"super_resolution", 1025, 10, "2", "", "", kDay, 6,
     "base=4 per_megapixel=0 per_output_megapixel=0.0205 tiling=2 rounding=-0.0205", ""},
    {"super_resolution", 800, 600, "4", "", "", kNight, 6,
     "base=4 per_megapixel=0 per_output_megapixel=3.84 time_window=-1.568 rounding=-0.272", ""},
    {"super_resolution", 3000, 3000, "4", "", "", kPeak, 102,
     "base=4 per_megapixel=0 per_output_megapixel=72 tiling=9 time_window=17", ""},
    {"super_resolution", 333, 333, "2", "", "", kDay, 5,
     "base=4 per_megapixel=0 per_output_megapixel=0.221778 rounding=-0.221778 minimum=1", ""},
    // Denoise: no upscale_factors list, so any factor in [1, 8], and nothing charged for it.
    {"denoise", 800, 600, "1", "", "", kDay, 3, "base=3 per_megapixel=0.48 rounding=-0.48", ""},
    {"denoise", 4000, 3000, "1", "", "", kDay, 15, "base=3 per_megapixel=12", ""},
    {"denoise", 800, 600, "1", "", "", kNight, 3,
     "base=3 per_megapixel=0.48 time_window=-0.696 rounding=-0.784 minimum=1", ""},
    {"denoise", 800, 600, "1", "", "acme", kDay, 3,
     "base=3 per_megapixel=0.48 tenant_discount=-0.348 rounding=-0.132", ""},
    {"denoise", 800, 600, "2", "", "", kDay, 3, "base=3 per_megapixel=0.48 rounding=-0.48", ""},
    {"denoise", 1000, 1000, "1.5", "", "", kDay, 4, "base=3 per_megapixel=1", ""},
    // Scratch removal.
    {"scratch_removal", 800, 600, "1", "", "", kDay, 5,
     "base=5 per_megapixel=0.72 rounding=-0.72", ""},
    {"scratch_removal", 2000, 2000, "1", "", "", kDay, 11, "base=5 per_megapixel=6", ""},
    {"scratch_removal", 800, 600, "1", "", "", kPeak, 6,
     "base=5 per_megapixel=0.72 time_window=1.144 rounding=-0.864", ""},
    {"scratch_removal", 800, 600, "1", "", "", kDay, 6,
     "base=5 per_megapixel=0.72 rounding=0.28", "ceil"},
    // OCR.
    {"ocr", 800, 600, "1", "", "", kDay, 2, "base=2 per_megapixel=0.24 rounding=-0.24", ""},
    {"ocr", 2480, 3508, "1", "", "", kDay, 6, "base=2 per_megapixel=4.34992 rounding=-0.34992", ""},
    {"ocr", 2480, 3508, "1", "", "", kNight, 5,
     "base=2 per_megapixel=4.34992 time_window=-1.269984 rounding=-0.079936", ""},
    {"ocr", 2480, 3508, "1", "", "acme", kPeak, 6,
     "base=2 per_megapixel=4.34992 time_window=1.269984 tenant_discount=-0.76199 "
     "rounding=-0.857914", ""},
    {"ocr", 100, 100, "1", "", "", kNight, 2,
     "base=2 per_megapixel=0.005 time_window=-0.401 rounding=-0.604 minimum=1", ""},
};
// clang-format on

// Failures print the row, not its bytes.
void PrintTo(const QuoteCase& c, std::ostream* os) {
    *os << c.workflow << " " << c.width << "x" << c.height << " x" << c.factor
        << " quality=" << c.quality << " tenant=" << c.tenant << " at " << c.local;
}

class QuoteTableTest : public ::testing::TestWithParam<QuoteCase> {};

TEST_P(QuoteTableTest, MatchesTotalAndItems) {
    const QuoteCase& c = GetParam();
    const PriceBook& book = example_book();
    auto factor = parse_upscale_factor_milli(c.factor);
    ASSERT_TRUE(factor.ok()) << factor.error().message;
    QuoteRequest request;
    request.workflow = c.workflow;
    request.width = c.width;
    request.height = c.height;
    request.upscale_factor_milli = *factor;
    request.quality = c.quality;
    request.tenant = c.tenant;
    request.at_unix_ms = local_ms(book.time_zone, c.local);
    if (*c.rounding != '\0') request.rounding = parse_rounding(c.rounding);

    auto q = quote(book, request);
    ASSERT_TRUE(q.ok()) << q.error().message;
    EXPECT_EQ(q->tokens.value, c.tokens);
    EXPECT_EQ(items_of(*q), c.items);
}

std::string case_name(const ::testing::TestParamInfo<QuoteCase>& info) {
    return "row" + std::to_string(info.index + 1) + "_" + info.param.workflow;
}

INSTANTIATE_TEST_SUITE_P(ExampleBook, QuoteTableTest, ::testing::ValuesIn(kCases), case_name);

TEST(QuoteTableTest, HasAtLeastFiftyRows) { EXPECT_GE(std::size(kCases), 50u); }

}  // namespace
}  // namespace tollgate::pricing
