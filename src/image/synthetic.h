// Synthetic photographs for traffic that has to look real to the gateway
// (`tollgate sim-traffic`, tests): a grayscale "old photo" whose content
// follows from a seed, so every seed is a different picture to the duplicate
// checks (image/digest.h, image/perceptual_hash.h), while the same seed at
// another JPEG quality or size is the same picture re-encoded or resized.
//
// The picture is a seeded grid of tones, kGridColumns x kGridRows, stretched
// smoothly over width x height, so two seeds' perceptual hashes differ in
// about half their bits. Requires nothing first (it calls image::init()).
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace tollgate::image {

inline constexpr int kGridColumns = 12;
inline constexpr int kGridRows = 9;

// A JPEG of width x height at `jpeg_quality` (1 to 100). Errors:
// "invalid_argument" for a side outside [kGridColumns, kImageSideMax] (or
// rows under kGridRows), more than kImagePixelsMax pixels or a quality outside
// 1..100; "encode_failed" when libvips fails.
core::Result<std::string> encode_synthetic_photo(std::uint64_t seed, int width, int height,
                                                 int jpeg_quality);

}  // namespace tollgate::image
