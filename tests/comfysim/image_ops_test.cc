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

constexpr Effect kEffects[] = {Effect::Identity,  Effect::Colorize, Effect::Denoise,
                               Effect::Despeckle, Effect::Sharpen,  Effect::Grayscale,
                               Effect::Annotate};

Image gray_input(int width, int height) {
    testing::TempDir tmp;
    testing::write_file(tmp.path() / "gray.png", testing::gray_png(width, height));
    auto img = load_image(tmp.path() / "gray.png");
    EXPECT_TRUE(img.ok());
    return img.ok() ? std::move(img).value() : Image();
}

// A 9x9 3-band picture of value `background` with `marks` drawn as 1-pixel
// points of value `mark`.
Image flat_with_marks(double background, double mark,
                      const std::vector<std::pair<int, int>>& marks) {
    init_vips();
    VipsImage* black = nullptr;
    VipsImage* lifted = nullptr;
    EXPECT_EQ(vips_black(&black, 9, 9, "bands", 3, nullptr), 0);
    EXPECT_EQ(vips_linear1(black, &lifted, 1.0, background, "uchar", TRUE, nullptr), 0);
    g_object_unref(black);
    VipsImage* mem = vips_image_copy_memory(lifted);
    g_object_unref(lifted);
    double ink[3] = {mark, mark, mark};
    for (const auto& [x, y] : marks) EXPECT_EQ(vips_draw_point(mem, ink, 3, x, y, nullptr), 0);
    return Image(mem);
}

TEST(ImageOpsTest, EveryEffectKeepsTheSizeAndGivesRgb) {
    const Image input = gray_input(37, 23);
    for (Effect e : kEffects) {
        SCOPED_TRACE(effect_name(e));
        EXPECT_EQ(effect_from_name(effect_name(e)), e);
        auto out = apply_effect(input, e);
        ASSERT_TRUE(out.ok()) << out.error().message;
        EXPECT_EQ(out->width(), 37);
        EXPECT_EQ(out->height(), 23);
        EXPECT_EQ(out->bands(), 3);
    }
    EXPECT_EQ(effect_from_name("blur"), std::nullopt);
    EXPECT_EQ(pixel_at(*apply_effect(input, Effect::Identity), 5, 5), pixel_at(input, 5, 5));
    EXPECT_EQ(pixel_at(*apply_effect(input, Effect::Colorize), 5, 5),
              pixel_at(*colorize(input), 5, 5));
}

TEST(ImageOpsTest, DenoiseRemovesSpecksAndDespeckleRemovesThinScratches) {
    const Image speck = flat_with_marks(100, 250, {{4, 4}});
    EXPECT_EQ(pixel_at(*apply_effect(speck, Effect::Denoise), 4, 4)[0], 100);
    std::vector<std::pair<int, int>> scratch;
    for (int y = 0; y < 9; ++y) {
        scratch.emplace_back(4, y);
        scratch.emplace_back(5, y);
    }
    const Image scratched = flat_with_marks(100, 250, scratch);
    EXPECT_EQ(pixel_at(*apply_effect(scratched, Effect::Denoise), 4, 4)[0], 250);
    EXPECT_EQ(pixel_at(*apply_effect(scratched, Effect::Despeckle), 4, 4)[0], 100);
}

TEST(ImageOpsTest, SharpenRaisesLocalContrast) {
    const Image dot = flat_with_marks(100, 150, {{4, 4}});
    auto sharp = apply_effect(dot, Effect::Sharpen);
    ASSERT_TRUE(sharp.ok());
    EXPECT_GT(pixel_at(*sharp, 4, 4)[0], 150);
    EXPECT_LT(pixel_at(*sharp, 4, 3)[0], 100);
    EXPECT_EQ(pixel_at(*sharp, 1, 1)[0], 100);
}

TEST(ImageOpsTest, GrayscaleUndoesColour) {
    auto coloured = colorize(gray_input(16, 16));
    ASSERT_TRUE(coloured.ok());
    auto gray = apply_effect(*coloured, Effect::Grayscale);
    ASSERT_TRUE(gray.ok());
    const auto p = pixel_at(*gray, 8, 8);
    EXPECT_EQ(p[0], p[1]);
    EXPECT_EQ(p[1], p[2]);
}

TEST(ImageOpsTest, AnnotateDrawsOnACopy) {
    const Image input = gray_input(40, 32);
    const auto before = pixel_at(input, 5, 10);
    auto out = apply_effect(input, Effect::Annotate);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(pixel_at(*out, 5, 10), (std::vector<double>{255, 64, 0}));
    EXPECT_EQ(pixel_at(input, 5, 10), before);  // a cached upstream image never changes
}

TEST(ImageOpsTest, ResizeGivesExactlyTheAskedSize) {
    const Image input = gray_input(37, 23);
    for (Resample k : {Resample::Nearest, Resample::Linear, Resample::Cubic, Resample::Lanczos}) {
        for (auto [w, h] : {std::pair{74, 46}, {148, 92}, {19, 12}, {1, 1}, {55, 35}}) {
            auto out = resize(input, w, h, k);
            ASSERT_TRUE(out.ok()) << out.error().message;
            EXPECT_EQ(out->width(), w);
            EXPECT_EQ(out->height(), h);
            EXPECT_EQ(out->bands(), 3);
        }
    }
    EXPECT_FALSE(resize(input, 0, 5, Resample::Linear).ok());
    EXPECT_EQ(resample_from_name("nearest-exact"), Resample::Nearest);
    EXPECT_EQ(resample_from_name("bilinear"), Resample::Linear);
    EXPECT_EQ(resample_from_name("area"), Resample::Linear);
    EXPECT_EQ(resample_from_name("bicubic"), Resample::Cubic);
    EXPECT_EQ(resample_from_name("lanczos"), Resample::Lanczos);
    EXPECT_EQ(resample_from_name("other"), Resample::Linear);
}

}  // namespace
}  // namespace tollgate::comfysim
