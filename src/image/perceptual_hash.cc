// dHash over a 9x8 gray thumbnail. The decoding and shrinking happen in
// gray_thumbnail.cc; this file only compares neighbours and counts bits, so
// it is tested with hand-made pixel arrays.
//
// Rejected alternatives: an average hash (one bit per pixel against the mean)
// flips many bits under a global brightness change such as a re-encode's
// gamma shift; a DCT-based pHash is more robust to crops but needs a 32x32
// thumbnail and a transform, which is more than "same photo, re-encoded"
// calls for.
#include "image/perceptual_hash.h"

#include <algorithm>
#include <bit>

#include "image/gray_thumbnail.h"

namespace tollgate::image {

std::uint64_t dhash_from_gray(const DhashThumbnail& pixels) {
    std::uint64_t hash = 0;
    for (int row = 0; row < kDhashRows; ++row) {
        for (int column = 0; column + 1 < kDhashColumns; ++column) {
            const auto at = static_cast<std::size_t>(row * kDhashColumns + column);
            hash <<= 1;
            if (pixels[at] > pixels[at + 1]) hash |= 1;
        }
    }
    return hash;
}

int hamming_distance(std::uint64_t a, std::uint64_t b) { return std::popcount(a ^ b); }

std::string to_hex(std::uint64_t hash) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = kDigits[hash & 0xF];
        hash >>= 4;
    }
    return out;
}

core::Result<std::uint64_t> perceptual_hash(std::string_view bytes, const ImageInfo& info) {
    auto thumbnail = gray_thumbnail(bytes, info, kDhashColumns, kDhashRows);
    if (!thumbnail.ok()) return thumbnail.error();
    DhashThumbnail pixels{};
    std::copy(thumbnail->begin(), thumbnail->end(), pixels.begin());
    return dhash_from_gray(pixels);
}

}  // namespace tollgate::image
