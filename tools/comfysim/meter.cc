// The meter's UI shape. comfysim always knows where its prompt started and
// has a CUDA device, so "wall_source" is always "execution_start" and
// "device" is "cuda:0"; the real node can also say "since_previous" or null
// (comfyui/tollgate_meter/README.md).
#include "comfysim/meter.h"

namespace tollgate::comfysim {

Json meter_ui(const std::optional<MeterReading>& reading) {
    Json figures = {{"version", kMeterShapeVersion},
                    {"wall_ms", nullptr},
                    {"wall_source", nullptr},
                    {"gpu_peak_bytes", nullptr},
                    {"device", nullptr}};
    if (reading && reading->wall_ms >= 0 && reading->wall_ms <= kMeterWallMsMax) {
        figures["wall_ms"] = reading->wall_ms;
        figures["wall_source"] = "execution_start";
    }
    if (reading && reading->gpu_peak_bytes >= 0) {
        figures["gpu_peak_bytes"] = reading->gpu_peak_bytes;
        figures["device"] = "cuda:0";
    }
    return Json{{kMeterUiKey, Json::array({figures})}};
}

}  // namespace tollgate::comfysim
