// Tests for image probing with real images made by libvips in the test, and
// with hostile bytes: truncated, foreign, forged headers.
#include "image/probe.h"

#include <gtest/gtest.h>
#include <vips/vips.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "core/limits.h"

namespace tollgate::image {
namespace {

// Encodes a black width x height RGB image in `format` with libvips.
std::string make_image(Format format, int width, int height) {
    init();
    std::string out = encode_blank(format, width, height);
    EXPECT_FALSE(out.empty());
    return out;
}

// CRC-32 as PNG defines it (ISO 3309, reflected, polynomial 0xEDB88320).
std::uint32_t png_crc(std::string_view bytes) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (char ch : bytes) {
        crc ^= static_cast<unsigned char>(ch);
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

void put_be32(std::string& bytes, std::size_t at, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) {
        bytes[at + static_cast<std::size_t>(i)] = static_cast<char>((value >> (24 - 8 * i)) & 0xFF);
    }
}

// A real PNG whose IHDR claims width x height. The IHDR chunk sits right after
// the 8-byte signature: length (4), "IHDR" (4), width (4), height (4), five
// more bytes, then the CRC over type and data. `fix_crc` keeps the CRC valid.
std::string forged_png(std::uint32_t width, std::uint32_t height, bool fix_crc = true) {
    std::string png = make_image(Format::Png, 16, 16);
    EXPECT_EQ(png.substr(12, 4), "IHDR");
    put_be32(png, 16, width);
    put_be32(png, 20, height);
    if (fix_crc) put_be32(png, 29, png_crc(std::string_view(png).substr(12, 17)));
    return png;
}

TEST(FormatTest, NamesMimeTypesAndExtensions) {
    EXPECT_EQ(to_string(Format::Jpeg), "jpeg");
    EXPECT_EQ(to_string(Format::Png), "png");
    EXPECT_EQ(to_string(Format::Webp), "webp");
    EXPECT_EQ(mime_type(Format::Jpeg), "image/jpeg");
    EXPECT_EQ(mime_type(Format::Png), "image/png");
    EXPECT_EQ(mime_type(Format::Webp), "image/webp");
    EXPECT_EQ(file_extension(Format::Jpeg), "jpg");
    EXPECT_EQ(file_extension(Format::Png), "png");
    EXPECT_EQ(file_extension(Format::Webp), "webp");
}

struct Size {
    int width;
    int height;
};

class ProbeRealImageTest : public ::testing::TestWithParam<std::tuple<Format, Size>> {};

TEST_P(ProbeRealImageTest, ReportsFormatAndDimensions) {
    const auto [format, size] = GetParam();
    const std::string bytes = make_image(format, size.width, size.height);
    auto info = probe(bytes);
    ASSERT_TRUE(info.ok()) << info.error().code << ": " << info.error().message;
    EXPECT_EQ(info->format, format);
    EXPECT_EQ(info->width, size.width);
    EXPECT_EQ(info->height, size.height);
}

TEST_P(ProbeRealImageTest, TruncatedToTwentyBytesIsCorrupt) {
    const auto [format, size] = GetParam();
    const std::string bytes = make_image(format, size.width, size.height).substr(0, 20);
    auto info = probe(bytes);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().code, "corrupt_image") << info.error().message;
    EXPECT_EQ(info.error().message.find('\n'), std::string::npos) << info.error().message;
    EXPECT_NE(info.error().message.find(to_string(format)), std::string::npos);
    // The failure leaves nothing behind in libvips' shared error buffer.
    EXPECT_STREQ(vips_error_buffer(), "");
}

INSTANTIATE_TEST_SUITE_P(Images, ProbeRealImageTest,
                         ::testing::Combine(::testing::Values(Format::Jpeg, Format::Png,
                                                              Format::Webp),
                                            ::testing::Values(Size{800, 600}, Size{1920, 1080})),
                         [](const auto& info) {
                             const Size size = std::get<1>(info.param);
                             return std::string(to_string(std::get<0>(info.param))) + "_" +
                                    std::to_string(size.width) + "x" + std::to_string(size.height);
                         });

TEST(ProbeTest, TinyAndPortraitImages) {
    auto one = probe(make_image(Format::Png, 1, 1));
    ASSERT_TRUE(one.ok()) << one.error().message;
    EXPECT_EQ(one->width, 1);
    EXPECT_EQ(one->height, 1);
    auto tall = probe(make_image(Format::Jpeg, 600, 800));
    ASSERT_TRUE(tall.ok()) << tall.error().message;
    EXPECT_EQ(tall->width, 600);
    EXPECT_EQ(tall->height, 800);
}

TEST(ProbeTest, ForeignFormatsAreUnsupportedAndNamed) {
    using namespace std::string_view_literals;
    const std::pair<std::string_view, const char*> cases[] = {
        {""sv, "empty"},
        {"GIF89a\x01\x00\x01\x00\x00\x00\x00;"sv, "GIF"},
        {"II*\0\x08\0\0\0"sv, "TIFF"},
        {"MM\0*\0\0\0\x08"sv, "TIFF"},
        {"BM\x3a\0\0\0\0\0"sv, "BMP"},
        {"\0\0\0\x18"
         "ftypheic\0\0\0\0"sv,
         "HEIF"},
        {"\0\0\0\x1c"
         "ftypavif\0\0\0\0"sv,
         "AVIF"},
        {"%PDF-1.7\n"sv, "PDF"},
        {"RIFF\x24\0\0\0WAVEfmt "sv, "RIFF"},
        {"<svg xmlns='http://www.w3.org/2000/svg'/>"sv, "SVG"},
        {"hello, world"sv, "68656c6c6f2c2077"},
        {"\xFF\xD8"sv, "ffd8"},
        {"\x89PNG\r\n\x1A"sv, "89504e470d0a1a"},
        {"RIFF\0\0\0\0WEB"sv, "RIFF"},
    };
    for (auto [bytes, seen] : cases) {
        auto info = probe(bytes);
        ASSERT_FALSE(info.ok()) << seen;
        EXPECT_EQ(info.error().code, "unsupported_media_type") << seen;
        EXPECT_NE(info.error().message.find(seen), std::string::npos) << info.error().message;
        EXPECT_NE(info.error().message.find("not a JPEG, PNG or WebP image"), std::string::npos)
            << info.error().message;
    }
}

TEST(ProbeTest, RealGifMadeByVipsIsUnsupported) {
    init();
    VipsImage* black = nullptr;
    ASSERT_EQ(vips_black(&black, 8, 8, nullptr), 0);
    void* buffer = nullptr;
    std::size_t size = 0;
    const int rc = vips_gifsave_buffer(black, &buffer, &size, nullptr);
    g_object_unref(black);
    if (rc != 0) GTEST_SKIP() << "this libvips cannot write GIF: " << vips_error_buffer();
    const std::string gif(static_cast<const char*>(buffer), size);
    g_free(buffer);
    auto info = probe(gif);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().code, "unsupported_media_type");
}

