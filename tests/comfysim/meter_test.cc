// The TollgateMeter node in comfysim: it passes its image through and reports,
// in the real node's UI shape, the simulated time waited since the prompt's
// execution_start and the simulated device's peak during the prompt. Waits
// go to gpu_wait_for_test, so nothing sleeps.
#include "comfysim/meter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include "comfysim/gpu.h"
#include "comfysim/node_table.h"
#include "comfysim/sim_state.h"
#include "comfysim/storage.h"
#include "test_support.h"

namespace tollgate::comfysim {
namespace {

using testing::names;

constexpr std::int64_t kBytesPerMiB = 1024 * 1024;
// DDColor_Colorize in nodes.json: 1024 MiB of weights, 600 MiB per megapixel.
constexpr std::int64_t kDdcolorWeightsBytes = 1024 * kBytesPerMiB;

std::int64_t ddcolor_peak_bytes(int width, int height) {
    const double megapixels = static_cast<double>(width) * height / 1e6;
    return kDdcolorWeightsBytes +
           std::llround(static_cast<double>(600 * kBytesPerMiB) * megapixels);
}

// config/workflows/ddcolor_person_metered.api.json: LoadImage "1" ->
// DDColor_Colorize "2" -> TollgateMeter "4" -> SaveImage "3".
Json metered_graph(const std::string& image, const std::string& prefix = "ddcolor/person") {
    const auto path = std::filesystem::path(__FILE__).parent_path() /
                      "../../config/workflows/ddcolor_person_metered.api.json";
    std::ifstream in(path, std::ios::binary);
    Json graph = Json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
    graph["1"]["inputs"]["image"] = image;
    graph["3"]["inputs"]["filename_prefix"] = prefix;
    return graph;
}

// The UI output the real node returns, keys in its order.
Json figures(std::int64_t wall_ms, std::int64_t gpu_peak_bytes) {
    return {{"tollgate_meter", Json::array({{{"version", 1},
                                             {"wall_ms", wall_ms},
                                             {"wall_source", "execution_start"},
                                             {"gpu_peak_bytes", gpu_peak_bytes},
                                             {"device", "cuda:0"}}})}};
}

class MeterTest : public ::testing::Test {
  protected:
    MeterTest() : storage_(tmp_.path()) {
        options_.cost_base_seconds = 0.5;
        options_.cost_per_megapixel_seconds = 0;
        options_.cold_start_min_seconds = options_.cold_start_max_seconds = 3;
        options_.gpu_wait_for_test = [this](double s) { waits_.push_back(s); };
        put_input("small.png", 40, 30);
        put_input("large.png", 400, 300);
    }
    void put_input(const std::string& name, int width, int height) {
        testing::write_file(tmp_.path() / "input" / name, testing::gray_png(width, height));
    }
    Sim& sim() {
        if (!sim_)
            sim_ = std::make_unique<Sim>(options_, NodeTable::standard(), storage_, sink_, clock_);
        return *sim_;
    }
    Json run(const Json& graph) { return testing::run_to_history(sim(), graph); }
    double waited_seconds() const {
        double sum = 0;
        for (double s : waits_) sum += s;
        return sum;
    }
    Image saved(const Json& entry, const std::string& node) {
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
    SimOptions options_;
    std::vector<double> waits_;
    std::unique_ptr<Sim> sim_;
};

TEST_F(MeterTest, HistoryAndExecutedCarryTheWaitedTimeAndTheDevicePeak) {
    const Json entry = run(metered_graph("small.png"));
    ASSERT_EQ(entry["status"]["status_str"], "success") << entry.dump();
    // The cold start and DDColor's work, all before the meter.
    EXPECT_EQ(waits_, (std::vector<double>{3.0, 0.5}));
    const Json expected =
        figures(std::llround(waited_seconds() * 1000), ddcolor_peak_bytes(40, 30));
    EXPECT_EQ(expected["tollgate_meter"][0]["wall_ms"], 3500);
    EXPECT_EQ(entry["outputs"]["4"], expected);
    EXPECT_EQ(entry["meta"]["4"]["node_id"], "4");
    // The first prompt's peak is also the allocator's all-time peak.
    EXPECT_EQ(expected["tollgate_meter"][0]["gpu_peak_bytes"],
              sim().device_stats().torch_vram_total);
    EXPECT_TRUE(entry["outputs"]["3"].contains("images"));

    std::vector<testing::Event> events = sink_.take();
    std::vector<std::string> order;
    for (const auto& n : names(events)) {
        if (n.rfind("executing:", 0) == 0 || n.rfind("executed:", 0) == 0) order.push_back(n);
    }
    EXPECT_EQ(order,
              (std::vector<std::string>{"executing:1", "executing:2", "executing:4", "executed:4",
                                        "executing:3", "executed:3", "executing:null"}));
    for (const auto& e : events) {
        if (e.type == "executed" && e.data["node"] == "4") {
            EXPECT_EQ(e.data["output"], expected);
        }
    }
}

TEST_F(MeterTest, TheImagePassesThroughUnchanged) {
    const Json metered = run(metered_graph("small.png", "metered"));
    const Json plain = run(testing::ddcolor_graph("small.png", 512, "ddcolor_modelscope.pth", "p"));
    const Image a = saved(metered, "3");
    const Image b = saved(plain, "3");
    ASSERT_EQ(a.width(), 40);
    ASSERT_EQ(a.height(), b.height());
    ASSERT_EQ(a.width(), b.width());
    // A grid of samples: reading every pixel through libvips is slow.
    for (int y = 0; y < a.height(); y += 3) {
        for (int x = 0; x < a.width(); x += 3) {
            ASSERT_EQ(pixel_at(a, x, y), pixel_at(b, x, y)) << x << "," << y;
        }
    }
}

TEST_F(MeterTest, EachPromptGetsItsOwnTimeAndPeak) {
    run(metered_graph("large.png"));
    waits_.clear();
    const Json entry = run(metered_graph("small.png"));
    EXPECT_EQ(waits_, std::vector<double>{0.5});  // the model is warm now
    EXPECT_EQ(entry["outputs"]["4"], figures(500, ddcolor_peak_bytes(40, 30)));
    // The allocator still remembers the larger prompt's peak; the meter does not.
    EXPECT_EQ(sim().device_stats().torch_vram_total, ddcolor_peak_bytes(400, 300));
}

TEST_F(MeterTest, AnIdenticalRerunMetersAgainWithoutGpuWork) {
    run(metered_graph("small.png"));
    sink_.take();
    waits_.clear();
    const Json entry = run(metered_graph("small.png"));
    EXPECT_TRUE(waits_.empty());
    // Like the real node (IS_CHANGED is NaN), the meter is never cached, so
    // it and SaveImage after it run again; DDColor comes from the cache.
    const Json& messages = entry["status"]["messages"];
    EXPECT_EQ(messages[1][0], "execution_cached");
    EXPECT_EQ(messages[1][1]["nodes"], Json::array({"1", "2"}));
    // Nothing waited; the peak is the DDColor weights that stayed loaded.
    EXPECT_EQ(entry["outputs"]["4"], figures(0, kDdcolorWeightsBytes));
    EXPECT_EQ(entry["outputs"]["3"]["images"][0]["filename"], "person_00002_.png");
}

TEST_F(MeterTest, OnlyTheGraphBeforeTheMeterCounts) {
    const Json graph = Json::parse(R"({
      "1": {"class_type": "LoadImage", "inputs": {"image": "small.png"}},
      "2": {"class_type": "TollgateMeter", "inputs": {"image": ["1", 0]}},
      "3": {"class_type": "DDColor_Colorize",
            "inputs": {"image": ["2", 0], "model_input_size": 512,
                       "checkpoint": "ddcolor_modelscope.pth"}},
      "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "x"}}
    })");
    const Json entry = run(graph);
    ASSERT_EQ(entry["status"]["status_str"], "success") << entry.dump();
    EXPECT_EQ(waits_, (std::vector<double>{3.0, 0.5}));  // DDColor ran, after the meter
    EXPECT_EQ(entry["outputs"]["2"], figures(0, 0));     // a fresh device, nothing before it
}

TEST(MeterUiTest, NoReadingOrAnOutOfRangeFigureIsNull) {
    const Json none = meter_ui(std::nullopt);
    EXPECT_EQ(none, Json::parse(R"({"tollgate_meter": [{"version": 1, "wall_ms": null,
        "wall_source": null, "gpu_peak_bytes": null, "device": null}]})"));
    const Json late = meter_ui(MeterReading{kMeterWallMsMax + 1, 7});
    EXPECT_TRUE(late["tollgate_meter"][0]["wall_ms"].is_null());
    EXPECT_TRUE(late["tollgate_meter"][0]["wall_source"].is_null());
    EXPECT_EQ(late["tollgate_meter"][0]["gpu_peak_bytes"], 7);
    EXPECT_EQ(meter_ui(MeterReading{kMeterWallMsMax, 0})["tollgate_meter"][0]["wall_ms"],
              kMeterWallMsMax);
}

}  // namespace
}  // namespace tollgate::comfysim
