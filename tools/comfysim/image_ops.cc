// libvips through its C API: every operation returns a new reference that an
// Image takes over, so failures can return early without leaks. The tint is a
// per-band linear map of luminance (shadows slightly blue, highlights warm):
// cheap, deterministic, and clearly coloured, which is all tests and demos
// need from a stand-in for DDColor. The other effects are medians, a 3x3
// convolution and a drawn box: visibly different from the input, cheap
// enough for tests, and deterministic. Drawing works in place, so Annotate
// renders into a fresh memory copy first; a cached upstream Image is shared
// and must never change.
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

namespace {

// Finishes an effect: 8-bit, tagged sRGB, decoded into memory.
core::Result<Image> finish(Image img, const char* what) {
    VipsImage* out = nullptr;
    if (vips_image_get_format(img.get()) != VIPS_FORMAT_UCHAR) {
        if (vips_cast_uchar(img.get(), &out, nullptr) != 0) return vips_failure(what);
        img = Image(out);
    }
    if (vips_copy(img.get(), &out, "interpretation", VIPS_INTERPRETATION_sRGB, nullptr) != 0) {
        return vips_failure(what);
    }
    Image tagged(out);
    out = vips_image_copy_memory(tagged.get());
    if (out == nullptr) return vips_failure(what);
    return Image(out);
}

core::Result<Image> median(const Image& input, int size) {
    VipsImage* out = nullptr;
    if (vips_median(input.get(), &out, size, nullptr) != 0) return vips_failure("median");
    return finish(Image(out), "median");
}

core::Result<Image> sharpen(const Image& input) {
    VipsImage* mask = vips_image_new_matrixv(3, 3, 0.0, -1.0, 0.0, -1.0, 5.0, -1.0, 0.0, -1.0, 0.0);
    if (mask == nullptr) return vips_failure("sharpen");
    Image kernel(mask);
    VipsImage* out = nullptr;
    if (vips_conv(input.get(), &out, kernel.get(), "precision", VIPS_PRECISION_INTEGER, nullptr) !=
        0) {
        return vips_failure("sharpen");
    }
    return finish(Image(out), "sharpen");
}

core::Result<Image> grayscale(const Image& input) {
    VipsImage* out = nullptr;
    if (vips_colourspace(input.get(), &out, VIPS_INTERPRETATION_B_W, nullptr) != 0) {
        return vips_failure("grayscale");
    }
    Image luma(out);
    if (vips_extract_band(luma.get(), &out, 0, nullptr) != 0) return vips_failure("grayscale");
    Image band(out);
    VipsImage* bands[3] = {band.get(), band.get(), band.get()};
    if (vips_bandjoin(bands, &out, 3, nullptr) != 0) return vips_failure("grayscale");
    return finish(Image(out), "grayscale");
}

core::Result<Image> annotate(const Image& input) {
    VipsImage* out = nullptr;
    if (vips_copy(input.get(), &out, nullptr) != 0) return vips_failure("annotate");
    Image view(out);
    // `view` is a lazy window on `input`, so this renders fresh pixels.
    out = vips_image_copy_memory(view.get());
    if (out == nullptr) return vips_failure("annotate");
    Image canvas(out);
    const int w = canvas.width();
    const int h = canvas.height();
    double ink[3] = {255.0, 64.0, 0.0};
    for (int inset = 0; inset < 2; ++inset) {
        const int left = w / 8 + inset;
        const int top = h / 8 + inset;
        const int bw = w - 2 * left;
        const int bh = h - 2 * top;
        if (bw <= 0 || bh <= 0) break;
        if (vips_draw_rect(canvas.get(), ink, canvas.bands() < 3 ? canvas.bands() : 3, left, top,
                           bw, bh, "fill", FALSE, nullptr) != 0) {
            return vips_failure("annotate");
        }
    }
    return canvas;
}

}  // namespace

std::optional<Effect> effect_from_name(std::string_view name) {
    for (Effect e : {Effect::Identity, Effect::Colorize, Effect::Denoise, Effect::Despeckle,
                     Effect::Sharpen, Effect::Grayscale, Effect::Annotate}) {
        if (name == effect_name(e)) return e;
    }
    return std::nullopt;
}

const char* effect_name(Effect effect) {
    switch (effect) {
        case Effect::Identity:
            return "identity";
        case Effect::Colorize:
            return "colorize";
        case Effect::Denoise:
            return "denoise";
        case Effect::Despeckle:
            return "despeckle";
        case Effect::Sharpen:
            return "sharpen";
        case Effect::Grayscale:
            return "grayscale";
        case Effect::Annotate:
            return "annotate";
    }
    return "identity";
}

core::Result<Image> apply_effect(const Image& input, Effect effect) {
    init_vips();
    switch (effect) {
        case Effect::Identity:
            return input;
        case Effect::Colorize:
            return colorize(input);
        case Effect::Denoise:
            return median(input, 3);
        case Effect::Despeckle:
            return median(input, 5);
        case Effect::Sharpen:
            return sharpen(input);
        case Effect::Grayscale:
            return grayscale(input);
        case Effect::Annotate:
            return annotate(input);
    }
    return input;
}

Resample resample_from_name(std::string_view name) {
    if (name == "nearest-exact") return Resample::Nearest;
    if (name == "bicubic") return Resample::Cubic;
    if (name == "lanczos") return Resample::Lanczos;
    return Resample::Linear;
}

core::Result<Image> resize(const Image& input, int width, int height, Resample kernel) {
    init_vips();
    if (width < 1 || height < 1) {
        return core::make_error(
            "image_error", "resize to " + std::to_string(width) + "x" + std::to_string(height));
    }
    VipsKernel k = VIPS_KERNEL_LINEAR;
    if (kernel == Resample::Nearest) k = VIPS_KERNEL_NEAREST;
    if (kernel == Resample::Cubic) k = VIPS_KERNEL_CUBIC;
    if (kernel == Resample::Lanczos) k = VIPS_KERNEL_LANCZOS3;
    const double hscale = static_cast<double>(width) / input.width();
    const double vscale = static_cast<double>(height) / input.height();
    VipsImage* out = nullptr;
    if (vips_resize(input.get(), &out, hscale, "vscale", vscale, "kernel", k, nullptr) != 0) {
        return vips_failure("resize");
    }
    Image scaled(out);
    // libvips rounds the output size itself; pin it to the exact target.
    if (scaled.width() != width || scaled.height() != height) {
        if (vips_embed(scaled.get(), &out, 0, 0, width, height, "extend", VIPS_EXTEND_COPY,
                       nullptr) != 0) {
            return vips_failure("resize");
        }
        scaled = Image(out);
    }
    return finish(std::move(scaled), "resize");
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
