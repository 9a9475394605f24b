// Capabilities by config only: every shipped workflow template validates and
// runs on the built-in table, and a node class that exists only in a JSON
// file written by the test validates, runs and is served by /object_info.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "comfysim/executor.h"
#include "comfysim/node_file.h"
#include "comfysim/node_table.h"
#include "comfysim/routes.h"
#include "comfysim/sim_state.h"
#include "comfysim/storage.h"
#include "comfysim/validate.h"
#include "test_support.h"

namespace tollgate::comfysim {
namespace {

std::filesystem::path workflows_dir() {
    return std::filesystem::path(__FILE__).parent_path() / "../../config/workflows";
}

Json read_json(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
}

// Entries a test adds to the table; none of these classes is built in.
constexpr const char* kTestNodes = R"([
  {"class_type": "VintageLook", "behaviour": "image_filter", "effect": "grayscale", "cost": 0,
   "input": {"required": {"image": ["IMAGE"],
                          "amount": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0}]}},
   "output": ["IMAGE"], "output_name": ["vintage_image"],
   "display_name": "Vintage Look", "python_module": "custom_nodes.comfyui-vintage",
   "category": "looks"},
  {"class_type": "HalfSize", "behaviour": "image_scale", "scale": 0.5, "cost": 0,
   "input": {"required": {"pixels": ["IMAGE"]}}, "output": ["IMAGE"]},
  {"class_type": "TextOverlay", "behaviour": "image_filter", "effect": "identity",
   "input": {"required": {"image": ["IMAGE"], "text": ["STRING", {"multiline": true}]}},
   "output": ["IMAGE"]}
])";

NodeTable table_with_test_nodes() {
    testing::TempDir tmp;
    testing::write_file(tmp.path() / "test_nodes.json", kTestNodes);
    auto table = NodeTable::load({tmp.path() / "test_nodes.json"});
    EXPECT_TRUE(table.ok()) << table.error().message;
    return table.ok() ? std::move(table).value() : NodeTable::standard();
}

SimOptions zero_cost() {
    SimOptions o;
    o.cost_base_seconds = 0;
    o.cost_per_megapixel_seconds = 0;
    o.cold_start_min_seconds = o.cold_start_max_seconds = 0;
    return o;
}

class CapabilityTest : public ::testing::Test {
  protected:
    CapabilityTest() : storage_(tmp_.path()) { put_input(40, 30); }

    void put_input(int width, int height) {
        testing::write_file(tmp_.path() / "input" / "gw" / "photo.png",
                            testing::gray_png(width, height));
    }
    Sim& sim() {
        if (!sim_) sim_ = std::make_unique<Sim>(options_, table_, storage_, sink_, clock_);
        return *sim_;
    }
    // Queues and runs `graph`; returns the history entry.
    Json run(const Json& graph) { return testing::run_to_history(sim(), graph); }
    // The first image a node saved in `entry`, decoded.
    Image saved_image(const Json& entry, const std::string& node) {
        const Json& img = entry["outputs"][node]["images"][0];
        auto decoded = load_image(tmp_.path() / "output" / img["subfolder"].get<std::string>() /
                                  img["filename"].get<std::string>());
        EXPECT_TRUE(decoded.ok());
        return decoded.ok() ? std::move(decoded).value() : Image();
    }

    testing::TempDir tmp_;
    Storage storage_;
    testing::RecordingSink sink_;
    core::ManualClock clock_{1'732'780'800'000};
    SimOptions options_ = zero_cost();
    NodeTable table_ = NodeTable::standard();  // set before the first sim()
    std::unique_ptr<Sim> sim_;
};

std::string load_image_node(const Json& graph) {
    for (const auto& [id, node] : graph.items()) {
        if (node["class_type"] == "LoadImage") return id;
    }
    return "";
}

