// The simulated GPU inside Sim: cold starts, VRAM limits and tiling, and the
// faults (hang, crash, WebSocket drop) that the command line switches on.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "comfysim/node_table.h"
#include "comfysim/sim_state.h"
#include "comfysim/storage.h"
#include "test_support.h"

namespace tollgate::comfysim {
namespace {

using testing::ddcolor_graph;
using testing::names;
using V = std::vector<std::string>;

constexpr std::int64_t kGiB = 1024ll * 1024 * 1024;
constexpr const char* kOomMessage =
    "Allocation on device \nThis error means you ran out of memory on your GPU.\n\nTIPS: If the "
    "workflow worked before you might have accidentally set the batch_size to a large number.";

class SimGpuTest : public ::testing::Test {
  protected:
    SimGpuTest() : storage_(tmp_.path()) {
        options_.cost_base_seconds = 0.5;
        options_.cost_per_megapixel_seconds = 0;
        options_.cold_start_min_seconds = options_.cold_start_max_seconds = 3;
        options_.cache = false;
        options_.gpu_wait_for_test = [this](double s) { waits_.push_back(s); };
        put_input("small.png", 40, 30);
    }
    void put_input(const std::string& name, int width, int height) {
        testing::write_file(tmp_.path() / "input" / name, testing::gray_png(width, height));
    }
    Sim& sim() {
        if (!sim_)
            sim_ = std::make_unique<Sim>(options_, NodeTable::standard(), storage_, sink_, clock_);
        return *sim_;
    }
    // Queues and runs `graph`; returns the history entry.
    Json run(const Json& graph) { return testing::run_to_history(sim(), graph); }
    static Json denoise_graph(const std::string& image, int tile_size) {
        return Json::parse(R"({
          "1": {"class_type": "LoadImage", "inputs": {"image": ""}},
          "2": {"class_type": "ImageDenoise",
                "inputs": {"image": ["1", 0], "model": "scunet_color_real_psnr.pth",
                           "strength": 1.0, "tile_size": 512}},
          "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "d"}}
        })")
            .patch(Json::array(
                {{{"op", "replace"}, {"path", "/1/inputs/image"}, {"value", image}},
                 {{"op", "replace"}, {"path", "/2/inputs/tile_size"}, {"value", tile_size}}}));
    }

