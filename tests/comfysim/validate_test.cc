#include "comfysim/validate.h"

#include <gtest/gtest.h>

#include "comfysim/node_table.h"
#include "test_support.h"

namespace tollgate::comfysim {
namespace {

using testing::ddcolor_graph;

Validation check(const Json& prompt, bool image_present = true) {
    return validate_prompt(prompt, NodeTable::standard(),
                           [image_present](const std::string&) { return image_present; });
}

TEST(ValidateTest, AcceptsTheDdcolorGraph) {
    const Validation v = check(ddcolor_graph("person_bw.png"));
    ASSERT_TRUE(v.ok) << v.error.dump();
    EXPECT_EQ(v.outputs, std::vector<std::string>{"3"});
    EXPECT_TRUE(v.node_errors.empty());
}

TEST(ValidateTest, UnknownClassIsMissingNodeTypeWithTitle) {
    Json g = ddcolor_graph("x.png");
    g["2"]["class_type"] = "DDColor_Colourise";
    const Validation v = check(g);
    ASSERT_FALSE(v.ok);
    EXPECT_EQ(v.error["type"], "missing_node_type");
    EXPECT_EQ(v.error["message"],
              "Node 'DDColor Colorize (person)' not found. The custom node may not be installed.");
    EXPECT_EQ(v.error["details"], "Node ID '#2'");
    EXPECT_EQ(v.error["extra_info"]["node_id"], "2");
    EXPECT_EQ(v.error["extra_info"]["class_type"], "DDColor_Colourise");
    EXPECT_TRUE(v.node_errors.is_object() && v.node_errors.empty());
}

TEST(ValidateTest, MissingNodeTitleFallsBackToClassType) {
    Json g = ddcolor_graph("x.png");
    g["2"].erase("_meta");
    g["2"]["class_type"] = "Nope";
    EXPECT_EQ(check(g).error["message"],
              "Node 'Nope' not found. The custom node may not be installed.");
}

TEST(ValidateTest, BelowMinReportsValueAndConfig) {
    const Validation v = check(ddcolor_graph("x.png", 8));
    ASSERT_FALSE(v.ok);
    EXPECT_EQ(v.error["type"], "prompt_outputs_failed_validation");
    EXPECT_EQ(v.error["message"], "Prompt outputs failed validation");
    const Json& node = v.node_errors["2"];
    EXPECT_EQ(node["class_type"], "DDColor_Colorize");
    EXPECT_EQ(node["dependent_outputs"], Json::array({"3"}));
    const Json& e = node["errors"][0];
    EXPECT_EQ(e["type"], "value_smaller_than_min");
    EXPECT_EQ(e["message"], "Value 8 smaller than min of 32");
    EXPECT_EQ(e["details"], "model_input_size");
    EXPECT_EQ(e["extra_info"]["received_value"], 8);
    EXPECT_EQ(e["extra_info"]["input_config"][0], "INT");
    EXPECT_EQ(e["extra_info"]["input_config"][1]["max"], 4096);
    EXPECT_EQ(v.error["details"], "Value 8 smaller than min of 32: model_input_size");
}

TEST(ValidateTest, AboveMaxIsRejectedAndStepIsNot) {
    EXPECT_EQ(check(ddcolor_graph("x.png", 4097)).node_errors["2"]["errors"][0]["type"],
              "value_bigger_than_max");
    EXPECT_TRUE(check(ddcolor_graph("x.png", 33)).ok);  // step 32 is not enforced
    EXPECT_TRUE(check(ddcolor_graph("x.png", 4096)).ok);
}

TEST(ValidateTest, IntInputsAreCoercedLikePython) {
    Json g = ddcolor_graph("x.png");
    g["2"]["inputs"]["model_input_size"] = "640";
    const Validation v = check(g);
    ASSERT_TRUE(v.ok);
    EXPECT_EQ(v.prompt["2"]["inputs"]["model_input_size"], 640);
    g["2"]["inputs"]["model_input_size"] = "big";
    const Json e = check(g).node_errors["2"]["errors"][0];
    EXPECT_EQ(e["type"], "invalid_input_type");
    EXPECT_EQ(e["message"], "Failed to convert an input value to a INT value");
    EXPECT_EQ(e["details"], "model_input_size, big, invalid literal for int() with base 10: 'big'");
}

TEST(ValidateTest, CheckpointMustBeInTheList) {
    const Validation v = check(ddcolor_graph("x.png", 512, "foo.pth"));
    ASSERT_FALSE(v.ok);
    const Json& e = v.node_errors["2"]["errors"][0];
    EXPECT_EQ(e["type"], "value_not_in_list");
    EXPECT_EQ(e["message"], "Value not in list");
    EXPECT_EQ(e["details"],
              "checkpoint: 'foo.pth' not in ['ddcolor_paper_tiny.pth', 'ddcolor_paper.pth', "
              "'ddcolor_modelscope.pth', 'ddcolor_artistic.pth']");
    EXPECT_EQ(e["extra_info"]["received_value"], "foo.pth");
    EXPECT_EQ(e["extra_info"]["input_config"][0].size(), 4u);
}

TEST(ValidateTest, MissingInputFileIsCustomValidationFailed) {
    const Validation v = check(ddcolor_graph("person_bw.png"), /*image_present=*/false);
    ASSERT_FALSE(v.ok);
    ASSERT_TRUE(v.node_errors.contains("1"));
    EXPECT_FALSE(v.node_errors.contains("2"));  // only the failing node reports
    const Json& e = v.node_errors["1"]["errors"][0];
    EXPECT_EQ(e["type"], "custom_validation_failed");
    EXPECT_EQ(e["message"], "Custom validation failed for node");
    EXPECT_EQ(e["details"], "image - Invalid image file: person_bw.png");
    EXPECT_EQ(e["extra_info"], Json({{"input_name", "image"}}));
    EXPECT_EQ(v.node_errors["1"]["dependent_outputs"], Json::array({"3"}));
}

TEST(ValidateTest, ImageNameIsPassedToTheExistenceCheck) {
    std::string seen;
    const Validation v = validate_prompt(ddcolor_graph("gw/6f1c/person.png"), NodeTable::standard(),
                                         [&](const std::string& n) {
                                             seen = n;
                                             return true;
                                         });
    EXPECT_TRUE(v.ok);
    EXPECT_EQ(seen, "gw/6f1c/person.png");
}

TEST(ValidateTest, GraphWithoutOutputNodeHasNoOutputs) {
    Json g = ddcolor_graph("x.png");
    g.erase("3");
    const Validation v = check(g);
    ASSERT_FALSE(v.ok);
    EXPECT_EQ(v.error["type"], "prompt_no_outputs");
    EXPECT_EQ(v.error["message"], "Prompt has no outputs");
    EXPECT_TRUE(v.node_errors.empty());
}

TEST(ValidateTest, MissingRequiredInputAndWrongLinkType) {
    Json g = ddcolor_graph("x.png");
    g["2"]["inputs"].erase("checkpoint");
    g["2"]["inputs"]["image"] = Json::array({"1", 1});  // the MASK output
    const Json errors = check(g).node_errors["2"]["errors"];
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0]["type"], "return_type_mismatch");
    EXPECT_EQ(errors[0]["details"], "image, received_type(MASK) mismatch input_type(IMAGE)");
    EXPECT_EQ(errors[1]["type"], "required_input_missing");
    EXPECT_EQ(errors[1]["details"], "checkpoint");
}