TEST_F(CapabilityTest, EveryShippedTemplateValidatesAndSavesAnImage) {
    std::vector<std::string> names;
    for (const auto& file : std::filesystem::directory_iterator(workflows_dir())) {
        const std::string name = file.path().filename().string();
        if (name.size() < 9 || name.substr(name.size() - 9) != ".api.json") continue;
        names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{
                         "ddcolor_building.api.json", "ddcolor_person.api.json",
                         "ddcolor_person_metered.api.json", "denoise.api.json", "ocr.api.json",
                         "scratch_removal.api.json", "super_resolution.api.json"}));
    for (const auto& name : names) {
        SCOPED_TRACE(name);
        Json graph = read_json(workflows_dir() / name);
        graph[load_image_node(graph)]["inputs"]["image"] = "gw/photo.png";
        const Validation v =
            validate_prompt(graph, NodeTable::standard(), [](const std::string&) { return true; });
        ASSERT_TRUE(v.ok) << v.error.dump() << v.node_errors.dump();
        const Json entry = run(graph);
        ASSERT_EQ(entry["status"]["status_str"], "success") << entry.dump();
        // One saved image; a metered template also has the meter's figures.
        std::string save_id;
        for (const auto& [id, ui] : entry["outputs"].items()) {
            const std::string class_type = graph[id]["class_type"];
            if (class_type == "SaveImage") {
                EXPECT_TRUE(save_id.empty()) << "a second SaveImage output: " << id;
                save_id = id;
            } else {
                EXPECT_EQ(class_type, "TollgateMeter");
                EXPECT_TRUE(ui.contains(kMeterUiKey)) << ui.dump();
            }
        }
        ASSERT_FALSE(save_id.empty()) << entry["outputs"].dump();
        const Image out = saved_image(entry, save_id);
        // Only an ImageScaleBy node changes the size.
        double scale = 1.0;
        for (const auto& [id, node] : graph.items()) {
            if (node["class_type"] == "ImageScaleBy") scale = node["inputs"]["scale_by"];
        }
        EXPECT_EQ(out.width(), std::lround(40 * scale));
        EXPECT_EQ(out.height(), std::lround(30 * scale));
        EXPECT_EQ(out.bands(), 3);
    }
}

