// The simulated GPU: what a node's run costs, and the device's memory.
//
// A GPU node's run (node_table.h: NodeSpec::is_gpu) takes
// `seconds + seconds_per_megapixel * MP` and needs
// `vram_bytes + vram_bytes_per_megapixel * MP` of VRAM, MP being the larger
// of its input and output images (one tile's for the VRAM of a tiled run).
//
// Device keeps ComfyUI's memory picture as /system_stats reports it: a fixed
// CUDA context, the weights of loaded models (they stay loaded after a run,
// as ComfyUI keeps them), the running node's working memory, and what
// PyTorch's caching allocator has reserved (its peak; it does not shrink by
// itself). Loading a model that does not fit evicts the least recently used
// others, as comfy.model_management.free_memory does; a run that does not
// fit even on an empty device is out of memory. It also keeps the peak of
// allocated memory since the last reset_peak(), as torch.cuda's
// max_memory_allocated and reset_peak_memory_stats do, so that the meter
// node can report one prompt's peak. Plain data: the caller
// serialises access (Sim holds it under its mutex).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "comfysim/node_table.h"

namespace tollgate::comfysim {

// What one GPU node's run asks for, worked out by the executor.
struct GpuWork {
    const NodeSpec* spec = nullptr;
    std::string node_id;
    std::string model;             // "" when the node loads no model
    double megapixels = 0.0;       // the larger of its input and output images
    double vram_megapixels = 0.0;  // megapixels, or one tile's when tiled
};

enum class GpuOutcome { Done, OutOfMemory };

// The seconds a run takes; `base_seconds` and `per_megapixel_seconds` are the
// --cost-base-s and --cost-per-mp-s flags that a node's "cost" multiplies.
double work_seconds(const GpuWork& work, double base_seconds, double per_megapixel_seconds);
// The VRAM a run needs beyond its model's weights.
std::int64_t working_bytes(const GpuWork& work);

struct DeviceStats {
    std::int64_t vram_total = 0;
    std::int64_t vram_free = 0;
    std::int64_t torch_vram_total = 0;  // reserved by the caching allocator
    std::int64_t torch_vram_free = 0;   // reserved but unused
};

// An H100 80GB as ComfyUI reports it, and the CUDA context's share of it.
inline constexpr std::int64_t kVramTotalBytesDefault = 85'045'379'072;
inline constexpr std::int64_t kCudaContextBytes = 1'200'000'000;

class Device {
  public:
    enum class Load { Warm, Cold, OutOfMemory };

    // `vram_total_bytes` must exceed the context.
    explicit Device(std::int64_t vram_total_bytes);

    // A node starts: `model` ("" for none) with `weights_bytes` is loaded if
    // it is not (Cold), evicting other models when it must, and the run's
    // working memory is allocated. OutOfMemory changes nothing.
    Load begin(const std::string& model, std::int64_t weights_bytes, std::int64_t working_bytes);
    // The node finished: its working memory returns to the allocator's cache.
    void end();
    // Drops every loaded model (after an OOM, as ComfyUI does).
    void unload_models();
    // Gives the allocator's unused cache back (torch.cuda.empty_cache).
    void empty_cache();
    // The most memory allocated (loaded weights plus working memory) at any
    // moment since the last reset_peak() (torch.cuda.max_memory_allocated).
    std::int64_t peak_allocated_bytes() const { return peak_allocated_; }
    // Restarts the peak at what is allocated now, as
    // torch.cuda.reset_peak_memory_stats does: loaded models still count.
    void reset_peak() { peak_allocated_ = allocated(); }

    DeviceStats stats() const;
    // Loaded models, least recently used first.
    std::vector<std::string> loaded_models() const;

  private:
    std::int64_t allocated() const;

    std::int64_t total_;
    std::vector<std::pair<std::string, std::int64_t>> loaded_;  // least recently used first
    std::int64_t working_ = 0;
    std::int64_t reserved_ = 0;
    std::int64_t peak_allocated_ = 0;
};

}  // namespace tollgate::comfysim
