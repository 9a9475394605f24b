#include "dispatch/workflow_template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

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

TEST(ParamBindingTest, ParsesNodeDotInput) {
    auto b = parse_param_binding("model_input_size", "2.model_input_size");
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ(b->param, "model_input_size");
    EXPECT_EQ(b->node_id, "2");
    EXPECT_EQ(b->input, "model_input_size");
    auto sub = parse_param_binding("upscale_factor", "12:5.scale_by");
    ASSERT_TRUE(sub.ok());
    EXPECT_EQ(sub->node_id, "12:5");
    EXPECT_EQ(sub->input, "scale_by");
    auto dotted = parse_param_binding("tile_size", "3.tile.size");  // split at the first '.'
    ASSERT_TRUE(dotted.ok());
    EXPECT_EQ(dotted->node_id, "3");
    EXPECT_EQ(dotted->input, "tile.size");
}

TEST(ParamBindingTest, RejectsUnknownParamsAndMalformedTargets) {
    auto unknown = parse_param_binding("quality", "2.model_input_size");
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, "invalid_param_binding");
    EXPECT_NE(unknown.error().message.find("\"quality\""), std::string::npos);
    for (const char* target : {"", "2", ".x", "2.", "2 .x", "2.x\n", "2\t.x"}) {
        auto b = parse_param_binding("tile_size", target);
        ASSERT_FALSE(b.ok()) << target;
        EXPECT_EQ(b.error().code, "invalid_param_binding");
        EXPECT_NE(b.error().message.find("<node id>.<input name>"), std::string::npos);
    }
    EXPECT_FALSE(parse_param_binding("tile_size", "2." + std::string(300, 'x')).ok());
}

const char* kGraph = R"({
  "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
  "2": {"class_type": "DDColor_Colorize",
        "inputs": {"image": ["1", 0], "model_input_size": 512, "checkpoint": "a.pth"}},
  "4": {"class_type": "ImageScaleBy",
        "inputs": {"image": ["2", 0], "upscale_method": "lanczos", "scale_by": 1.0}},
  "5": {"class_type": "Tiler", "inputs": {"image": ["4", 0], "tile_size": 512,
                                          "overlap": 32}},
  "3": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "p"}}})";

std::vector<ParamBinding> all_three() {
    return {{"model_input_size", "2", "model_input_size"},
            {"upscale_factor", "4", "scale_by"},
            {"tile_size", "5", "tile_size"}};
}

TEST(WorkflowTemplateTest, FillSetsEachBoundParameter) {
    auto t = WorkflowTemplate::from_json_text(kGraph, "graph.json", all_three());
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->bindings().size(), 3u);
    JobParams params;
    params.model_input_size = 768;
    params.upscale_factor = 4.0;
    params.tile_size = 1024;
    const nlohmann::json g = t->fill("img.png", "tollgate/j1", params);
    EXPECT_EQ(g["2"]["inputs"]["model_input_size"], 768);
    EXPECT_TRUE(g["2"]["inputs"]["model_input_size"].is_number_integer());
    EXPECT_EQ(g["4"]["inputs"]["scale_by"], 4.0);
    EXPECT_TRUE(g["4"]["inputs"]["scale_by"].is_number_float());
    EXPECT_EQ(g["4"]["inputs"].dump(),
              R"({"image":["2",0],"scale_by":4.0,"upscale_method":"lanczos"})");
    EXPECT_EQ(g["5"]["inputs"]["tile_size"], 1024);
    EXPECT_EQ(g["5"]["inputs"]["overlap"], 32);
    EXPECT_EQ(g["1"]["inputs"]["image"], "img.png");
    EXPECT_EQ(g["3"]["inputs"]["filename_prefix"], "tollgate/j1");
    EXPECT_EQ(t->graph()["2"]["inputs"]["model_input_size"], 512);  // the template is unchanged
}