TEST(ValidateTest, LinkToMissingNodeIsAnExceptionOnTheOutput) {
    Json g = ddcolor_graph("x.png");
    g["3"]["inputs"]["images"] = Json::array({"9", 0});
    const Validation v = check(g);
    ASSERT_FALSE(v.ok);
    EXPECT_EQ(v.node_errors["3"]["errors"][0]["type"], "exception_during_validation");
    EXPECT_EQ(v.node_errors["3"]["errors"][0]["extra_info"]["exception_type"], "KeyError");
}

TEST(ValidateTest, OneGoodOutputQueuesAndReportsTheBadOne) {
    Json g = ddcolor_graph("x.png");
    g["4"] = {{"class_type", "SaveImage"},
              {"inputs", {{"images", Json::array({"1", 1})}, {"filename_prefix", "x"}}}};
    const Validation v = check(g);
    ASSERT_TRUE(v.ok);
    EXPECT_EQ(v.outputs, std::vector<std::string>{"3"});
    EXPECT_EQ(v.node_errors["4"]["errors"][0]["type"], "return_type_mismatch");
}

TEST(ValidateTest, CanonicalUuid) {
    EXPECT_TRUE(is_canonical_uuid("6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11"));
    EXPECT_FALSE(is_canonical_uuid("6F1C2B0E-7D1A-4C1E-9D55-2A7E0F3B9C11"));
    EXPECT_FALSE(is_canonical_uuid("6f1c2b0e7d1a4c1e9d552a7e0f3b9c11"));
    EXPECT_FALSE(is_canonical_uuid("job-1"));
}

TEST(NodeTableTest, ObjectInfoMatchesTheDdcolorCapture) {
    const Json info = NodeTable::object_info(*NodeTable::standard().find("DDColor_Colorize"), {});
    const Json expected = Json::parse(R"({
    "input": {"required": {
        "image": ["IMAGE"],
        "model_input_size": ["INT", {"default": 512, "min": 32, "max": 4096, "step": 32}],
        "checkpoint": [["ddcolor_paper_tiny.pth", "ddcolor_paper.pth", "ddcolor_modelscope.pth",
                        "ddcolor_artistic.pth"], {"default": "ddcolor_paper_tiny.pth"}]}},
    "input_order": {"required": ["image", "model_input_size", "checkpoint"]},
    "is_input_list": false, "output": ["IMAGE"], "output_is_list": [false],
    "output_name": ["colorized_image"], "name": "DDColor_Colorize",
    "display_name": "DDColor_Colorize", "description": "",
    "python_module": "custom_nodes.ComfyUI-DDColor", "category": "DDColor",
    "output_node": false, "has_intermediate_output": false, "search_aliases": []})");
    EXPECT_EQ(info, expected);
}

TEST(NodeTableTest, LoadImageListsInputFiles) {
    const Json info = NodeTable::object_info(*NodeTable::standard().find("LoadImage"), {"a.png"});
    EXPECT_EQ(info["input"]["required"]["image"][0], Json::array({"a.png"}));
    EXPECT_EQ(NodeTable::standard().find("Unknown"), nullptr);
}

}  // namespace
}  // namespace tollgate::comfysim
