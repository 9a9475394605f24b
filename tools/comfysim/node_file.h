// Node files: the table of node classes as JSON (nodes.json, `--nodes FILE`).
//
// A node file is a JSON array of entries. Each entry is a ComfyUI
// /object_info entry (input, output, output_name, output_node, display_name,
// description, python_module, category) keyed by "class_type", plus what
// comfysim needs to run it:
//
//   "behaviour": "load_image" | "save_image" | "preview_image" |
//                "image_filter" | "image_scale" | "meter"
//                (meter: an output node with one IMAGE input and one IMAGE
//                output that passes the image through and reports the
//                prompt's wall time and GPU peak; see meter.h)
//   "effect":    image_filter only: identity | colorize | denoise | despeckle |
//                sharpen | grayscale | annotate
//   "scale_input" (an INT/FLOAT input's name) or "scale" (a number):
//                image_scale only, exactly one of them
//   "method_input": image_scale only, optional: the resampling choice input
//   "cost":      image_filter/image_scale, default 1: the node's time is
//                cost * (--cost-base-s + --cost-per-mp-s * MP); 0 makes the
//                node free and infallible
//   "seconds", "seconds_per_mp": instead of "cost", the node's own time
//                model: seconds + seconds_per_mp * MP, whatever the flags say
//   "vram_mib", "vram_mib_per_mp": VRAM while the node runs, in MiB:
//                vram_mib + vram_mib_per_mp * MP (default 0); above the
//                device's VRAM the node fails with an out-of-memory error
//   "model_input" (a choice-list or STRING input's name) or "model" (a
//                name): the model the node loads; its first use pays a cold
//                start, and vram_mib is its weights, which stay loaded
//   "tile_input": an INT input holding a tile side; an image whose longer
//                side exceeds it is processed in tiles, so vram_mib_per_mp
//                applies to one tile's megapixels
// MP is the larger of the node's input and output images, in megapixels.
//
// Keys starting with "_" are comments; /object_info-only keys (name,
// input_order, output_is_list, ...) are ignored so that a captured entry can
// be pasted in; any other key is an error, to catch typos. A file is outside
// input: sizes and counts are bounded and every problem is reported as
// "invalid_node_file" with the file name, the entry index and its class_type.
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

#include "comfysim/node_table.h"
#include "core/result.h"

namespace tollgate::comfysim {

inline constexpr std::size_t kNodeFileBytesMax = 1024 * 1024;
inline constexpr int kNodeFileDepthMax = 16;
inline constexpr std::size_t kNodeTableEntriesMax = 256;
inline constexpr std::size_t kNodeInputsMax = 64;
inline constexpr std::size_t kNodeOutputsMax = 16;
inline constexpr std::size_t kNodeChoicesMax = 4096;
inline constexpr std::size_t kNodeNameBytesMax = 128;   // class_type, input and type names
inline constexpr std::size_t kNodeTextBytesMax = 4096;  // display_name, description, ...
inline constexpr double kNodeScaleMax = 16.0;           // a fixed "scale"
inline constexpr double kNodeCostMax = 1000.0;
inline constexpr double kNodeSecondsMax = 3600.0;           // "seconds", "seconds_per_mp"
inline constexpr double kNodeVramMibMax = 1024.0 * 1024.0;  // 1 TiB

// Parses one node file's text; `source` (usually the path) names it in errors.
core::Result<std::vector<NodeSpec>> parse_node_file(std::string_view text, std::string_view source);

// Reads and parses `path`.
core::Result<std::vector<NodeSpec>> read_node_file(const std::filesystem::path& path);

// The built-in nodes.json, compiled into the binary.
std::string_view builtin_nodes_json();

}  // namespace tollgate::comfysim
