#include "image/synthetic.h"

#include <vips/vips.h>

#include <array>

#include "core/assert.h"
#include "core/limits.h"
#include "image/probe.h"

namespace tollgate::image {
namespace {

// splitmix64: a full-period mix of the seed, so neighbouring seeds give
// unrelated grids.
std::uint64_t next_random(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Owns one VipsImage reference.
struct VipsRef {
    VipsImage* image = nullptr;
    VipsRef() = default;
    VipsRef(const VipsRef&) = delete;
    VipsRef& operator=(const VipsRef&) = delete;
    ~VipsRef() {
        if (image != nullptr) g_object_unref(image);
    }
};

core::Error encode_failed(const char* step) {
    std::string detail = vips_error_buffer();
    vips_error_clear();
    return core::make_error("encode_failed",
                            std::string("synthetic photo: ") + step + " failed: " + detail);
}

}  // namespace

core::Result<std::string> encode_synthetic_photo(std::uint64_t seed, int width, int height,
                                                 int jpeg_quality) {
    if (width < kGridColumns || height < kGridRows || width > core::limits::kImageSideMax ||
        height > core::limits::kImageSideMax ||
        static_cast<std::int64_t>(width) * height > core::limits::kImagePixelsMax) {
        return core::make_error("invalid_argument", "synthetic photo: " + std::to_string(width) +
                                                        "x" + std::to_string(height) +
                                                        " is outside the sizes it can make");
    }
    if (jpeg_quality < 1 || jpeg_quality > 100) {
        return core::make_error("invalid_argument", "synthetic photo: JPEG quality is 1 to 100");
    }
    init();
    std::array<unsigned char, kGridColumns * kGridRows> grid{};
    std::uint64_t state = seed;
    for (unsigned char& tone : grid) tone = static_cast<unsigned char>(next_random(state) >> 56);

    VipsRef small, large, cropped;
    small.image = vips_image_new_from_memory_copy(grid.data(), grid.size(), kGridColumns, kGridRows,
                                                  1, VIPS_FORMAT_UCHAR);
    if (small.image == nullptr) return encode_failed("grid");
    // One pixel more than needed on each axis, so rounding never leaves the
    // result short; the crop takes the exact size.
    const double hscale = static_cast<double>(width + 1) / kGridColumns;
    const double vscale = static_cast<double>(height + 1) / kGridRows;
    if (vips_resize(small.image, &large.image, hscale, "vscale", vscale, "kernel",
                    VIPS_KERNEL_LINEAR, nullptr) != 0) {
        return encode_failed("resize");
    }
    TOLLGATE_ASSERT(vips_image_get_width(large.image) >= width &&
                    vips_image_get_height(large.image) >= height);
    if (vips_crop(large.image, &cropped.image, 0, 0, width, height, nullptr) != 0) {
        return encode_failed("crop");
    }
    void* buffer = nullptr;
    std::size_t size = 0;
    if (vips_jpegsave_buffer(cropped.image, &buffer, &size, "Q", jpeg_quality, "strip", TRUE,
                             nullptr) != 0) {
        return encode_failed("JPEG save");
    }
    std::string out(static_cast<const char*>(buffer), size);
    g_free(buffer);
    return out;
}

}  // namespace tollgate::image
