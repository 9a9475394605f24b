#include "dispatch/workflow_template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace tollgate::dispatch {
namespace {

std::filesystem::path workflows_dir() {
    return std::filesystem::path(__FILE__).parent_path() / "../../config/workflows";
}

TEST(WorkflowTemplateTest, LoadsTheShippedPersonTemplate) {
    auto t = WorkflowTemplate::load((workflows_dir() / "ddcolor_person.api.json").string());
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->load_image_node_id(), "1");
    EXPECT_EQ(t->save_image_node_ids(), std::vector<std::string>{"3"});
    EXPECT_EQ(t->graph()["2"]["inputs"]["model_input_size"], 512);
}

TEST(WorkflowTemplateTest, LoadsTheShippedBuildingTemplate) {
    auto t = WorkflowTemplate::load((workflows_dir() / "ddcolor_building.api.json").string());
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->graph()["2"]["inputs"]["model_input_size"], 1024);
}

TEST(WorkflowTemplateTest, FillSetsImageAndPrefixAndLeavesTheRest) {
    auto t = WorkflowTemplate::load((workflows_dir() / "ddcolor_person.api.json").string());
    ASSERT_TRUE(t.ok()) << t.error().message;
    const nlohmann::json g = t->fill("tollgate/job_1/job_1.png", "tollgate/job_1");
    EXPECT_EQ(g["1"]["inputs"]["image"], "tollgate/job_1/job_1.png");
    EXPECT_EQ(g["3"]["inputs"]["filename_prefix"], "tollgate/job_1");
    EXPECT_EQ(g["2"], t->graph()["2"]);
    EXPECT_EQ(g["3"]["inputs"]["images"], t->graph()["3"]["inputs"]["images"]);
    // The template itself is unchanged.
    EXPECT_EQ(t->graph()["1"]["inputs"]["image"], "person_bw.png");
}

TEST(WorkflowTemplateTest, FillSetsEverySaveImageNode) {
    const char* text = R"({
      "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
      "10": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "a"}},
      "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "b"}}})";
    auto t = WorkflowTemplate::from_json_text(text, "two_saves");
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->save_image_node_ids(), (std::vector<std::string>{"2", "10"}));
    const nlohmann::json g = t->fill("img", "pre");
    EXPECT_EQ(g["2"]["inputs"]["filename_prefix"], "pre");
    EXPECT_EQ(g["10"]["inputs"]["filename_prefix"], "pre");
}

void expect_invalid(const std::string& text, const std::string& needle) {
    auto t = WorkflowTemplate::from_json_text(text, "bad.json");
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_EQ(t.error().code, "invalid_workflow_template");
    EXPECT_NE(t.error().message.find("bad.json"), std::string::npos) << t.error().message;
    EXPECT_NE(t.error().message.find(needle), std::string::npos) << t.error().message;
}

TEST(WorkflowTemplateTest, RejectsInvalidTemplates) {
    const std::string save = R"("9": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}})";
    const std::string load = R"("1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}})";
    expect_invalid("", "not valid JSON");
    expect_invalid("{", "not valid JSON");
    expect_invalid("[]", "not a JSON object");
    expect_invalid("{}", "no nodes");
    expect_invalid(R"({"nodes": [], "links": []})", "UI-format");
    expect_invalid(R"({"9": {"class_type": "SaveImage", "inputs": {}}})", "exactly one LoadImage");
    expect_invalid("{" + load + "," + save + R"(, "2": {"class_type": "LoadImage", "inputs": {}}})",
                   "found 2");
    expect_invalid("{" + load + "}", "at least one SaveImage");
    expect_invalid("{" + load + "," + save + R"(, "5": 3})", "node \"5\" is not an object");
    expect_invalid("{" + load + "," + save + R"(, "5": {"inputs": {}}})", "class_type");
    expect_invalid("{" + load + "," + save + R"(, "5": {"class_type": 7, "inputs": {}}})",
                   "class_type");
    expect_invalid("{" + load + "," + save + R"(, "5": {"class_type": "X"}})", "inputs");
    expect_invalid(
        "{" + load + R"(, "9": {"class_type": "SaveImage", "inputs": {"images": ["4", 0]}}})",
        "missing node \"4\"");
    expect_invalid(std::string(70, '[') + std::string(70, ']'), "deeper");
}

TEST(WorkflowTemplateTest, LoadNamesAMissingFile) {
    auto t = WorkflowTemplate::load("no/such/dir/template.json");
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, "invalid_workflow_template");
    EXPECT_NE(t.error().message.find("no/such/dir/template.json"), std::string::npos);
}

TEST(WorkflowTemplateTest, LoadRejectsAnOversizedFile) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("tollgate_wf_big_" +
                       std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".json");
    {
        std::ofstream out(path);
        out << std::string(kWorkflowTemplateBytesMax + 10, ' ');
    }
    auto t = WorkflowTemplate::load(path.string());
    std::filesystem::remove(path);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().message.find("larger than"), std::string::npos) << t.error().message;
}

TEST(WorkflowTemplateTest, NodeIdOrderIsNumericFirst) {
    EXPECT_TRUE(node_id_less("2", "10"));
    EXPECT_FALSE(node_id_less("10", "2"));
    EXPECT_TRUE(node_id_less("10", "a"));
    EXPECT_TRUE(node_id_less("a", "b"));
    EXPECT_FALSE(node_id_less("3", "3"));
}

}  // namespace
}  // namespace tollgate::dispatch
