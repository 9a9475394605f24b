// Shadow pricing: the same jobs quoted under two books, summed per workflow
// and account.
#include "usage/insight/shadow_price.h"

#include <gtest/gtest.h>

namespace tollgate::usage {
namespace {

constexpr const char* kBook = R"(
version = "now"
rounding = "floor"
time_zone = "UTC"
[workflows.person]
base = 10
per_megapixel = 2.0
minimum = 10
[workflows.building]
base = 15
per_megapixel = 2.0
minimum = 10
)";

ExecutionSample job(std::int64_t side, const std::string& account) {
    return ExecutionSample{side, side, 1000, account, 1'795'996'800'000};
}

TEST(ShadowPriceTest, EachJobIsQuotedUnderBothBooksAndSummedPerWorkflowAndAccount) {
    const pricing::PriceBook current = pricing::parse_price_book(kBook, "book").value();
    pricing::PriceBook suggested = current;
    suggested.workflows.at("person").base_micro = 5'000'000;
    suggested.workflows.at("person").per_megapixel_micro = 5'000'000;
    // person 1 MP: 12 now, 10 suggested; 4 MP: 18 now, 25 suggested. building 1 MP: 17 both.
    const std::map<std::string, std::vector<ExecutionSample>> jobs = {
        {"person", {job(1000, "a"), job(2000, "b"), job(2000, "b"), job(1000, "c")}},
        {"building", {job(1000, "c")}}};
    auto shadow = shadow_price(current, suggested, jobs, 2);
    ASSERT_TRUE(shadow.ok()) << shadow.error().message;
    EXPECT_EQ(shadow->total, (ShadowLine{"", 5, 12 + 18 + 18 + 12 + 17, 10 + 25 + 25 + 10 + 17}));
    ASSERT_EQ(shadow->workflows.size(), 2u);
    EXPECT_EQ(shadow->workflows[0], (ShadowLine{"building", 1, 17, 17}));
    EXPECT_EQ(shadow->workflows[1], (ShadowLine{"person", 4, 60, 70}));
    // b moves by 14, then a and c by 2 each: the first two by id.
    ASSERT_EQ(shadow->accounts.size(), 2u);
    EXPECT_EQ(shadow->accounts[0], (ShadowLine{"b", 2, 36, 50}));
    EXPECT_EQ(shadow->accounts[1], (ShadowLine{"a", 1, 12, 10}));
}

TEST(ShadowPriceTest, AWorkflowTheBookLacksIsAnError) {
    const pricing::PriceBook current = pricing::parse_price_book(kBook, "book").value();
    auto shadow = shadow_price(current, current, {{"portrait", {job(1000, "a")}}}, 5);
    ASSERT_FALSE(shadow.ok());
    EXPECT_EQ(shadow.error().code, "unknown_workflow");
}

}  // namespace
}  // namespace tollgate::usage
