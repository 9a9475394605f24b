// Decoding an upload into a tiny gray thumbnail with libvips.
//
// Approach: load with the format's own loader (as probe.cc does), asking
// jpegload for a DCT shrink of 2, 4 or 8 and webpload for a scale, both
// chosen so the shorter side stays at least kShrinkOnLoadSideMin pixels;
// then flatten any alpha, convert to 8-bit B_W, and vips_resize to the exact
// thumbnail shape (a box shrink followed by a Lanczos reduce, so every
// source pixel counts). The whole pipeline runs lazily, with sequential
// access, in one vips_image_write_to_memory() call: memory stays at a few
// scanlines whatever the image size.
//
// Rejected alternative: vips_thumbnail_buffer() shrinks on load too, but it
// sniffs the format itself and would hand the bytes to whichever of
// libvips' loaders claims them, which probe.cc is careful never to allow.
#include "image/gray_thumbnail.h"

#include <vips/vips.h>

#include <algorithm>
#include <memory>
#include <string>

#include "core/assert.h"
#include "core/limits.h"
#include "image/vips_error.h"

namespace tollgate::image {
namespace {

struct Unref {
    void operator()(VipsImage* image) const { g_object_unref(image); }
};
using ImagePtr = std::unique_ptr<VipsImage, Unref>;

core::Error corrupt(const ImageInfo& info) {
    std::string reason = take_vips_error();
    if (reason.empty()) reason = "libvips could not decode the pixels";
    return core::make_error(
        "corrupt_image",
        "cannot decode " + std::string(to_string(info.format)) + " pixels: " + reason);
}

// The largest JPEG DCT shrink (1, 2, 4 or 8) that keeps the shorter side at
// least kShrinkOnLoadSideMin pixels.
int jpeg_shrink(const ImageInfo& info) {
    const std::int64_t shorter = std::min(info.width, info.height);
    for (int shrink : {8, 4, 2}) {
        if (shorter / shrink >= kShrinkOnLoadSideMin) return shrink;
    }
    return 1;
}

// The WebP decoder's scale (at most 1) that brings the shorter side to
// kShrinkOnLoadSideMin pixels.
double webp_scale(const ImageInfo& info) {
    const std::int64_t shorter = std::min(info.width, info.height);
    return std::min(1.0, static_cast<double>(kShrinkOnLoadSideMin) / static_cast<double>(shorter));
}

core::Result<ImagePtr> load_shrunk(std::string_view bytes, const ImageInfo& info) {
    // libvips takes a non-const pointer but only reads through it.
    void* data = const_cast<char*>(bytes.data());
    VipsImage* out = nullptr;
    int rc = -1;
    switch (info.format) {
        case Format::Jpeg:
            rc = vips_jpegload_buffer(data, bytes.size(), &out, "access", VIPS_ACCESS_SEQUENTIAL,
                                      "shrink", jpeg_shrink(info), nullptr);
            break;
        case Format::Png:
            rc = vips_pngload_buffer(data, bytes.size(), &out, "access", VIPS_ACCESS_SEQUENTIAL,
                                     nullptr);
            break;
        case Format::Webp:
            rc = vips_webpload_buffer(data, bytes.size(), &out, "access", VIPS_ACCESS_SEQUENTIAL,
                                      "scale", webp_scale(info), nullptr);
            break;
    }
    ImagePtr image(out);
    if (rc != 0 || image == nullptr) return corrupt(info);
    return image;
}

// One libvips step: `step` makes a new image from `image`, which it replaces.
template <typename Step>
core::Status apply(ImagePtr& image, const ImageInfo& info, Step step) {
    VipsImage* out = nullptr;
    if (step(image.get(), &out) != 0 || out == nullptr) {
        if (out != nullptr) g_object_unref(out);
        return corrupt(info);
    }
    image.reset(out);
    return {};
}

}  // namespace

core::Result<std::vector<std::uint8_t>> gray_thumbnail(std::string_view bytes,
                                                       const ImageInfo& info, int width,
                                                       int height) {
    using core::limits::kImagePixelsMax;
    using core::limits::kImageSideMax;
    // Only what probe() accepted gets here: decoding anything larger is a bug.
    TOLLGATE_ASSERT(info.width >= 1 && info.height >= 1 && info.width <= kImageSideMax &&
                    info.height <= kImageSideMax && info.width * info.height <= kImagePixelsMax);
    TOLLGATE_ASSERT(width >= 1 && width <= kThumbnailSideMax && height >= 1 &&
                    height <= kThumbnailSideMax);
    init();
    auto loaded = load_shrunk(bytes, info);
    if (!loaded.ok()) return loaded.error();
    ImagePtr image = std::move(loaded).value();
    core::Status s;
    if (vips_image_hasalpha(image.get())) {
        s = apply(image, info,
                  [](VipsImage* in, VipsImage** out) { return vips_flatten(in, out, nullptr); });
        if (!s.ok()) return s.error();
    }
    s = apply(image, info, [](VipsImage* in, VipsImage** out) {
        return vips_colourspace(in, out, VIPS_INTERPRETATION_B_W, nullptr);
    });
    if (!s.ok()) return s.error();
    if (vips_image_get_bands(image.get()) != 1) {
        // An interpretation B_W cannot reduce (a multiband image that is not
        // sRGB): its first band stands for its brightness.
        s = apply(image, info, [](VipsImage* in, VipsImage** out) {
            return vips_extract_band(in, out, 0, nullptr);
        });
        if (!s.ok()) return s.error();
    }
    if (vips_image_get_format(image.get()) != VIPS_FORMAT_UCHAR) {
        // 16-bit PNGs: keep the top 8 bits rather than clipping.
        s = apply(image, info, [](VipsImage* in, VipsImage** out) {
            return vips_cast(in, out, VIPS_FORMAT_UCHAR, "shift", TRUE, nullptr);
        });
        if (!s.ok()) return s.error();
    }
    const double hscale = static_cast<double>(width) / vips_image_get_width(image.get());
    const double vscale = static_cast<double>(height) / vips_image_get_height(image.get());
    s = apply(image, info, [&](VipsImage* in, VipsImage** out) {
        return vips_resize(in, out, hscale, "vscale", vscale, nullptr);
    });
    if (!s.ok()) return s.error();
    if (vips_image_get_width(image.get()) != width ||
        vips_image_get_height(image.get()) != height || vips_image_get_bands(image.get()) != 1 ||
        vips_image_get_format(image.get()) != VIPS_FORMAT_UCHAR) {
        return core::make_error("corrupt_image", "the thumbnail came out in an unexpected shape");
    }
    std::size_t size = 0;
    void* pixels = vips_image_write_to_memory(image.get(), &size);
    if (pixels == nullptr) return corrupt(info);
    const auto* first = static_cast<const std::uint8_t*>(pixels);
    std::vector<std::uint8_t> out(first, first + size);
    g_free(pixels);
    // A successful decode can still have queued warnings; drop them.
    vips_error_clear();
    if (out.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height)) {
        return core::make_error("corrupt_image", "the thumbnail has the wrong number of pixels");
    }
    return out;
}

}  // namespace tollgate::image