    testing::TempDir tmp_;
    Storage storage_;
    testing::RecordingSink sink_;
    core::ManualClock clock_{1'732'780'800'000};
    SimOptions options_;
    std::vector<double> waits_;
    std::unique_ptr<Sim> sim_;
};

TEST_F(SimGpuTest, AModelsFirstUseIsAColdStart) {
    EXPECT_EQ(run(ddcolor_graph("small.png"))["status"]["status_str"], "success");
    EXPECT_EQ(waits_, (std::vector<double>{3.0, 0.5}));
    EXPECT_EQ(sim().loaded_models(), V{"ddcolor_modelscope.pth"});
    waits_.clear();
    run(ddcolor_graph("small.png"));
    EXPECT_EQ(waits_, std::vector<double>{0.5});  // warm
    waits_.clear();
    run(ddcolor_graph("small.png", 512, "ddcolor_artistic.pth"));
    EXPECT_EQ(waits_, (std::vector<double>{3.0, 0.5}));  // another checkpoint is another model
    EXPECT_EQ(sim().loaded_models(), (V{"ddcolor_modelscope.pth", "ddcolor_artistic.pth"}));
}

TEST_F(SimGpuTest, ColdStartsAreDrawnFromTheRange) {
    options_.cold_start_min_seconds = 2;
    options_.cold_start_max_seconds = 5;
    for (const char* checkpoint : {"ddcolor_paper_tiny.pth", "ddcolor_paper.pth"}) {
        run(ddcolor_graph("small.png", 512, checkpoint));
    }
    ASSERT_EQ(waits_.size(), 4u);
    for (double cold : {waits_[0], waits_[2]}) {
        EXPECT_GE(cold, 2.0);
        EXPECT_LE(cold, 5.0);
    }
    EXPECT_NE(waits_[0], waits_[2]);
}

// bench/dispatch runs comfysim with --cost-base-s 0 --cost-per-mp-s 0
// --cold-start-s 0 as a zero-cost model; that holds only while every built-in
// GPU node takes its time from those flags rather than its own "seconds".
TEST_F(SimGpuTest, ZeroCostFlagsMakeEveryBuiltInNodeFree) {
    for (const NodeSpec& spec : NodeTable::standard().nodes()) {
        EXPECT_FALSE(spec.fixed_seconds) << spec.class_type;
    }
    options_.cost_base_seconds = 0;
    options_.cost_per_megapixel_seconds = 0;
    options_.cold_start_min_seconds = options_.cold_start_max_seconds = 0;
    put_input("large.png", 1600, 1200);
    for (const char* image : {"small.png", "large.png"}) {
        EXPECT_EQ(run(ddcolor_graph(image))["status"]["status_str"], "success");
    }
    ASSERT_FALSE(waits_.empty());
    for (double seconds : waits_) EXPECT_EQ(seconds, 0.0);
}

TEST_F(SimGpuTest, VramUseShowsInDeviceStats) {
    std::optional<DeviceStats> during;
    options_.gpu_wait_for_test = [this, &during](double) { during = sim_->device_stats(); };
    const DeviceStats idle = sim().device_stats();
    EXPECT_EQ(idle.vram_total, kVramTotalBytesDefault);
    run(ddcolor_graph("small.png"));
    ASSERT_TRUE(during.has_value());
    const DeviceStats after = sim().device_stats();
    const std::int64_t weights = NodeTable::standard().find("DDColor_Colorize")->vram_bytes;
    EXPECT_LT(during->vram_free, after.vram_free);  // working memory while it runs
    EXPECT_EQ(after.vram_free, idle.vram_free - weights);
    EXPECT_GT(after.torch_vram_total, weights);
    EXPECT_EQ(after.torch_vram_free, after.torch_vram_total - weights);
}

TEST_F(SimGpuTest, OverTheVramLimitIsOutOfMemoryAndUnloadsModels) {
    options_.vram_total_bytes = 4 * kGiB;  // DDColor: 1 GiB + 600 MiB per megapixel
    put_input("big.png", 2000, 2000);
    EXPECT_EQ(run(ddcolor_graph("small.png"))["status"]["status_str"], "success");
    EXPECT_EQ(sim().loaded_models().size(), 1u);
    const Json entry = run(ddcolor_graph("big.png"));
    ASSERT_EQ(entry["status"]["status_str"], "error");
    const Json& error = entry["status"]["messages"].back()[1];
    EXPECT_EQ(error["node_type"], "DDColor_Colorize");
    EXPECT_EQ(error["exception_type"], "torch.OutOfMemoryError");
    EXPECT_EQ(error["exception_message"], kOomMessage);
    EXPECT_TRUE(sim().loaded_models().empty());  // as ComfyUI does after an OOM
    waits_.clear();
    run(ddcolor_graph("small.png"));
    EXPECT_EQ(waits_, (std::vector<double>{3.0, 0.5}));  // cold again
}

TEST_F(SimGpuTest, ATiledRunFitsWhereAnUntiledOneDoesNot) {
    options_.vram_total_bytes = 4 * kGiB;  // denoise: 2500 MiB per megapixel
    put_input("photo.png", 1200, 1000);
    const Json untiled = run(denoise_graph("photo.png", 2048));
    EXPECT_EQ(untiled["status"]["messages"].back()[1]["exception_type"], "torch.OutOfMemoryError");
    const Json tiled = run(denoise_graph("photo.png", 512));
    EXPECT_EQ(tiled["status"]["status_str"], "success");
}

TEST_F(SimGpuTest, FreeUnloadsModelsBetweenPrompts) {
    std::vector<std::string> loaded_during_free;
    options_.gpu_wait_for_test = [this, &loaded_during_free](double s) {
        waits_.push_back(s);
        if (s == 3.0) return;  // the cold start; free during the work itself
        sim_->free({{"unload_models", true}});
        loaded_during_free = sim_->loaded_models();
    };
    const DeviceStats idle = sim().device_stats();
    run(ddcolor_graph("small.png"));
    EXPECT_EQ(loaded_during_free, V{"ddcolor_modelscope.pth"});  // not while it runs
    EXPECT_TRUE(sim().loaded_models().empty());                  // but once it ended
    EXPECT_EQ(sim().device_stats().vram_free, idle.vram_free);
    EXPECT_GT(sim().device_stats().torch_vram_total, 0);  // the allocator keeps its cache
}

TEST_F(SimGpuTest, FreeMemoryAlsoEmptiesTheCaches) {
    options_.cache = true;
    run(ddcolor_graph("small.png"));
    sink_.take();
    sim().free({{"free_memory", true}});  // idle: applied at once
    EXPECT_TRUE(sim().loaded_models().empty());
    EXPECT_EQ(sim().device_stats().torch_vram_total, 0);
    waits_.clear();
    run(ddcolor_graph("small.png"));
    const auto events = sink_.take();
    ASSERT_GT(events.size(), 3u);
    EXPECT_EQ(events[3].data["nodes"], Json::array());  // nothing cached any more
    EXPECT_EQ(waits_, (std::vector<double>{3.0, 0.5}));
    sim().free({{"free_memory", true}, {"unload_models", false}});
    EXPECT_EQ(sim().loaded_models(), V{"ddcolor_modelscope.pth"});
}

TEST_F(SimGpuTest, ACrashHappensHalfwayThroughAGpuNode) {
    options_.crash_rate = 1.0;
    int crashes = 0;
    std::vector<double> waits_at_crash;
    options_.crash_for_test = [&] {
        ++crashes;
        waits_at_crash = waits_;
    };
    run(ddcolor_graph("small.png"));
    EXPECT_EQ(crashes, 1);
    EXPECT_EQ(waits_at_crash, (std::vector<double>{3.0, 0.25}));
}

TEST_F(SimGpuTest, AWebSocketDropClosesEverySocketWhenTheFirstNodeStarts) {
    options_.ws_drop_rate = 1.0;
    run(ddcolor_graph("small.png"));
    EXPECT_EQ(names(sink_.take()),
              (V{"status(1)", "status(1)", "execution_start", "execution_cached", "executing:1",
                 "<closed>", "executing:2", "executing:3", "executed:3", "execution_success",
                 "status(0)", "executing:null"}));
}

TEST_F(SimGpuTest, AHungNodeIgnoresInterruptUntilStopped) {
    options_.hang_rate = 1.0;
    options_.gpu_wait_for_test = nullptr;
    options_.cold_start_min_seconds = options_.cold_start_max_seconds = 0;
    options_.cost_base_seconds = 0;
    const Reply r = sim().submit({{"prompt", ddcolor_graph("small.png")}, {"client_id", "c1"}});
    ASSERT_EQ(r.status, 200);
    const std::string id = r.body["prompt_id"];
    sim().start();
    // Wait (bounded) until DDColor has started.
    std::vector<std::string> seen;
    for (int i = 0; i < 500 && std::find(seen.begin(), seen.end(), "executing:2") == seen.end();
         ++i) {
        for (auto& n : names(sink_.take())) seen.push_back(n);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_NE(std::find(seen.begin(), seen.end(), "executing:2"), seen.end());
    sim().interrupt("");
    // A run that could finish would be done long before this.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(sim().history_item(id), Json::object());
    EXPECT_EQ(sim().queue_view()["queue_running"][0][1], id);
    EXPECT_EQ(sim().executing_node_for("c1"), std::optional<std::string>("2"));
    sim().stop();
    EXPECT_FALSE(sim().history_item(id).empty());
}

}  // namespace
}  // namespace tollgate::comfysim
