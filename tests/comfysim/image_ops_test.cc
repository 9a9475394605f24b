#include "comfysim/image_ops.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace tollgate::comfysim {
namespace {

TEST(ImageOpsTest, ColorizeMakesAColouredPngOfTheSameSize) {
    testing::TempDir tmp;
    const auto in_path = tmp.path() / "gray.png";
    testing::write_file(in_path, testing::gray_png(37, 23));
    auto input = load_image(in_path);
    ASSERT_TRUE(input.ok()) << input.error().message;
    // The input really is gray: every pixel has equal channels.
    const auto gray = pixel_at(*input, 10, 10);
    ASSERT_EQ(gray.size(), 3u);
    EXPECT_EQ(gray[0], gray[1]);

    auto coloured = colorize(*input);
    ASSERT_TRUE(coloured.ok()) << coloured.error().message;
    const auto out_path = tmp.path() / "out.png";
    ASSERT_TRUE(save_png(*coloured, out_path, {{"prompt", "{}"}}).ok());

    auto decoded = load_image(out_path);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->width(), 37);
    EXPECT_EQ(decoded->height(), 23);
    EXPECT_EQ(decoded->bands(), 3);
    int coloured_pixels = 0;
    for (int y = 0; y < 23; y += 5) {
        for (int x = 0; x < 37; x += 5) {
            const auto p = pixel_at(*decoded, x, y);
            if (p[0] != p[1] || p[1] != p[2]) ++coloured_pixels;
        }
    }
    EXPECT_GT(coloured_pixels, 0);
}

TEST(ImageOpsTest, ColorizeIsDeterministicAndFollowsLuminance) {
    testing::TempDir tmp;
    const auto in_path = tmp.path() / "gray.png";
    testing::write_file(in_path, testing::gray_png(16, 16));
    auto input = load_image(in_path);
    ASSERT_TRUE(input.ok());
    auto a = colorize(*input);
    auto b = colorize(*input);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(pixel_at(*a, 3, 4), pixel_at(*b, 3, 4));
    // Brighter input stays brighter output.
    EXPECT_LT(pixel_at(*a, 0, 0)[0], pixel_at(*a, 15, 15)[0]);
}

TEST(ImageOpsTest, LoadRejectsNonImages) {
    testing::TempDir tmp;
    testing::write_file(tmp.path() / "x.png", "not an image");
    EXPECT_FALSE(load_image(tmp.path() / "x.png").ok());
}

}  // namespace
}  // namespace tollgate::comfysim
