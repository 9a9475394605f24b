// The simulated GPU: the cost arithmetic and the device's memory.
#include "comfysim/gpu.h"

#include <gtest/gtest.h>

namespace tollgate::comfysim {
namespace {

constexpr std::int64_t kMiB = 1024 * 1024;
constexpr std::int64_t kGiB = 1024 * kMiB;

NodeSpec gpu_spec() {
    NodeSpec s;
    s.cost = 2.0;
    s.vram_bytes = 1000 * kMiB;
    s.vram_bytes_per_megapixel = 100 * kMiB;
    return s;
}

GpuWork work_of(const NodeSpec& spec, double megapixels, const std::string& model = "m.pth") {
    GpuWork w;
    w.spec = &spec;
    w.model = model;
    w.megapixels = megapixels;
    w.vram_megapixels = megapixels;
    return w;
}

TEST(GpuCostTest, SecondsAreTheNodesOwnOrItsCostTimesTheFlags) {
    NodeSpec spec = gpu_spec();
    EXPECT_DOUBLE_EQ(work_seconds(work_of(spec, 3.0), 0.5, 0.25), 2.0 * (0.5 + 0.25 * 3.0));
    spec.fixed_seconds = true;
    spec.seconds = 1.0;
    spec.seconds_per_megapixel = 0.5;
    EXPECT_DOUBLE_EQ(work_seconds(work_of(spec, 3.0), 100, 100), 1.0 + 0.5 * 3.0);
}

TEST(GpuCostTest, WorkingMemoryIsPerMegapixelOfATileWhenTiled) {
    const NodeSpec spec = gpu_spec();
    GpuWork w = work_of(spec, 4.0);
    EXPECT_EQ(working_bytes(w), 400 * kMiB);  // the weights are the model's, not the run's
    w.vram_megapixels = 0.25;
    EXPECT_EQ(working_bytes(w), 25 * kMiB);
    w.model.clear();  // no model: the fixed part is working memory
    EXPECT_EQ(working_bytes(w), 1025 * kMiB);
}

TEST(DeviceTest, ModelsLoadColdOnceAndStayLoaded) {
    Device d(16 * kGiB);
    const DeviceStats idle = d.stats();
    EXPECT_EQ(idle.vram_total, 16 * kGiB);
    EXPECT_EQ(idle.vram_free, 16 * kGiB - kCudaContextBytes);
    EXPECT_EQ(idle.torch_vram_total, 0);

    EXPECT_EQ(d.begin("a.pth", 2 * kGiB, 1 * kGiB), Device::Load::Cold);
    const DeviceStats busy = d.stats();
    EXPECT_EQ(busy.vram_free, idle.vram_free - 3 * kGiB);
    EXPECT_EQ(busy.torch_vram_total, 3 * kGiB);
    EXPECT_EQ(busy.torch_vram_free, 0);
    d.end();
    const DeviceStats after = d.stats();
    EXPECT_EQ(after.vram_free, idle.vram_free - 2 * kGiB);  // the weights stay
    EXPECT_EQ(after.torch_vram_total, 3 * kGiB);            // the cache keeps its peak
    EXPECT_EQ(after.torch_vram_free, 1 * kGiB);

    EXPECT_EQ(d.begin("a.pth", 2 * kGiB, 1 * kGiB), Device::Load::Warm);
    d.end();
    EXPECT_EQ(d.begin("", 0, 1 * kGiB), Device::Load::Warm);  // no model, nothing to load
    d.end();
    EXPECT_EQ(d.loaded_models(), std::vector<std::string>{"a.pth"});
    d.unload_models();
    EXPECT_TRUE(d.loaded_models().empty());
    EXPECT_EQ(d.begin("a.pth", 2 * kGiB, 1 * kGiB), Device::Load::Cold);
}

TEST(DeviceTest, LoadingEvictsTheLeastRecentlyUsedModels) {
    Device d(8 * kGiB + kCudaContextBytes);
    for (const char* m : {"a", "b", "c"}) {
        EXPECT_EQ(d.begin(m, 2 * kGiB, 0), Device::Load::Cold);
        d.end();
    }
    EXPECT_EQ(d.begin("a", 2 * kGiB, 0), Device::Load::Warm);  // a is now the newest
    d.end();
    EXPECT_EQ(d.begin("d", 3 * kGiB, 0), Device::Load::Cold);  // 6 + 3 > 8: b goes
    d.end();
    EXPECT_EQ(d.loaded_models(), (std::vector<std::string>{"c", "a", "d"}));
    EXPECT_EQ(d.begin("a", 2 * kGiB, 4 * kGiB), Device::Load::Warm);  // c and d go
    EXPECT_EQ(d.loaded_models(), std::vector<std::string>{"a"});
}

TEST(DeviceTest, ARunLargerThanTheDeviceIsOutOfMemory) {
    Device d(8 * kGiB + kCudaContextBytes);
    EXPECT_EQ(d.begin("a", 2 * kGiB, 0), Device::Load::Cold);
    d.end();
    const DeviceStats before = d.stats();
    EXPECT_EQ(d.begin("b", 2 * kGiB, 6 * kGiB + 1), Device::Load::OutOfMemory);
    EXPECT_EQ(d.begin("a", 2 * kGiB, 6 * kGiB + 1), Device::Load::OutOfMemory);
    EXPECT_EQ(d.stats().vram_free, before.vram_free);  // nothing changed
    EXPECT_EQ(d.loaded_models(), std::vector<std::string>{"a"});
    EXPECT_EQ(d.begin("b", 2 * kGiB, 6 * kGiB), Device::Load::Cold);  // exactly fits
}

TEST(DeviceTest, ThePeakIsAllocatedMemorySinceTheLastReset) {
    Device d(16 * kGiB);
    EXPECT_EQ(d.peak_allocated_bytes(), 0);
    EXPECT_EQ(d.begin("a.pth", 2 * kGiB, 3 * kGiB), Device::Load::Cold);
    d.end();
    EXPECT_EQ(d.peak_allocated_bytes(), 5 * kGiB);
    // A reset starts again from what is allocated now: the loaded weights.
    d.reset_peak();
    EXPECT_EQ(d.peak_allocated_bytes(), 2 * kGiB);
    EXPECT_EQ(d.begin("a.pth", 2 * kGiB, 1 * kGiB), Device::Load::Warm);
    d.end();
    EXPECT_EQ(d.peak_allocated_bytes(), 3 * kGiB);
    EXPECT_EQ(d.stats().torch_vram_total, 5 * kGiB);  // the allocator's cache keeps its own
    d.unload_models();
    d.reset_peak();
    EXPECT_EQ(d.peak_allocated_bytes(), 0);
    EXPECT_EQ(d.begin("b.pth", 1 * kGiB, 20 * kGiB), Device::Load::OutOfMemory);
    EXPECT_EQ(d.peak_allocated_bytes(), 0);  // an out-of-memory run allocated nothing
}

}  // namespace
}  // namespace tollgate::comfysim
