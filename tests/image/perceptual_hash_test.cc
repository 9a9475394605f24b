// Tests for the dHash: bits from hand-made thumbnails, Hamming distances, and
// real images decoded through libvips: a re-encoded copy of a photo stays
// within the default distance, an unrelated photo does not.
#include "image/perceptual_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "image/gray_thumbnail.h"
#include "image/perceptual_hash_of.h"
#include "jobs/dedupe.h"
#include "support/photos.h"

namespace tollgate::image {
namespace {

// A thumbnail whose rows all read `row` left to right.
DhashThumbnail rows_of(const std::array<std::uint8_t, kDhashColumns>& row) {
    DhashThumbnail t{};
    for (int y = 0; y < kDhashRows; ++y) {
        for (int x = 0; x < kDhashColumns; ++x) {
            t[static_cast<std::size_t>(y * kDhashColumns + x)] = row[static_cast<std::size_t>(x)];
        }
    }
    return t;
}

TEST(DhashTest, BrighterThanRightNeighbourSetsTheBit) {
    // Getting darker to the right everywhere: every bit set.
    EXPECT_EQ(dhash_from_gray(rows_of({90, 80, 70, 60, 50, 40, 30, 20, 10})), ~std::uint64_t{0});
    // Getting brighter: none; equal neighbours: none either.
    EXPECT_EQ(dhash_from_gray(rows_of({10, 20, 30, 40, 50, 60, 70, 80, 90})), 0u);
    EXPECT_EQ(dhash_from_gray(rows_of({7, 7, 7, 7, 7, 7, 7, 7, 7})), 0u);
}

TEST(DhashTest, FirstRowIsTheTopByteLeftmostPairTheTopBit) {
    DhashThumbnail t{};
    t[0] = 200;  // (0, 0) brighter than (1, 0)
    EXPECT_EQ(dhash_from_gray(t), std::uint64_t{1} << 63);
    DhashThumbnail last{};
    last[static_cast<std::size_t>(7 * kDhashColumns + 7)] = 200;  // (7, 7) vs (8, 7)
    EXPECT_EQ(dhash_from_gray(last), 1u);
    EXPECT_EQ(to_hex(dhash_from_gray(t)), "8000000000000000");
    EXPECT_EQ(to_hex(0x0123456789abcdefULL), "0123456789abcdef");
}

TEST(DhashTest, HammingDistanceCountsDifferingBits) {
    EXPECT_EQ(hamming_distance(0, 0), 0);
    EXPECT_EQ(hamming_distance(0, ~std::uint64_t{0}), 64);
    EXPECT_EQ(hamming_distance(0b1011, 0b0001), 2);
    EXPECT_EQ(hamming_distance(std::uint64_t{1} << 63, 1), 2);
}

TEST(GrayThumbnailTest, IsTheRequestedShapeAndFollowsTheImage) {
    const std::string png = testing::seeded_photo(320, 240, 1);
    auto info = probe(png);
    ASSERT_TRUE(info.ok());
    auto thumb = gray_thumbnail(png, *info, kDhashColumns, kDhashRows);
    ASSERT_TRUE(thumb.ok()) << thumb.error().message;
    EXPECT_EQ(thumb->size(), static_cast<std::size_t>(kDhashColumns * kDhashRows));
    // A photo is not flat: the thumbnail has some contrast.
    const auto [lo, hi] = std::minmax_element(thumb->begin(), thumb->end());
    EXPECT_GT(*hi - *lo, 20);

    const std::string black = encode_blank(Format::Png, 64, 48);
    auto black_info = probe(black);
    ASSERT_TRUE(black_info.ok());
    auto flat = gray_thumbnail(black, *black_info, 4, 3);
    ASSERT_TRUE(flat.ok()) << flat.error().message;
    EXPECT_EQ(*flat, std::vector<std::uint8_t>(12, 0));
}

TEST(PerceptualHashTest, AReencodedResizedCopyIsWithinTheDefaultDistance) {
    const std::string photo = testing::sample_portrait();
    ASSERT_FALSE(photo.empty());
    // What a user farming volume would do: JPEG at quality 70, 90% of the size.
    const std::string copy = testing::reencoded(photo, 0.9, 70);
    ASSERT_FALSE(copy.empty());
    ASSERT_NE(copy, photo);
    const int distance = hamming_distance(hash_of(photo), hash_of(copy));
    EXPECT_LE(distance, jobs::kNearDistanceMaxDefault);

    // The same holds for a generated photo, saved as PNG and re-encoded.
    const std::string generated = testing::seeded_photo(800, 600, 7);
    const std::string generated_copy = testing::reencoded(generated, 0.9, 70);
    EXPECT_LE(hamming_distance(hash_of(generated), hash_of(generated_copy)),
              jobs::kNearDistanceMaxDefault);
}

TEST(PerceptualHashTest, TheSamePhotoInEveryFormatHashesAlike) {
    const std::string photo = testing::sample_portrait();
    const std::uint64_t jpeg = hash_of(photo);
    const std::string webp = testing::reencoded(photo, 0.9, 80, /*webp=*/true);
    ASSERT_EQ(probe(webp)->format, Format::Webp);
    EXPECT_LE(hamming_distance(jpeg, hash_of(webp)), jobs::kNearDistanceMaxDefault);
    // A large WebP is scaled while it decodes.
    const std::string large = testing::seeded_photo(3000, 2000, 5, 90);
    const std::string large_webp = testing::reencoded(large, 1.0, 90, /*webp=*/true);
    EXPECT_LE(hamming_distance(hash_of(large), hash_of(large_webp)), jobs::kNearDistanceMaxDefault);
    const std::string png = testing::seeded_photo(3000, 2000, 5);
    EXPECT_LE(hamming_distance(hash_of(large), hash_of(png)), jobs::kNearDistanceMaxDefault);
}

TEST(PerceptualHashTest, UnrelatedPhotosAreFarApart) {
    const std::uint64_t portrait = hash_of(testing::sample_portrait());
    for (int seed : {1, 2, 3}) {
        const std::uint64_t other = hash_of(testing::seeded_photo(800, 600, seed));
        EXPECT_GT(hamming_distance(portrait, other), jobs::kNearDistanceMaxDefault) << seed;
        for (int seed2 : {4, 5}) {
            const std::uint64_t another = hash_of(testing::seeded_photo(800, 600, seed2));
            EXPECT_GT(hamming_distance(other, another), jobs::kNearDistanceMaxDefault)
                << seed << " vs " << seed2;
        }
    }
}

TEST(PerceptualHashTest, ShrinkOnLoadKeepsTheHashOfALargePhoto) {
    // JPEG and WebP are shrunk while they load; the hash of a large photo
    // matches the hash of the same photo made small.
    const std::string large = testing::seeded_photo(3200, 2400, 11, 90);
    const std::string small = testing::reencoded(large, 0.25, 90);
    EXPECT_LE(hamming_distance(hash_of(large), hash_of(small)), jobs::kNearDistanceMaxDefault);
}

TEST(PerceptualHashTest, TheSameBytesHashTheSame) {
    const std::string photo = testing::seeded_photo(640, 480, 21, 85);
    EXPECT_EQ(hash_of(photo), hash_of(photo));
    EXPECT_NE(hash_of(photo), 0u);
}

}  // namespace
}  // namespace tollgate::image