TEST(WorkflowTemplateTest, EmptyOrUnboundParametersLeaveTheTemplateValue) {
    auto t = WorkflowTemplate::from_json_text(kGraph, "graph.json",
                                              {{"model_input_size", "2", "model_input_size"}});
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->fill("i", "p", JobParams{}), t->fill("i", "p"));
    JobParams params;
    params.upscale_factor = 2.0;  // bound nowhere in this template
    params.tile_size = 256;
    EXPECT_EQ(t->fill("i", "p", params), t->fill("i", "p"));
    auto unbound = WorkflowTemplate::from_json_text(kGraph, "graph.json");
    ASSERT_TRUE(unbound.ok());
    params.model_input_size = 640;
    EXPECT_EQ(unbound->fill("i", "p", params), unbound->fill("i", "p"));
    EXPECT_TRUE(unbound->bindings().empty());
}

TEST(WorkflowTemplateTest, OneParameterMayFeedSeveralInputs) {
    auto t = WorkflowTemplate::from_json_text(
        kGraph, "graph.json",
        {{"model_input_size", "2", "model_input_size"}, {"model_input_size", "5", "overlap"}});
    ASSERT_TRUE(t.ok()) << t.error().message;
    JobParams params;
    params.model_input_size = 640;
    const nlohmann::json g = t->fill("i", "p", params);
    EXPECT_EQ(g["2"]["inputs"]["model_input_size"], 640);
    EXPECT_EQ(g["5"]["inputs"]["overlap"], 640);
}

void expect_bad_binding(const std::vector<ParamBinding>& bindings,
                        const std::vector<std::string>& needles) {
    auto t = WorkflowTemplate::from_json_text(kGraph, "graph.json", bindings);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, "invalid_workflow_template");
    for (const auto& needle : needles) {
        EXPECT_NE(t.error().message.find(needle), std::string::npos)
            << "wanted: " << needle << "\ngot: " << t.error().message;
    }
}

TEST(WorkflowTemplateTest, BindingsAreValidatedAtLoad) {
    expect_bad_binding({{"quality", "2", "model_input_size"}},
                       {"graph.json", "param \"quality\"", "node \"2\"", "unknown parameter"});
    expect_bad_binding({{"model_input_size", "9", "model_input_size"}},
                       {"graph.json", "param \"model_input_size\"", "node \"9\"", "no such node"});
    expect_bad_binding({{"model_input_size", "2", "input_size"}},
                       {"graph.json", "node \"2\"", "input \"input_size\"",
                        "(DDColor_Colorize) has no such input"});
    expect_bad_binding({{"upscale_factor", "4", "image"}},
                       {"param \"upscale_factor\"", "node \"4\"", "is a link, not a value"});
    expect_bad_binding({{"model_input_size", "2", "checkpoint"}},
                       {"node \"2\"", "input \"checkpoint\"", "holds string, not a number"});
    expect_bad_binding(
        {{"model_input_size", "2", "model_input_size"}, {"tile_size", "2", "model_input_size"}},
        {"param \"tile_size\"", "already bound to \"model_input_size\""});
    std::vector<ParamBinding> many(kParamBindingsMax + 1, {"tile_size", "5", "tile_size"});
    expect_bad_binding(many, {"more than 32 parameter bindings"});
}

// fill() promises LoadImage.image = the job's image and SaveImage.filename_prefix
// = its prefix; a binding onto either (possible when the template holds a
// number there) used to load and then overwrite them in every job.
TEST(WorkflowTemplateTest, BindingsMayNotTargetTheInputsFillWrites) {
    const char* numbered = R"({
      "1": {"class_type": "LoadImage", "inputs": {"image": 5}},
      "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": 7}}})";
    for (const ParamBinding& b : std::vector<ParamBinding>{{"model_input_size", "1", "image"},
                                                           {"tile_size", "3", "filename_prefix"}}) {
        auto t = WorkflowTemplate::from_json_text(numbered, "graph.json", {b});
        ASSERT_FALSE(t.ok()) << b.node_id;
        EXPECT_EQ(t.error().code, "invalid_workflow_template");
        EXPECT_NE(t.error().message.find("the gateway fills this input"), std::string::npos)
            << t.error().message;
    }
}