TEST_F(CapabilityTest, SuperResolutionScalesByTheBoundFactor) {
    Json graph = read_json(workflows_dir() / "super_resolution.api.json");
    graph["1"]["inputs"]["image"] = "gw/photo.png";
    Image at2 = saved_image(run(graph), "3");
    EXPECT_EQ(at2.width(), 80);
    EXPECT_EQ(at2.height(), 60);
    graph["2"]["inputs"]["scale_by"] = 4.0;
    Image at4 = saved_image(run(graph), "3");
    EXPECT_EQ(at4.width(), 160);
    EXPECT_EQ(at4.height(), 120);
    // A scale_by outside the node's range is a validation error, as in ComfyUI.
    graph["2"]["inputs"]["scale_by"] = 9.0;
    const Reply r = sim().submit({{"prompt", graph}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body["node_errors"]["2"]["errors"][0]["type"], "value_bigger_than_max");
}

TEST_F(CapabilityTest, ScaledSizesRoundHalfToEvenLikePython) {
    put_input(41, 31);
    Json graph = read_json(workflows_dir() / "super_resolution.api.json");
    graph["1"]["inputs"]["image"] = "gw/photo.png";
    graph["2"]["inputs"]["scale_by"] = 1.5;  // 61.5 -> 62, 46.5 -> 46
    graph["2"]["inputs"]["upscale_method"] = "nearest-exact";
    const Image out = saved_image(run(graph), "3");
    EXPECT_EQ(out.width(), 62);
    EXPECT_EQ(out.height(), 46);
}

TEST_F(CapabilityTest, ScaleToNothingFailsTheNode) {
    Json graph = read_json(workflows_dir() / "super_resolution.api.json");
    graph["1"]["inputs"]["image"] = "gw/photo.png";
    graph["2"]["inputs"]["scale_by"] = 0.01;
    const Json entry = run(graph);
    EXPECT_EQ(entry["status"]["status_str"], "error");
    const Json& error = entry["status"]["messages"].back()[1];
    EXPECT_EQ(error["node_id"], "2");
    EXPECT_EQ(error["exception_type"], "RuntimeError");
    EXPECT_NE(error["exception_message"].get<std::string>().find("output (H: 0, W: 0)"),
              std::string::npos);
}

TEST_F(CapabilityTest, ALiteralWhereAnImageBelongsFailsTheNode) {
    Json graph = read_json(workflows_dir() / "denoise.api.json");
    graph["1"]["inputs"]["image"] = "gw/photo.png";
    graph["2"]["inputs"]["image"] = "photo.png";  // validation lets this through, as ComfyUI's does
    const Json entry = run(graph);
    const Json& error = entry["status"]["messages"].back()[1];
    EXPECT_EQ(error["node_id"], "2");
    EXPECT_EQ(error["exception_type"], "AttributeError");
    EXPECT_EQ(error["exception_message"], "'str' object has no attribute 'shape'\n");
    graph["2"]["inputs"]["image"] = Json::array({"1", 0});
    graph["3"]["inputs"]["images"] = 7;
    const Json save_entry = run(graph);
    const Json& save_error = save_entry["status"]["messages"].back()[1];
    EXPECT_EQ(save_error["node_id"], "3");
    EXPECT_EQ(save_error["exception_message"], "'int' object has no attribute 'shape'\n");
}

TEST_F(CapabilityTest, AHugeUpscaleRunsOutOfMemoryWithoutAllocating) {
    put_input(2048, 2000);  // x8 is 262 megapixels
    Json graph = read_json(workflows_dir() / "super_resolution.api.json");
    graph["1"]["inputs"]["image"] = "gw/photo.png";
    graph["2"]["inputs"]["scale_by"] = 8.0;
    const Json entry = run(graph);
    EXPECT_EQ(entry["status"]["messages"].back()[1]["exception_type"], "torch.OutOfMemoryError");
}

TEST_F(CapabilityTest, OcrDrawsItsBoxes) {
    Json graph = read_json(workflows_dir() / "ocr.api.json");
    graph["1"]["inputs"]["image"] = "gw/photo.png";
    const Image out = saved_image(run(graph), "3");
    ASSERT_EQ(out.width(), 40);
    const auto box = pixel_at(out, 40 / 8, 15);  // on the box's left edge
    ASSERT_EQ(box.size(), 3u);
    EXPECT_EQ(box[0], 255);
    EXPECT_EQ(box[1], 64);
    EXPECT_EQ(box[2], 0);
    const auto inside = pixel_at(out, 20, 15);
    EXPECT_EQ(inside[0], inside[1]);  // the gray picture itself
}

TEST_F(CapabilityTest, ANodeDefinedOnlyInATestFileValidatesAndRuns) {
    table_ = table_with_test_nodes();
    const Json graph = Json::parse(R"({
      "1": {"class_type": "LoadImage", "inputs": {"image": "gw/photo.png"}},
      "2": {"class_type": "DDColor_Colorize",
            "inputs": {"image": ["1", 0], "model_input_size": 512,
                       "checkpoint": "ddcolor_modelscope.pth"}},
      "3": {"class_type": "VintageLook", "inputs": {"image": ["2", 0], "amount": 0.3}},
      "4": {"class_type": "HalfSize", "inputs": {"pixels": ["3", 0]}},
      "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "v/x"}}
    })");
    auto exists = [](const std::string&) { return true; };
    const Validation unknown = validate_prompt(graph, NodeTable::standard(), exists);
    EXPECT_EQ(unknown.error["type"], "missing_node_type");
    Json too_much = graph;
    too_much["3"]["inputs"]["amount"] = 2;
    const Validation bad = validate_prompt(too_much, table_, exists);
    ASSERT_FALSE(bad.ok);
    EXPECT_EQ(bad.node_errors["3"]["errors"][0]["type"], "value_bigger_than_max");
    EXPECT_EQ(bad.node_errors["3"]["class_type"], "VintageLook");

    const Json entry = run(graph);
    ASSERT_EQ(entry["status"]["status_str"], "success") << entry.dump();
    const Image out = saved_image(entry, "5");
    EXPECT_EQ(out.width(), 20);
    EXPECT_EQ(out.height(), 15);
    const auto p = pixel_at(out, 10, 7);
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0], p[1]);  // DDColor tinted it; VintageLook made it gray again
    EXPECT_EQ(p[1], p[2]);
}

TEST(CapabilityAppTest, ObjectInfoServesTheLoadedTable) {
    testing::TempDir tmp;
    AppOptions options;
    options.data_dir = tmp.path();
    options.nodes = table_with_test_nodes();
    App app(options, core::SystemClock::instance());
    http::Request request;
    request.method = "GET";
    request.path = "/object_info/VintageLook";
    const http::Response one = app.handle(request);
    ASSERT_EQ(one.status, 200);
    const Json info = Json::parse(one.body)["VintageLook"];
    EXPECT_EQ(info["display_name"], "Vintage Look");
    EXPECT_EQ(info["python_module"], "custom_nodes.comfyui-vintage");
    EXPECT_EQ(info["output_name"], Json::array({"vintage_image"}));
    EXPECT_EQ(info["input"]["required"]["amount"][1]["max"], 1.0);
    request.path = "/object_info";
    const Json all = Json::parse(app.handle(request).body);
    EXPECT_TRUE(all.contains("ImageScaleBy"));
    EXPECT_TRUE(all.contains("HalfSize"));
}

