// libvips through its C API: every operation returns a new reference that an
// Image takes over, so failures can return early without leaks. The tint is a
// per-band linear map of luminance (shadows slightly blue, highlights warm):
// cheap, deterministic, and clearly coloured, which is all tests and demos
// need from a stand-in for DDColor.
#include "comfysim/image_ops.h"

#include <vips/vips.h>

#include <mutex>

namespace tollgate::comfysim {
namespace {

core::Error vips_failure(const std::string& what) {
    std::string detail = vips_error_buffer();
    vips_error_clear();
    while (!detail.empty() && detail.back() == '\n') detail.pop_back();
    return core::make_error("image_error", what + ": " + detail);
}

}  // namespace

Image::Image(const Image& other) : image_(other.image_) {
    if (image_ != nullptr) g_object_ref(image_);
}

Image& Image::operator=(const Image& other) {
    if (this != &other) {
        Image copy(other);
        std::swap(image_, copy.image_);
    }
    return *this;
}

Image& Image::operator=(Image&& other) noexcept {
    if (this != &other) {
        if (image_ != nullptr) g_object_unref(image_);
        image_ = std::exchange(other.image_, nullptr);
    }
    return *this;
}

Image::~Image() {
    if (image_ != nullptr) g_object_unref(image_);
}

int Image::width() const { return vips_image_get_width(image_); }
int Image::height() const { return vips_image_get_height(image_); }
int Image::bands() const { return vips_image_get_bands(image_); }

void init_vips() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (VIPS_INIT("comfysim") != 0) vips_error_clear();
        vips_cache_set_max(0);
    });
}

namespace {

// Normalises a decoded image to 3-band 8-bit sRGB held in memory.
core::Result<Image> to_rgb_memory(Image in) {
    VipsImage* out = nullptr;
    if (vips_autorot(in.get(), &out, nullptr) != 0) return vips_failure("autorotate");
    Image rotated(out);
    if (vips_colourspace(rotated.get(), &out, VIPS_INTERPRETATION_sRGB, nullptr) != 0) {
        return vips_failure("convert to sRGB");
    }
    Image srgb(out);
    if (srgb.bands() > 3) {
        if (vips_extract_band(srgb.get(), &out, 0, "n", 3, nullptr) != 0) {
            return vips_failure("drop alpha");
        }
        srgb = Image(out);
    }
    if (vips_image_get_format(srgb.get()) != VIPS_FORMAT_UCHAR) {
        if (vips_cast_uchar(srgb.get(), &out, nullptr) != 0) return vips_failure("cast");
        srgb = Image(out);
    }
    out = vips_image_copy_memory(srgb.get());
    if (out == nullptr) return vips_failure("decode");
    return Image(out);
}

}  // namespace

core::Result<Image> load_image(const std::filesystem::path& path) {
    init_vips();
    VipsImage* raw = vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_RANDOM, nullptr);
    if (raw == nullptr)
        return vips_failure("cannot identify image file '" + path.filename().string() + "'");
    return to_rgb_memory(Image(raw));
}

core::Result<Image> decode_buffer(const std::string& bytes) {
    init_vips();
    VipsImage* raw = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", "access",
                                                VIPS_ACCESS_RANDOM, nullptr);
    if (raw == nullptr) return vips_failure("decode buffer");
    // The buffer must outlive a lazy image, so decode into memory now.
    VipsImage* mem = vips_image_copy_memory(raw);
    g_object_unref(raw);
    if (mem == nullptr) return vips_failure("decode buffer");
    return Image(mem);
}

