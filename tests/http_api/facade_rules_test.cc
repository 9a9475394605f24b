// The facade's pricing of a client's graph: rules in order, sizes picking
// quality levels, upscale factors, the default, and refusals.
#include <gtest/gtest.h>

#include "http/api/facade/prompt_rules.h"

namespace tollgate::http::facade {
namespace {

constexpr const char* kBook = R"(
version = "f1"
rounding = "floor"
time_zone = "UTC"
[workflows.person]
base = 10
minimum = 10
per_megapixel = 2
model_input_size_range = [460, 680]
default_quality = "standard"
[workflows.person.quality.draft]
model_input_size = 460
[workflows.person.quality.standard]
model_input_size = 512
[workflows.person.quality.high]
model_input_size = 680
surcharge = 2
[workflows.building]
base = 15
minimum = 10
per_megapixel = 2
model_input_size_range = [960, 1280]
default_quality = "standard"
[workflows.building.quality.standard]
model_input_size = 1024
[workflows.building.quality.high]
model_input_size = 1280
[workflows.super_resolution]
base = 4
minimum = 5
per_megapixel = 0
per_output_megapixel = 0.5
upscale_factors = [2, 4]
)";

pricing::PriceBook book() {
    auto b = pricing::parse_price_book(kBook, "book");
    EXPECT_TRUE(b.ok()) << b.error().message;
    return std::move(b).value();
}

PromptRules rules() {
    PromptRules r;
    r.rules.push_back({"DDColor_Colorize", "person", {}, "model_input_size", ""});
    r.rules.push_back({"DDColor_Colorize", "building", {}, "model_input_size", ""});
    r.rules.push_back({"ImageScaleBy", "super_resolution", {}, "", "scale_by"});
    return r;
}

nlohmann::json ddcolor(nlohmann::json size, const std::string& image = "bw.png") {
    return {{"1", {{"class_type", "LoadImage"}, {"inputs", {{"image", image}}}}},
            {"2",
             {{"class_type", "DDColor_Colorize"},
              {"inputs",
               {{"image", {"1", 0}},
                {"model_input_size", size},
                {"checkpoint", "ddcolor_modelscope.pth"}}}}},
            {"3",
             {{"class_type", "SaveImage"},
              {"inputs", {{"images", {"2", 0}}, {"filename_prefix", "x"}}}}}};
}

TEST(PromptRulesTest, TheModelInputSizePicksTheWorkflowAndItsLevel) {
    const pricing::PriceBook b = book();
    auto p = price_prompt(ddcolor(512), rules(), b);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->workflow, "person");
    EXPECT_EQ(p->quality, "standard");
    EXPECT_EQ(p->image_ref, "bw.png");
    EXPECT_EQ(p->matched, "rule 1 (DDColor_Colorize)");
    ASSERT_NE(p->graph, nullptr);
    EXPECT_EQ(p->graph->load_image_node_id(), "1");

    auto building = price_prompt(ddcolor(1280), rules(), b);
    ASSERT_TRUE(building.ok());
    EXPECT_EQ(building->workflow, "building");
    EXPECT_EQ(building->quality, "high");
    EXPECT_EQ(building->matched, "rule 2 (DDColor_Colorize)");
}

TEST(PromptRulesTest, ASizeBetweenLevelsIsPricedAtTheNextLargerOne) {
    auto p = price_prompt(ddcolor(600), rules(), book());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->quality, "high");  // 600 is more work than standard's 512
    auto q = price_prompt(ddcolor(470.0), rules(), book());
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->quality, "standard");
}

TEST(PromptRulesTest, ASizeNoWorkflowOffersIsRefused) {
    auto p = price_prompt(ddcolor(2048), rules(), book());
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, "unpriced_graph");
    EXPECT_NE(p.error().message.find("DDColor_Colorize"), std::string::npos);
}

TEST(PromptRulesTest, ConditionsMustHold) {
    PromptRules r;
    r.rules.push_back(
        {"DDColor_Colorize", "building", {{"checkpoint", "ddcolor_artistic.pth"}}, "", ""});
    r.rules.push_back({"DDColor_Colorize", "person", {}, "", ""});
    auto p = price_prompt(ddcolor(512), r, book());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->workflow, "person");
    nlohmann::json artistic = ddcolor(512);
    artistic["2"]["inputs"]["checkpoint"] = "ddcolor_artistic.pth";
    EXPECT_EQ(price_prompt(artistic, r, book())->workflow, "building");
}

TEST(PromptRulesTest, TheUpscaleInputSetsTheFactor) {
    nlohmann::json g = {
        {"1", {{"class_type", "LoadImage"}, {"inputs", {{"image", "small.png"}}}}},
        {"2",
         {{"class_type", "ImageScaleBy"},
          {"inputs", {{"image", {"1", 0}}, {"scale_by", 2.0}, {"upscale_method", "lanczos"}}}}},
        {"3", {{"class_type", "SaveImage"}, {"inputs", {{"images", {"2", 0}}}}}}};
    auto p = price_prompt(g, rules(), book());
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->workflow, "super_resolution");
    EXPECT_EQ(p->upscale_factor, "2");
    g["2"]["inputs"]["scale_by"] = 1.5;
    EXPECT_EQ(price_prompt(g, rules(), book())->upscale_factor, "1.5");
}

TEST(PromptRulesTest, AnUnknownGraphIsRefusedUnlessThereIsADefault) {
    nlohmann::json g = ddcolor(512);
    g["2"]["class_type"] = "SomeOtherNode";
    auto p = price_prompt(g, rules(), book());
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, "unpriced_graph");
    EXPECT_NE(p.error().message.find("SomeOtherNode"), std::string::npos);
    PromptRules with_default = rules();
    with_default.default_workflow = "person";
    auto d = price_prompt(g, with_default, book());
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->workflow, "person");
    EXPECT_EQ(d->quality, "");
    EXPECT_EQ(d->matched, "default");
}

TEST(PromptRulesTest, AGraphTollgateCannotRunIsInvalid) {
    for (nlohmann::json bad :
         {nlohmann::json::array(), nlohmann::json::object(), nlohmann::json(3)}) {
        EXPECT_EQ(price_prompt(bad, rules(), book()).error().code, "invalid_prompt");
    }
    nlohmann::json no_save = ddcolor(512);
    no_save.erase("3");
    EXPECT_EQ(price_prompt(no_save, rules(), book()).error().code, "invalid_prompt");
    nlohmann::json dangling = ddcolor(512);
    dangling["3"]["inputs"]["images"] = {"9", 0};
    EXPECT_EQ(price_prompt(dangling, rules(), book()).error().code, "invalid_prompt");
    nlohmann::json no_image = ddcolor(512, "");
    auto p = price_prompt(no_image, rules(), book());
    EXPECT_EQ(p.error().code, "invalid_prompt");
    EXPECT_NE(p.error().message.find("/upload/image"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::http::facade