class CapabilityCostTest : public CapabilityTest {
  protected:
    CapabilityCostTest() {
        options_.cost_base_seconds = 0.5;
        options_.cost_per_megapixel_seconds = 2.0;
        options_.gpu_wait_for_test = [this](double s) { waits_.push_back(s); };
        put_input(1000, 500);
    }
    std::vector<double> waits_;
};

TEST_F(CapabilityCostTest, CostIsTheTableMultiplierTimesTheLargerImage) {
    Json graph = read_json(workflows_dir() / "super_resolution.api.json");
    graph["1"]["inputs"]["image"] = "gw/photo.png";
    run(graph);
    ASSERT_EQ(waits_.size(), 1u);
    // ImageScaleBy costs 0.25; its output is 2000x1000, 2 megapixels.
    EXPECT_DOUBLE_EQ(waits_[0], 0.25 * (0.5 + 2.0 * 2.0));
}

TEST_F(CapabilityCostTest, FreeNodesTakeNoTimeAndNeverFail) {
    options_.fail_rate = 1.0;
    table_ = table_with_test_nodes();
    const Json entry = run(Json::parse(R"({
      "1": {"class_type": "LoadImage", "inputs": {"image": "gw/photo.png"}},
      "2": {"class_type": "VintageLook", "inputs": {"image": ["1", 0], "amount": 1}},
      "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "v"}}
    })"));
    EXPECT_EQ(entry["status"]["status_str"], "success");
    EXPECT_TRUE(waits_.empty());
}

TEST_F(CapabilityCostTest, FailRateAppliesToEveryGpuNode) {
    options_.fail_rate = 1.0;
    Json graph = read_json(workflows_dir() / "denoise.api.json");
    graph["1"]["inputs"]["image"] = "gw/photo.png";
    const Json entry = run(graph);
    const Json& error = entry["status"]["messages"].back()[1];
    EXPECT_EQ(error["node_type"], "ImageDenoise");
    EXPECT_EQ(error["exception_type"], "torch.OutOfMemoryError");
    EXPECT_EQ(error["current_inputs"]["tile_size"], Json::array({512}));
}

TEST(CapabilityRunTest, OcrTextFlowsThroughItsStringOutput) {
    testing::TempDir tmp;
    Storage storage(tmp.path());
    testing::write_file(tmp.path() / "input" / "doc.png", testing::gray_png(40, 30));
    const NodeTable table = table_with_test_nodes();
    const Validation v = validate_prompt(Json::parse(R"({
      "1": {"class_type": "LoadImage", "inputs": {"image": "doc.png"}},
      "2": {"class_type": "OCRAnnotate", "inputs": {"image": ["1", 0], "language": "en",
            "detection_size": 1024, "min_confidence": 0.5}},
      "3": {"class_type": "TextOverlay", "inputs": {"image": ["2", 0], "text": ["2", 1]}},
      "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "o"}}
    })"),
                                         table, [](const std::string&) { return true; });
    ASSERT_TRUE(v.ok) << v.error.dump() << v.node_errors.dump();
    NodeCache cache;
    RunContext ctx;
    ctx.table = &table;
    ctx.storage = &storage;
    ctx.cache = &cache;
    ctx.use_cache = false;
    int gpu_runs = 0;
    RunHooks hooks;
    hooks.executing = [](const std::string&) {};
    hooks.executed = [](const std::string&, const Json&) {};
    hooks.interrupted = [] { return false; };
    hooks.gpu_work = [&](const GpuWork&) {  // OCR runs, TextOverlay fails
        return ++gpu_runs == 2 ? GpuOutcome::OutOfMemory : GpuOutcome::Done;
    };
    GraphRun run(v.prompt, v.outputs, ctx);
    const RunResult result = run.execute(hooks);
    ASSERT_EQ(result.outcome, RunOutcome::Error);
    EXPECT_EQ(result.node_id, "3");
    EXPECT_EQ(result.current_inputs["text"], Json::array({"'simulated text, 1 region, 40x30'"}));
    EXPECT_EQ(result.current_inputs["image"],
              Json::array({"tensor(shape=[1, 30, 40, 3], dtype=torch.float32)"}));
}

}  // namespace
}  // namespace tollgate::comfysim
