// The pixel work behind comfysim's nodes, on libvips.
//
// load_image() decodes like ComfyUI's LoadImage (EXIF rotation applied, 8-bit
// sRGB, alpha dropped), colorize() stands in for DDColor with a deterministic
// luminance-to-colour map, apply_effect() and resize() do the cheap stand-in
// work of the table's generic image_filter and image_scale nodes, and
// save_png() writes what SaveImage writes, including the "prompt"/"workflow"
// PNG text chunks. Images are fully decoded
// into memory, so a cached Image never rereads a file that has since changed.
// Thread-safe: libvips is initialised once and images are immutable.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

typedef struct _VipsImage VipsImage;

namespace tollgate::comfysim {

// A reference to an immutable libvips image.
class Image {
  public:
    Image() = default;
    explicit Image(VipsImage* owned) : image_(owned) {}  // takes the reference
    Image(const Image& other);
    Image& operator=(const Image& other);
    Image(Image&& other) noexcept : image_(std::exchange(other.image_, nullptr)) {}
    Image& operator=(Image&& other) noexcept;
    ~Image();

    bool empty() const { return image_ == nullptr; }
    int width() const;
    int height() const;
    int bands() const;
    double megapixels() const { return static_cast<double>(width()) * height() / 1e6; }
    VipsImage* get() const { return image_; }

  private:
    VipsImage* image_ = nullptr;
};

// Initialises libvips once per process; later calls do nothing.
void init_vips();

// Decodes `path` into 3-band 8-bit sRGB in memory.
core::Result<Image> load_image(const std::filesystem::path& path);

// Colours a picture: luminance through a fixed warm tint. Same size, 3 bands.
core::Result<Image> colorize(const Image& input);

// The pixel work of an image_filter node. Every effect keeps the size and
// gives 3-band 8-bit sRGB; each is a few cheap libvips passes.
enum class Effect {
    Identity,   // the input itself
    Colorize,   // colorize() below (DDColor)
    Denoise,    // 3x3 median
    Despeckle,  // 5x5 median: removes thin scratches and dust
    Sharpen,    // 3x3 unsharp kernel
    Grayscale,  // luminance in all three bands
    Annotate,   // a 2-pixel box drawn around the central region (OCR's detections)
};

// "identity", "colorize", ...: the names node files use. nullopt when unknown.
std::optional<Effect> effect_from_name(std::string_view name);
const char* effect_name(Effect effect);

core::Result<Image> apply_effect(const Image& input, Effect effect);

// Resampling kernels, named after ComfyUI's upscale_method choices.
enum class Resample { Nearest, Linear, Cubic, Lanczos };

// "nearest-exact" -> Nearest, "bilinear" and "area" -> Linear, "bicubic" ->
// Cubic, "lanczos" -> Lanczos; anything else -> Linear.
Resample resample_from_name(std::string_view name);

// Scales to exactly width x height (both >= 1).
core::Result<Image> resize(const Image& input, int width, int height, Resample kernel);

// Writes a PNG with the given (key, value) text chunks.
core::Status save_png(const Image& image, const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, std::string>>& text);

// Decodes any image held in memory (tests and /view re-encoding).
core::Result<Image> decode_buffer(const std::string& bytes);

// Re-encodes a file for /view's preview= and channel= options. `format` is
// "png", "jpeg" or "webp"; `channel` is "rgba", "rgb" or "a".
core::Result<std::string> encode_for_view(const std::filesystem::path& path,
                                          const std::string& format, int quality,
                                          const std::string& channel);

// Reads one pixel's band values (tests).
std::vector<double> pixel_at(const Image& image, int x, int y);

}  // namespace tollgate::comfysim
