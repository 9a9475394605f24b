// Synthetic photos: real JPEGs of the asked size, a different picture per
// seed, the same picture again at another quality or size.
#include "image/synthetic.h"

#include <gtest/gtest.h>

#include "image/perceptual_hash.h"
#include "image/perceptual_hash_of.h"
#include "image/probe.h"

namespace tollgate::image {
namespace {

std::string photo(std::uint64_t seed, int width, int height, int quality = 85) {
    auto bytes = encode_synthetic_photo(seed, width, height, quality);
    EXPECT_TRUE(bytes.ok()) << bytes.error().message;
    return bytes.ok() ? *bytes : std::string();
}

TEST(SyntheticPhotoTest, IsAJpegOfExactlyTheAskedSize) {
    for (auto [w, h] : {std::pair{12, 9}, std::pair{640, 480}, std::pair{1001, 1999}}) {
        auto info = probe(photo(7, w, h));
        ASSERT_TRUE(info.ok()) << info.error().message;
        EXPECT_EQ(info->format, Format::Jpeg);
        EXPECT_EQ(info->width, w);
        EXPECT_EQ(info->height, h);
    }
}

TEST(SyntheticPhotoTest, TheSameSeedGivesTheSameBytes) {
    EXPECT_EQ(photo(42, 320, 240), photo(42, 320, 240));
}

TEST(SyntheticPhotoTest, DifferentSeedsAreDifferentPictures) {
    // Not near duplicates of each other under any configured distance (at most 16).
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        const int distance =
            hamming_distance(hash_of(photo(seed, 400, 300)), hash_of(photo(seed + 1, 400, 300)));
        EXPECT_GT(distance, 16) << "seeds " << seed << " and " << seed + 1;
    }
}

TEST(SyntheticPhotoTest, AnotherQualityOrSizeIsANearDuplicate) {
    const std::uint64_t original = hash_of(photo(9, 800, 600, 90));
    const std::string requality = photo(9, 800, 600, 40);
    EXPECT_NE(requality, photo(9, 800, 600, 90));
    EXPECT_LE(hamming_distance(original, hash_of(requality)), 6);
    EXPECT_LE(hamming_distance(original, hash_of(photo(9, 640, 480, 90))), 6);
}

TEST(SyntheticPhotoTest, RefusesSizesAndQualitiesItCannotMake) {
    EXPECT_EQ(encode_synthetic_photo(1, 11, 9, 85).error().code, "invalid_argument");
    EXPECT_EQ(encode_synthetic_photo(1, 12, 8, 85).error().code, "invalid_argument");
    EXPECT_EQ(encode_synthetic_photo(1, 30'001, 100, 85).error().code, "invalid_argument");
    EXPECT_EQ(encode_synthetic_photo(1, 20'000, 20'000, 85).error().code, "invalid_argument");
    EXPECT_EQ(encode_synthetic_photo(1, 100, 100, 0).error().code, "invalid_argument");
    EXPECT_EQ(encode_synthetic_photo(1, 100, 100, 101).error().code, "invalid_argument");
}

}  // namespace
}  // namespace tollgate::image
