// Format detection by magic bytes, then a header-only read through libvips.
//
// Approach: the magic bytes pick the format, and only that format's libvips
// loader (jpegload_buffer, pngload_buffer, webpload_buffer) sees the bytes.
// This is the same header path vips_image_new_from_buffer would take, but
// libvips' own sniffing never gets the chance to hand untrusted bytes to one
// of its many other loaders (TIFF, SVG, PDF, ...). The loaders run with
// sequential access; a libvips loader reads the header while it is built and
// leaves pixels for later, which never comes: the image is unreffed at once.
// The loaders do not copy, so `bytes` outlives the image by construction.
//
// libvips keeps one process-wide error buffer. vips_error_buffer_copy() takes
// and clears it under libvips' lock, so a failed probe never leaves text behind
// for the next one. Two probes failing at the same instant may swap their
// reasons; the error code is unaffected, and the message has a fallback.
//
// Rejected alternatives: stb_image (not meant for untrusted input, no WebP)
// and hand-written header parsers (each format has corners libvips' codecs
// already handle, such as JPEG SOF markers after large APPn segments).
#include "image/probe.h"

#include <vips/vips.h>

#include <mutex>
#include <string>

#include "core/assert.h"
#include "core/ids.h"
#include "core/limits.h"
#include "image/vips_error.h"

