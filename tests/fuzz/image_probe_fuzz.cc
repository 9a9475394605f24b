// Fuzz target: image::probe() over upload bytes (src/image/probe.h).
//
// The input is the upload itself. Checks, beyond "no crash, leak or UB":
// a success names the format its magic bytes say and dimensions within
// core/limits.h, so it can be priced as is; a failure has one of the three
// documented codes and a one-line message of bounded length.
//
// libvips is a system library (not instrumented), so coverage guides only
// our side of the probe; the target still catches anything libvips does
// wrong with hostile headers under ASan.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/assert.h"
#include "core/limits.h"
#include "fuzz/fuzz_input.h"
#include "image/probe.h"

namespace {

using namespace tollgate;

// Headers sit in the first bytes; a larger input only slows the fuzzer down.
constexpr std::size_t kInputBytesMax = 256 * 1024;
// probe()'s messages: a short prefix plus at most 200 bytes of libvips' reason.
constexpr std::size_t kMessageBytesMax = 512;

bool has_magic(image::Format format, std::string_view bytes) {
    using namespace std::string_view_literals;
    switch (format) {
        case image::Format::Jpeg:
            return bytes.starts_with("\xFF\xD8\xFF"sv);
        case image::Format::Png:
            return bytes.starts_with("\x89PNG\r\n\x1A\n"sv);
        case image::Format::Webp:
            return bytes.starts_with("RIFF"sv) && bytes.size() >= 12 &&
                   bytes.substr(8, 4) == "WEBP"sv;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Started once here, so libvips' one-time allocations are not taken for
    // leaks of the first input.
    image::init();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kInputBytesMax) return 0;
    const std::string_view bytes = fuzz::as_text(data, size);
    const core::Result<image::ImageInfo> info = image::probe(bytes);
    if (info.ok()) {
        using core::limits::kImagePixelsMax;
        using core::limits::kImageSideMax;
        TOLLGATE_ASSERT(has_magic(info->format, bytes));
        TOLLGATE_ASSERT(info->width >= 1 && info->width <= kImageSideMax);
        TOLLGATE_ASSERT(info->height >= 1 && info->height <= kImageSideMax);
        TOLLGATE_ASSERT(info->width * info->height <= kImagePixelsMax);
        return 0;
    }
    const core::Error& error = info.error();
    TOLLGATE_ASSERT(error.code == "unsupported_media_type" || error.code == "corrupt_image" ||
                    error.code == "image_too_large");
    TOLLGATE_ASSERT(!error.message.empty() && error.message.size() <= kMessageBytesMax);
    TOLLGATE_ASSERT(error.message.find('\n') == std::string::npos);
    return 0;
}
