// Photo-like test images made with libvips, for duplicate detection: a
// seeded "photo" (three bands of Perlin noise: smooth light and dark areas
// like a real scene, different for every seed), the bundled sample portrait,
// and a re-encode of any image (resized, saved as JPEG at some quality), as
// a user farming volume would make one.
#pragma once

#include <vips/vips.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "image/probe.h"

namespace tollgate::testing {

namespace photos_detail {

// Takes ownership of `image`; returns its JPEG (quality > 0) or PNG bytes,
// or WebP ones at `jpeg_quality` when `webp`.
inline std::string save(VipsImage* image, int jpeg_quality, bool webp = false) {
    void* buffer = nullptr;
    std::size_t size = 0;
    const int rc = webp ? vips_webpsave_buffer(image, &buffer, &size, "Q", jpeg_quality, nullptr)
                   : jpeg_quality > 0
                       ? vips_jpegsave_buffer(image, &buffer, &size, "Q", jpeg_quality, nullptr)
                       : vips_pngsave_buffer(image, &buffer, &size, nullptr);
    std::string out;
    if (rc == 0) out.assign(static_cast<const char*>(buffer), size);
    g_free(buffer);
    g_object_unref(image);
    return out;
}

}  // namespace photos_detail

// A width x height RGB "photo" that depends only on `seed`, as PNG
// (jpeg_quality 0) or JPEG. Empty on failure.
inline std::string seeded_photo(int width, int height, int seed, int jpeg_quality = 0) {
    image::init();
    VipsImage* bands[3] = {nullptr, nullptr, nullptr};
    for (int b = 0; b < 3; ++b) {
        if (vips_perlin(&bands[b], width, height, "cell_size", std::max(width, height) / 4, "uchar",
                        TRUE, "seed", seed * 3 + b, nullptr) != 0) {
            for (VipsImage* made : bands) {
                if (made != nullptr) g_object_unref(made);
            }
            return {};
        }
    }
    VipsImage* rgb = nullptr;
    const int rc = vips_bandjoin(bands, &rgb, 3, nullptr);
    for (VipsImage* made : bands) g_object_unref(made);
    if (rc != 0) return {};
    return photos_detail::save(rgb, jpeg_quality);
}

// `bytes` resized by `scale` and saved as JPEG (or WebP) at `quality`. Empty on failure.
inline std::string reencoded(std::string_view bytes, double scale, int quality, bool webp = false) {
    image::init();
    VipsImage* in = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", nullptr);
    if (in == nullptr) return {};
    VipsImage* resized = nullptr;
    const int rc = vips_resize(in, &resized, scale, nullptr);
    g_object_unref(in);
    if (rc != 0) return {};
    return photos_detail::save(resized, quality, webp);
}

// The sample portrait shipped in config/samples (a real 800x600 JPEG photo).
inline std::string sample_portrait() {
    std::ifstream in(std::string(TOLLGATE_SAMPLES_DIR) + "/portrait_800x600.jpg", std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

}  // namespace tollgate::testing