namespace tollgate::image {
namespace {

bool starts_with(std::string_view bytes, std::string_view magic, std::size_t at = 0) {
    return bytes.size() >= at + magic.size() && bytes.substr(at, magic.size()) == magic;
}

std::optional<Format> sniff(std::string_view bytes) {
    using namespace std::string_view_literals;
    if (starts_with(bytes, "\xFF\xD8\xFF"sv)) return Format::Jpeg;
    if (starts_with(bytes, "\x89PNG\r\n\x1A\n"sv)) return Format::Png;
    if (starts_with(bytes, "RIFF"sv) && starts_with(bytes, "WEBP"sv, 8)) return Format::Webp;
    return std::nullopt;
}

// A short name for what an unsupported upload looks like, for the error.
std::string describe(std::string_view bytes) {
    using namespace std::string_view_literals;
    if (bytes.empty()) return "an empty upload";
    if (starts_with(bytes, "GIF8"sv)) return "a GIF image";
    if (starts_with(bytes, "II*\0"sv) || starts_with(bytes, "MM\0*"sv)) return "a TIFF image";
    if (starts_with(bytes, "BM"sv)) return "a BMP image";
    if (starts_with(bytes, "%PDF"sv)) return "a PDF document";
    if (starts_with(bytes, "RIFF"sv)) return "a RIFF file that is not WebP";
    if (starts_with(bytes, "\xFF\x0A"sv) || starts_with(bytes, "\0\0\0\x0CJXL "sv)) {
        return "a JPEG XL image";
    }
    if (starts_with(bytes, "ftyp"sv, 4)) {
        if (starts_with(bytes, "avif"sv, 8) || starts_with(bytes, "avis"sv, 8)) {
            return "an AVIF image";
        }
        return "a HEIF or other ISO media file";
    }
    if (starts_with(bytes, "<"sv)) return "text starting with '<' (SVG, XML or HTML)";
    const std::size_t n = std::min<std::size_t>(bytes.size(), 8);
    return "data starting with bytes " +
           core::to_hex(reinterpret_cast<const unsigned char*>(bytes.data()), n);
}

core::Error corrupt(Format format, std::string reason) {
    if (reason.empty()) reason = "libvips could not read the header";
    return core::make_error("corrupt_image",
                            "cannot read " + std::string(to_string(format)) + " header: " + reason);
}

// Header dimensions from the format's own loader. Requires init().
core::Result<ImageInfo> read_header(Format format, std::string_view bytes) {
    // libvips takes a non-const pointer but only reads through it.
    void* data = const_cast<char*>(bytes.data());
    VipsImage* image = nullptr;
    int rc = -1;
    switch (format) {
        case Format::Jpeg:
            rc = vips_jpegload_buffer(data, bytes.size(), &image, "access", VIPS_ACCESS_SEQUENTIAL,
                                      nullptr);
            break;
        case Format::Png:
            rc = vips_pngload_buffer(data, bytes.size(), &image, "access", VIPS_ACCESS_SEQUENTIAL,
                                     nullptr);
            break;
        case Format::Webp:
            rc = vips_webpload_buffer(data, bytes.size(), &image, "access", VIPS_ACCESS_SEQUENTIAL,
                                      nullptr);
            break;
    }
    if (rc != 0 || image == nullptr) {
        if (image != nullptr) g_object_unref(image);
        return corrupt(format, take_vips_error());
    }
    const std::int64_t width = vips_image_get_width(image);
    const std::int64_t height = vips_image_get_height(image);
    g_object_unref(image);
    // A successful load can still have queued warnings; drop them.
    vips_error_clear();

    if (width < 1 || height < 1) {
        return corrupt(format,
                       "header says " + std::to_string(width) + "x" + std::to_string(height));
    }
    using core::limits::kImagePixelsMax;
    using core::limits::kImageSideMax;
    const std::string size = std::to_string(width) + "x" + std::to_string(height);
    if (width > kImageSideMax || height > kImageSideMax) {
        return core::make_error("image_too_large", "image is " + size + "; a side may be at most " +
                                                       std::to_string(kImageSideMax) + " pixels");
    }
    if (width * height > kImagePixelsMax) {
        return core::make_error("image_too_large", "image is " + size + "; at most " +
                                                       std::to_string(kImagePixelsMax) +
                                                       " pixels are allowed");
    }
    return ImageInfo{format, width, height};
}

void drop_glib_log(const gchar*, GLogLevelFlags, const gchar*, gpointer) {}

// Saves a tiny black image in each format and probes it, so codec setup
// happens at startup instead of on the first request. Failures are ignored
// here: probe() reports them properly when real input arrives.
void warm_up() {
    for (Format format : {Format::Jpeg, Format::Png, Format::Webp}) {
        std::string bytes = encode_blank(format, 16, 16);
        if (!bytes.empty()) (void)read_header(format, bytes);
    }
    vips_error_clear();
}

std::once_flag g_init_once;

}  // namespace

std::string_view to_string(Format format) {
    switch (format) {
        case Format::Jpeg:
            return "jpeg";
        case Format::Png:
            return "png";
        case Format::Webp:
            return "webp";
    }
    TOLLGATE_ASSERT(false && "unknown Format");
}

std::string_view mime_type(Format format) {
    switch (format) {
        case Format::Jpeg:
            return "image/jpeg";
        case Format::Png:
            return "image/png";
        case Format::Webp:
            return "image/webp";
    }
    TOLLGATE_ASSERT(false && "unknown Format");
}

std::string_view file_extension(Format format) {
    switch (format) {
        case Format::Jpeg:
            return "jpg";
        case Format::Png:
            return "png";
        case Format::Webp:
            return "webp";
    }
    TOLLGATE_ASSERT(false && "unknown Format");
}

void init() {
    std::call_once(g_init_once, [] {
        // A libvips that cannot start means a broken installation; every
        // upload would fail, so stop here with the reason in the log.
        const bool started = VIPS_INIT("tollgate") == 0;
        TOLLGATE_ASSERT(started && "libvips failed to initialise");
        vips_cache_set_max(0);
        const auto levels =
            static_cast<GLogLevelFlags>(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING |
                                        G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG);
        g_log_set_handler("VIPS", levels, drop_glib_log, nullptr);
        warm_up();
    });
}

core::Result<ImageInfo> probe(std::string_view bytes) {
    const std::optional<Format> format = sniff(bytes);
    if (!format) {
        return core::make_error("unsupported_media_type",
                                describe(bytes) + " is not a JPEG, PNG or WebP image");
    }
    init();
    return read_header(*format, bytes);
}

std::string encode_blank(Format format, int width, int height) {
    VipsImage* black = nullptr;
    if (vips_black(&black, width, height, "bands", 3, nullptr) != 0) {
        vips_error_clear();
        return {};
    }
    void* buffer = nullptr;
    std::size_t size = 0;
    int rc = -1;
    switch (format) {
        case Format::Jpeg:
            rc = vips_jpegsave_buffer(black, &buffer, &size, nullptr);
            break;
        case Format::Png:
            rc = vips_pngsave_buffer(black, &buffer, &size, nullptr);
            break;
        case Format::Webp:
            rc = vips_webpsave_buffer(black, &buffer, &size, nullptr);
            break;
    }
    std::string out;
    if (rc == 0) out.assign(static_cast<const char*>(buffer), size);
    g_free(buffer);
    g_object_unref(black);
    vips_error_clear();
    return out;
}

}  // namespace tollgate::image
