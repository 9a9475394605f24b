// The figures of Tollgate's meter node, in the exact UI shape that the real
// ComfyUI node (comfyui/tollgate_meter) returns, so that the gateway reads
// comfysim and a real worker the same way.
//
// The node's `executed` message carries it as `output`, and its /history
// entry as outputs["<node id>"]:
//
//   {"tollgate_meter": [{"version": 1, "wall_ms": 3500,
//                        "wall_source": "execution_start",
//                        "gpu_peak_bytes": 1375731712, "device": "cuda:0"}]}
//
// wall_ms is the simulated time from the prompt's execution_start to the
// meter (cold starts and the GPU nodes before it); gpu_peak_bytes is the
// simulated device's peak allocated memory during the prompt (gpu.h:
// Device::peak_allocated_bytes), loaded weights included, as
// torch.cuda.max_memory_allocated counts them. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>

#include "comfysim/py_format.h"

namespace tollgate::comfysim {

// The UI key and the shape's version; a change of fields bumps the version.
inline constexpr const char* kMeterUiKey = "tollgate_meter";
inline constexpr int kMeterShapeVersion = 1;
// A wall time beyond a week is no prompt's; the real node reports it as null,
// and so does meter_ui().
inline constexpr std::int64_t kMeterWallMsMax = 7ll * 24 * 3600 * 1000;

struct MeterReading {
    std::int64_t wall_ms = 0;
    std::int64_t gpu_peak_bytes = 0;
};

// The node's UI output; without a reading every figure is null, as the real
// node reports when its measurement fails, and a wall_ms outside
// [0, kMeterWallMsMax] makes wall_ms and wall_source null.
Json meter_ui(const std::optional<MeterReading>& reading);

}  // namespace tollgate::comfysim