TEST(ProbeTest, GarbageAfterValidMagicIsCorrupt) {
    using namespace std::string_view_literals;
    const std::string_view cases[] = {
        "\xFF\xD8\xFF"sv,      "\xFF\xD8\xFF\x00garbage garbage garbage garbage garbage"sv,
        "\x89PNG\r\n\x1A\n"sv, "\x89PNG\r\n\x1A\nnot a chunk at all, just text"sv,
        "RIFF\0\0\0\0WEBP"sv,  "RIFF\x10\0\0\0WEBPVP8 garbage garbage"sv,
    };
    for (std::string_view bytes : cases) {
        auto info = probe(bytes);
        ASSERT_FALSE(info.ok());
        EXPECT_EQ(info.error().code, "corrupt_image") << info.error().message;
    }
}

TEST(ProbeTest, ForgedHugePngIsTooLarge) {
    auto info = probe(forged_png(40000, 40000));
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().code, "image_too_large") << info.error().message;
    EXPECT_NE(info.error().message.find("40000x40000"), std::string::npos);
}

TEST(ProbeTest, SideLimitIsInclusive) {
    const auto side = static_cast<std::uint32_t>(core::limits::kImageSideMax);
    auto at_limit = probe(forged_png(side, 1));
    ASSERT_TRUE(at_limit.ok()) << at_limit.error().message;
    EXPECT_EQ(at_limit->width, core::limits::kImageSideMax);

    auto wide = probe(forged_png(side + 1, 1));
    ASSERT_FALSE(wide.ok());
    EXPECT_EQ(wide.error().code, "image_too_large");
    auto tall = probe(forged_png(1, side + 1));
    ASSERT_FALSE(tall.ok());
    EXPECT_EQ(tall.error().code, "image_too_large");
}

TEST(ProbeTest, PixelLimitIsInclusive) {
    auto at_limit = probe(forged_png(10000, 10000));
    ASSERT_TRUE(at_limit.ok()) << at_limit.error().message;
    auto over = probe(forged_png(10001, 10000));
    ASSERT_FALSE(over.ok());
    EXPECT_EQ(over.error().code, "image_too_large") << over.error().message;
}

TEST(ProbeTest, BrokenPngHeadersAreCorrupt) {
    auto zero = probe(forged_png(0, 600));
    ASSERT_FALSE(zero.ok());
    EXPECT_EQ(zero.error().code, "corrupt_image");
    auto bad_crc = probe(forged_png(800, 600, /*fix_crc=*/false));
    ASSERT_FALSE(bad_crc.ok());
    EXPECT_EQ(bad_crc.error().code, "corrupt_image");
}

TEST(ProbeTest, ConcurrentProbesAgree) {
    const std::string jpeg = make_image(Format::Jpeg, 800, 600);
    const std::string png = make_image(Format::Png, 1920, 1080);
    const std::string webp = make_image(Format::Webp, 640, 480);
    const std::string truncated = png.substr(0, 20);
    constexpr int kThreads = 8;
    constexpr int kRounds = 50;
    std::vector<int> failures(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRounds; ++i) {
                auto a = probe(jpeg);
                auto b = probe(png);
                auto c = probe(webp);
                auto d = probe(truncated);
                const bool good = a.ok() && a->width == 800 && b.ok() && b->height == 1080 &&
                                  c.ok() && c->format == Format::Webp && !d.ok() &&
                                  d.error().code == "corrupt_image";
                if (!good) ++failures[static_cast<std::size_t>(t)];
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[static_cast<std::size_t>(t)], 0) << t;
}

}  // namespace
}  // namespace tollgate::image