core::Result<Image> colorize(const Image& input) {
    init_vips();
    VipsImage* out = nullptr;
    if (vips_colourspace(input.get(), &out, VIPS_INTERPRETATION_B_W, nullptr) != 0) {
        return vips_failure("luminance");
    }
    Image luma(out);
    if (luma.bands() > 1) {
        if (vips_extract_band(luma.get(), &out, 0, nullptr) != 0) return vips_failure("luminance");
        luma = Image(out);
    }
    double gain[3] = {0.94, 0.84, 0.68};
    double offset[3] = {14.0, 10.0, 20.0};
    if (vips_linear(luma.get(), &out, gain, offset, 3, nullptr) != 0) return vips_failure("tint");
    Image tinted(out);
    if (vips_cast_uchar(tinted.get(), &out, nullptr) != 0) return vips_failure("tint");
    Image bytes(out);
    if (vips_copy(bytes.get(), &out, "interpretation", VIPS_INTERPRETATION_sRGB, nullptr) != 0) {
        return vips_failure("tint");
    }
    Image srgb(out);
    out = vips_image_copy_memory(srgb.get());
    if (out == nullptr) return vips_failure("tint");
    return Image(out);
}

core::Status save_png(const Image& image, const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, std::string>>& text) {
    init_vips();
    VipsImage* out = nullptr;
    if (vips_copy(image.get(), &out, nullptr) != 0) return vips_failure("save");
    Image copy(out);
    int index = 0;
    for (const auto& [key, value] : text) {
        const std::string field = "png-comment-" + std::to_string(index++) + "-" + key;
        vips_image_set_string(copy.get(), field.c_str(), value.c_str());
    }
    if (vips_pngsave(copy.get(), path.c_str(), "compression", 4, nullptr) != 0) {
        return vips_failure("write " + path.filename().string());
    }
    return {};
}

core::Result<std::string> encode_for_view(const std::filesystem::path& path,
                                          const std::string& format, int quality,
                                          const std::string& channel) {
    init_vips();
    VipsImage* raw = vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_RANDOM, nullptr);
    if (raw == nullptr) return vips_failure("open");
    Image img(raw);
    VipsImage* out = nullptr;
    const bool has_alpha = vips_image_hasalpha(img.get()) != 0;
    if (channel == "a") {
        // An RGBA picture whose colour is black and whose alpha is the source alpha.
        Image alpha;
        if (has_alpha) {
            if (vips_extract_band(img.get(), &out, img.bands() - 1, nullptr) != 0) {
                return vips_failure("alpha");
            }
            alpha = Image(out);
        } else {
            if (vips_black(&out, img.width(), img.height(), nullptr) != 0)
                return vips_failure("alpha");
            Image black(out);
            if (vips_linear1(black.get(), &out, 1.0, 255.0, "uchar", TRUE, nullptr) != 0) {
                return vips_failure("alpha");
            }
            alpha = Image(out);
        }
        if (vips_black(&out, img.width(), img.height(), "bands", 3, nullptr) != 0) {
            return vips_failure("alpha");
        }
        Image black(out);
        if (vips_cast_uchar(black.get(), &out, nullptr) != 0) return vips_failure("alpha");
        Image black8(out);
        if (vips_bandjoin2(black8.get(), alpha.get(), &out, nullptr) != 0)
            return vips_failure("alpha");
        img = Image(out);
    } else if ((channel == "rgb" || format == "jpeg") && has_alpha) {
        if (vips_extract_band(img.get(), &out, 0, "n", img.bands() - 1, nullptr) != 0) {
            return vips_failure("rgb");
        }
        img = Image(out);
    }
    void* buf = nullptr;
    size_t len = 0;
    int rc = 0;
    if (format == "jpeg") {
        rc = vips_jpegsave_buffer(img.get(), &buf, &len, "Q", quality, nullptr);
    } else if (format == "webp") {
        rc = vips_webpsave_buffer(img.get(), &buf, &len, "Q", quality, nullptr);
    } else {
        rc = vips_pngsave_buffer(img.get(), &buf, &len, nullptr);
    }
    if (rc != 0) return vips_failure("encode " + format);
    std::string bytes(static_cast<const char*>(buf), len);
    g_free(buf);
    return bytes;
}

std::vector<double> pixel_at(const Image& image, int x, int y) {
    double* values = nullptr;
    int n = 0;
    std::vector<double> out;
    if (vips_getpoint(image.get(), &values, &n, x, y, nullptr) != 0) {
        vips_error_clear();
        return out;
    }
    out.assign(values, values + n);
    g_free(values);
    return out;
}

}  // namespace tollgate::comfysim
