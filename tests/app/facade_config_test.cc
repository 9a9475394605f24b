// [facade]: off unless enabled; its rules, default and workers as read.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "app/config_fixture.h"

namespace tollgate::app {
namespace {

using FacadeConfigTest = testing_support::ConfigTableTest;

TEST_F(FacadeConfigTest, OffUnlessEnabled) {
    auto none = parse("");
    ASSERT_TRUE(none.ok()) << none.error().message;
    EXPECT_FALSE(none->facade.has_value());
    auto off = parse("[facade]\nenabled = false\n");
    ASSERT_TRUE(off.ok()) << off.error().message;
    EXPECT_FALSE(off->facade.has_value());
}

TEST_F(FacadeConfigTest, ReadsRulesInOrderWithTheirConditions) {
    auto c = parse(R"(
[facade]
enabled = true
default_workflow = "person"
[[facade.rules]]
class_type = "DDColor_Colorize"
workflow = "person"
size_input = "model_input_size"
when = { checkpoint = "ddcolor_modelscope.pth", model_input_size = 512, fast = true, w = 0.5 }
[[facade.rules]]
class_type = "ImageScaleBy"
workflow = "person"
upscale_input = "scale_by"
)");
    ASSERT_TRUE(c.ok()) << c.error().message;
    ASSERT_TRUE(c->facade.has_value());
    const auto& rules = c->facade->rules;
    EXPECT_EQ(rules.default_workflow, "person");
    ASSERT_EQ(rules.rules.size(), 2u);
    EXPECT_EQ(rules.rules[0].class_type, "DDColor_Colorize");
    EXPECT_EQ(rules.rules[0].size_input, "model_input_size");
    ASSERT_EQ(rules.rules[0].when.size(), 4u);
    nlohmann::json when;
    for (const auto& [k, v] : rules.rules[0].when) when[k] = v;
    EXPECT_EQ(when, (nlohmann::json{{"checkpoint", "ddcolor_modelscope.pth"},
                                    {"model_input_size", 512},
                                    {"fast", true},
                                    {"w", 0.5}}));
    EXPECT_EQ(rules.rules[1].upscale_input, "scale_by");
    EXPECT_EQ(c->facade->worker_urls, (std::vector<std::string>{"http://127.0.0.1:8188"}));
}

TEST_F(FacadeConfigTest, RefusesWhatItCannotUse) {
    struct Case {
        const char* text;
        const char* says;
    };
    for (const Case& k : {
             Case{"[facade]\nenabled = true\nrules = 3\n", "facade.rules"},
             Case{"[facade]\nenabled = true\n[[facade.rules]]\nworkflow = \"person\"\n",
                  "class_type"},
             Case{"[facade]\nenabled = true\n[[facade.rules]]\nclass_type = \"X\"\n"
                  "workflow = \"nope\"\n",
                  "nope"},
             Case{"[facade]\nenabled = true\ndefault_workflow = \"nope\"\n", "nope"},
             Case{"[facade]\nenabled = true\n[[facade.rules]]\nclass_type = \"X\"\n"
                  "workflow = \"person\"\nwhen = { a = [1] }\n",
                  "when"},
             Case{"[facade]\nenabled = true\nsurprise = 1\n", "surprise"},
             Case{"[facade]\nenabled = \"yes\"\n", "enabled"},
         }) {
        auto c = parse(k.text);
        ASSERT_FALSE(c.ok()) << k.text;
        EXPECT_NE(c.error().message.find(k.says), std::string::npos) << c.error().message;
    }
}

// The shipped example prices the shipped workflows as the book says: each
// template's graph, sent as a prompt, is the workflow it is the template of.
TEST(ShippedFacadeTest, TheExampleRulesPriceEveryShippedWorkflow) {
    const std::string root =
        std::string(__FILE__).substr(0, std::string(__FILE__).rfind("/tests/"));
    auto c = load_config(root + "/config/tollgate.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    ASSERT_TRUE(c->facade.has_value());
    for (const WorkflowConfig& w : c->workflows) {
        std::ifstream in(w.template_path);
        std::stringstream text;
        text << in.rdbuf();
        nlohmann::json graph = nlohmann::json::parse(text.str());
        auto priced = http::facade::price_prompt(graph, c->facade->rules, c->price_book);
        ASSERT_TRUE(priced.ok()) << w.name << ": " << priced.error().message;
        EXPECT_EQ(priced->workflow, w.name);
    }
}

}  // namespace
}  // namespace tollgate::app
