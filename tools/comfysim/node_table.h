// The node classes comfysim knows, described the way ComfyUI's INPUT_TYPES are.
//
// One table drives both prompt validation (validate.h) and /object_info, so
// the two can never disagree. Each input keeps its raw ComfyUI config, e.g.
// ["INT", {"default": 512, "min": 32, "max": 4096}] or [["a.pth", "b.pth"], {}],
// because validation errors echo that config back as `input_config`.
//
// The table is data: the built-in entries come from nodes.json (compiled into
// the binary), and `--nodes FILE` adds or replaces entries by class_type (see
// node_file.h for the format). What a node *does* is one of a closed set of
// generic behaviours, so a new capability needs a table entry, not code.
// Immutable after construction; any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "comfysim/image_ops.h"
#include "comfysim/py_format.h"
#include "core/result.h"

namespace tollgate::comfysim {

// What the executor does for a node class.
enum class Behaviour {
    LoadImage,     // reads the input file named by "image"; IMAGE (and MASK) out
    SaveImage,     // writes IMAGE to output/ under "filename_prefix"
    PreviewImage,  // writes IMAGE to temp/
    ImageFilter,   // IMAGE in, same-size IMAGE out through an Effect
    ImageScale,    // IMAGE in, IMAGE scaled by a fixed factor or a numeric input out
    Meter,         // IMAGE in, the same IMAGE out; an output node reporting the prompt's
                   // wall time and GPU peak (meter.h); never served from the cache
};

struct InputSpec {
    std::string name;
    Json config;                    // [type or choice list] or [type or choice list, options]
    bool required = true;           // false: "optional" section
    bool custom_validated = false;  // checked by the node's VALIDATE_INPUTS, not by min/max/list
};

struct NodeSpec {
    std::string class_type;
    Behaviour behaviour = Behaviour::ImageFilter;
    Effect effect = Effect::Identity;  // ImageFilter only
    // The IMAGE input that filters, scalers, meters and save/preview nodes read.
    std::string image_input;
    // ImageScale: the factor is the value of input `scale_input` when set,
    // else `scale`. `method_input`, when set, names the resampling choice.
    std::string scale_input;
    double scale = 1.0;
    std::string method_input;
    // Simulated GPU work (image_filter and image_scale only; see gpu.h). Its
    // time is seconds + seconds_per_megapixel * MP when `fixed_seconds`, else
    // cost * (--cost-base-s + --cost-per-mp-s * MP). A node with cost 0 and
    // no fixed seconds is free: no time, no VRAM, and it never fails.
    double cost = 0.0;
    bool fixed_seconds = false;
    double seconds = 0.0;
    double seconds_per_megapixel = 0.0;
    // VRAM while it runs: vram_bytes + vram_bytes_per_megapixel * MP. With a
    // model, vram_bytes are its weights, which stay loaded after the run.
    std::int64_t vram_bytes = 0;
    std::int64_t vram_bytes_per_megapixel = 0;
    // The model it loads: the value of input `model_input` when set, else
    // `model`; "" for none. A model's first use is a cold start.
    std::string model_input;
    std::string model;
    // An INT input holding a tile side: an image whose longer side exceeds it
    // is processed in tiles, so the per-megapixel VRAM is one tile's.
    std::string tile_input;
    std::vector<InputSpec> inputs;  // in input_order
    Json hidden;                    // the "hidden" section, {} when none
    std::vector<std::string> output_types;
    std::vector<std::string> output_names;
    bool output_node = false;
    // LoadImage lists the input folder's files as its "image" choices.
    bool lists_input_files = false;
    std::string display_name;
    std::string description;
    std::string python_module;
    std::string category;

    bool is_gpu() const { return fixed_seconds || cost > 0; }
};

class NodeTable {
  public:
    explicit NodeTable(std::vector<NodeSpec> nodes);

    // The built-in table, parsed from the embedded nodes.json: LoadImage,
    // DDColor_Colorize, SaveImage, PreviewImage, ImageScaleBy, ImageDenoise,
    // ScratchRemoval, OCRAnnotate, TollgateMeter.
    static const NodeTable& standard();

    // The built-in table extended by each file in order (`--nodes`). Errors:
    // "invalid_node_file", naming the file and the entry.
    static core::Result<NodeTable> load(const std::vector<std::filesystem::path>& node_files);

    // A copy where each of `extra` replaces the entry of the same class_type
    // in place, or is appended when the class is new. Errors:
    // "invalid_node_file" when the table would exceed kNodeTableEntriesMax.
    core::Result<NodeTable> extended(std::vector<NodeSpec> extra) const;

    // nullptr when the class is unknown.
    const NodeSpec* find(std::string_view class_type) const;
    const std::vector<NodeSpec>& nodes() const { return nodes_; }

    // One /object_info entry; `input_files` fills LoadImage's choice list.
    static Json object_info(const NodeSpec& spec, const std::vector<std::string>& input_files);
    // The whole /object_info answer.
    Json object_info_all(const std::vector<std::string>& input_files) const;

  private:
    std::vector<NodeSpec> nodes_;
};

}  // namespace tollgate::comfysim
