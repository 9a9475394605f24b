// The device's memory is four numbers and a list, not a simulation of an
// allocator: the gateway only sees /system_stats and out-of-memory errors,
// and both follow from "what is loaded, what is running, what was the peak".
// ComfyUI computes vram_free as CUDA's free memory plus PyTorch's reserved
// but unused memory, which is total - context - allocated; torch_vram_total
// is the reserved size, which keeps its peak until the cache is emptied.
#include "comfysim/gpu.h"

#include <algorithm>
#include <cmath>

#include "core/assert.h"

namespace tollgate::comfysim {

double work_seconds(const GpuWork& work, double base_seconds, double per_megapixel_seconds) {
    const NodeSpec& spec = *work.spec;
    if (spec.fixed_seconds) return spec.seconds + spec.seconds_per_megapixel * work.megapixels;
    return spec.cost * (base_seconds + per_megapixel_seconds * work.megapixels);
}

std::int64_t working_bytes(const GpuWork& work) {
    const NodeSpec& spec = *work.spec;
    const double per_mp =
        static_cast<double>(spec.vram_bytes_per_megapixel) * std::max(work.vram_megapixels, 0.0);
    // Without a model, the fixed part is working memory too.
    const std::int64_t fixed = work.model.empty() ? spec.vram_bytes : 0;
    return fixed + static_cast<std::int64_t>(std::llround(per_mp));
}

Device::Device(std::int64_t vram_total_bytes) : total_(vram_total_bytes) {
    TOLLGATE_ASSERT(total_ > kCudaContextBytes);
}

std::int64_t Device::allocated() const {
    std::int64_t sum = working_;
    for (const auto& [name, bytes] : loaded_) sum += bytes;
    return sum;
}

Device::Load Device::begin(const std::string& model, std::int64_t weights_bytes,
                           std::int64_t working_bytes) {
    const std::int64_t usable = total_ - kCudaContextBytes;
    auto it = std::find_if(loaded_.begin(), loaded_.end(),
                           [&](const auto& entry) { return entry.first == model; });
    const bool warm = model.empty() || it != loaded_.end();
    const std::int64_t weights = model.empty() ? 0 : weights_bytes;
    if (weights + working_bytes > usable) return Load::OutOfMemory;
    if (it != loaded_.end()) {
        // Most recently used goes last.
        std::rotate(it, it + 1, loaded_.end());
    }
    const std::int64_t extra = working_bytes + (warm ? 0 : weights);
    while (allocated() + extra > usable) {
        // Evict the least recently used model other than this one; the check
        // above guarantees that this one alone fits.
        auto victim = std::find_if(loaded_.begin(), loaded_.end(),
                                   [&](const auto& entry) { return entry.first != model; });
        TOLLGATE_ASSERT(victim != loaded_.end());
        loaded_.erase(victim);
    }
    if (!warm) loaded_.emplace_back(model, weights);
    working_ = working_bytes;
    peak_allocated_ = std::max(peak_allocated_, allocated());
    reserved_ = std::max(reserved_, allocated());
    return warm ? Load::Warm : Load::Cold;
}

void Device::end() { working_ = 0; }

void Device::unload_models() { loaded_.clear(); }

void Device::empty_cache() { reserved_ = allocated(); }

DeviceStats Device::stats() const {
    DeviceStats s;
    s.vram_total = total_;
    s.vram_free = total_ - kCudaContextBytes - allocated();
    s.torch_vram_total = reserved_;
    s.torch_vram_free = reserved_ - allocated();
    return s;
}

std::vector<std::string> Device::loaded_models() const {
    std::vector<std::string> out;
    for (const auto& [name, bytes] : loaded_) out.push_back(name);
    return out;
}

}  // namespace tollgate::comfysim