TEST(WorkflowTemplateTest, LoadWithBindingsNamesTheFile) {
    const std::string path = (workflows_dir() / "ddcolor_person.api.json").string();
    auto ok = WorkflowTemplate::load(path, {{"model_input_size", "2", "model_input_size"}});
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    JobParams params;
    params.model_input_size = 680;
    EXPECT_EQ(ok->fill("i", "p", params)["2"]["inputs"]["model_input_size"], 680);
    auto bad = WorkflowTemplate::load(path, {{"model_input_size", "3", "model_input_size"}});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("ddcolor_person.api.json"), std::string::npos);
    EXPECT_NE(bad.error().message.find("node \"3\""), std::string::npos);
}

// The binding table in config/workflows/README.md: rows of
// | `<file>.api.json` | `<param>` | `<node>.<input>` |.
std::map<std::string, std::vector<std::pair<std::string, std::string>>> documented_bindings() {
    std::ifstream in(workflows_dir() / "README.md");
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> out;
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::stringstream row(line);
        std::string cell;
        while (std::getline(row, cell, '|')) {
            const auto b = cell.find('`');
            const auto e = cell.rfind('`');
            if (b != std::string::npos && e > b) cells.push_back(cell.substr(b + 1, e - b - 1));
        }
        if (cells.size() == 3 && cells[0].find(".api.json") != std::string::npos) {
            out[cells[0]].emplace_back(cells[1], cells[2]);
        }
    }
    return out;
}

TEST(WorkflowTemplateTest, EveryShippedTemplateLoadsWithItsDocumentedBindings) {
    const auto documented = documented_bindings();
    ASSERT_FALSE(documented.empty()) << "no binding rows in config/workflows/README.md";
    std::size_t templates = 0;
    for (const auto& file : std::filesystem::directory_iterator(workflows_dir())) {
        const std::string name = file.path().filename().string();
        if (name.size() < 9 || name.substr(name.size() - 9) != ".api.json") continue;
        SCOPED_TRACE(name);
        ++templates;
        ASSERT_TRUE(WorkflowTemplate::load(file.path().string()).ok());
        const auto it = documented.find(name);
        ASSERT_NE(it, documented.end()) << "document its bindings in config/workflows/README.md";
        std::vector<ParamBinding> bindings;
        for (const auto& [param, target] : it->second) {
            auto b = parse_param_binding(param, target);
            ASSERT_TRUE(b.ok()) << b.error().message;
            bindings.push_back(*b);
        }
        auto t = WorkflowTemplate::load(file.path().string(), bindings);
        ASSERT_TRUE(t.ok()) << t.error().message;
        // Every documented binding takes effect.
        JobParams params;
        params.model_input_size = 640;
        params.upscale_factor = 4.0;
        params.tile_size = 1024;
        const nlohmann::json g = t->fill("i", "p", params);
        for (const auto& b : bindings) {
            const nlohmann::json& v = g[b.node_id]["inputs"][b.input];
            if (b.param == kParamUpscaleFactor) {
                EXPECT_EQ(v, 4.0);
            }
            if (b.param == kParamModelInputSize) {
                EXPECT_EQ(v, 640);
            }
            if (b.param == kParamTileSize) {
                EXPECT_EQ(v, 1024);
            }
        }
    }
    EXPECT_EQ(templates, documented.size()) << "README rows name a template that does not exist";
    EXPECT_EQ(documented.at("super_resolution.api.json"),
              (std::vector<std::pair<std::string, std::string>>{{"upscale_factor", "2.scale_by"}}));
}

}  // namespace
}  // namespace tollgate::dispatch
