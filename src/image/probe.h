// Image intake: which format an upload is and how big it is, without decoding.
//
// probe() trusts nothing about its input. It recognises JPEG, PNG and WebP by
// their magic bytes, then asks libvips for the header only (no pixel is
// decoded and nothing is copied). Key invariant: a successful probe returns a
// supported format and dimensions with 1 <= side <= kImageSideMax and
// width * height <= kImagePixelsMax, so the result can be priced as is.
// Only the header is checked: bytes cut off after it still probe fine, and
// JPEG sizes are as stored, before any EXIF rotation (the pixel count, which
// is what pricing uses, is the same). After init(), probe() may be called from
// any number of threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tollgate::image {

enum class Format { Jpeg, Png, Webp };

std::string_view to_string(Format format);       // "jpeg", "png", "webp"
std::string_view mime_type(Format format);       // "image/jpeg", "image/png", "image/webp"
std::string_view file_extension(Format format);  // "jpg", "png", "webp" (no dot)

struct ImageInfo {
    Format format = Format::Jpeg;
    std::int64_t width = 0;
    std::int64_t height = 0;
};

// Starts libvips once per process: VIPS_INIT, the operation cache off (a probe
// never reuses a result), libvips' GLib warnings silenced so untrusted input
// cannot fill the log, and one warm-up probe per format so the first request
// does not pay for loading codecs. Safe to call from any thread, any number of
// times; only the first call does work. probe() calls it too. Aborts if libvips
// cannot start, since the installation is then broken.
void init();

// The format and dimensions of `bytes`. Errors:
//   "unsupported_media_type"  not a JPEG, PNG or WebP (the message says what
//                             was seen: empty, GIF, TIFF, ...);
//   "corrupt_image"           the magic matched but libvips could not read a
//                             header, or it reported a zero size (the message
//                             carries libvips' reason, on one line);
//   "image_too_large"         a side over kImageSideMax or more pixels than
//                             kImagePixelsMax (core/limits.h).
core::Result<ImageInfo> probe(std::string_view bytes);

// A black RGB image of width x height encoded in `format` (empty on failure).
// Used to warm the loaders up at start, and by tests that need real files.
std::string encode_blank(Format format, int width, int height);

}  // namespace tollgate::image
