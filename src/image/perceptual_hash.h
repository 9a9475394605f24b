// Perceptual hashes of uploaded images, for finding near duplicates: the same
// photo re-encoded, resized or lightly edited.
//
// The hash is a 64-bit dHash ("difference hash"): the image is shrunk to a
// 9x8 grayscale thumbnail, and each of the 64 bits says whether a pixel is
// brighter than its right-hand neighbour. Re-encoding and resizing move
// pixel values a little but rarely flip the order of two neighbouring block
// averages, so copies of one photo differ in a few bits while unrelated
// photos differ in about half of them. Two hashes are compared by their
// Hamming distance (the number of differing bits).
//
// dhash_from_gray() and hamming_distance() are pure functions. perceptual_hash()
// decodes through libvips (gray_thumbnail.h) and may be called from any
// thread after image::init().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "image/probe.h"

namespace tollgate::image {

// The thumbnail a dHash is computed from: kDhashColumns x kDhashRows 8-bit
// gray pixels, row by row, top row first.
inline constexpr int kDhashColumns = 9;
inline constexpr int kDhashRows = 8;
using DhashThumbnail = std::array<std::uint8_t, kDhashColumns * kDhashRows>;
static_assert((kDhashColumns - 1) * kDhashRows == 64, "one bit per neighbour pair");

// Bit 63 - (row * 8 + column) is set when pixel (column, row) is brighter
// than pixel (column + 1, row): the first row lands in the top byte, so the
// hash in hex reads the thumbnail row by row.
std::uint64_t dhash_from_gray(const DhashThumbnail& pixels);

// How many of the 64 bits differ (0 to 64).
int hamming_distance(std::uint64_t a, std::uint64_t b);

// 16 lowercase hex digits, for logs.
std::string to_hex(std::uint64_t hash);

// The dHash of an upload that probe() accepted as `info`: it is decoded (shrunk
// on load where the format allows it) and reduced to the 9x8 thumbnail.
// Errors: "corrupt_image" when the pixels cannot be decoded (a header that
// probes fine can still sit on broken data).
core::Result<std::uint64_t> perceptual_hash(std::string_view bytes, const ImageInfo& info);

}  // namespace tollgate::image
