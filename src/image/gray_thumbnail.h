// A tiny grayscale thumbnail of an upload, decoded with libvips: the input of
// the perceptual hash (perceptual_hash.h).
//
// Key invariant: only bytes that probe() accepted are decoded, with the
// loader of the format probe() found, so an image whose header exceeds the
// pixel limits (core/limits.h) is never decoded, and libvips' own sniffing
// never hands the bytes to another loader. JPEG and WebP are shrunk while
// they load (JPEG by a power of two in the DCT, WebP by its decoder's
// scaling), so a 100-megapixel photo costs little more than a small one; PNG
// has no such mode and is streamed through once. Any thread, after
// image::init().
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "image/probe.h"

namespace tollgate::image {

// A thumbnail's side: at most this many pixels.
inline constexpr int kThumbnailSideMax = 64;
// Shrink-on-load stops once the shorter side would fall below this, so the
// final resize still averages several source pixels into each thumbnail pixel.
inline constexpr int kShrinkOnLoadSideMin = 64;

// `width` x `height` 8-bit gray pixels (1 to kThumbnailSideMax each), row by
// row, of the image `bytes` that probe() described as `info`, stretched to
// that shape whatever its aspect ratio. Alpha is flattened onto black first.
// Errors: "corrupt_image" when libvips cannot decode the pixels.
core::Result<std::vector<std::uint8_t>> gray_thumbnail(std::string_view bytes,
                                                       const ImageInfo& info, int width,
                                                       int height);

}  // namespace tollgate::image
