// bench_upload: the two things the gateway does to every upload's bytes.
//
// BM_Probe reads the size of a real 1 MP and a real 50 MP JPEG (and PNG)
// through image::probe(), which asks libvips for the header only: the two
// times should be about equal, since the probe never touches the pixels.
// BM_Digest feeds 5 MiB through image::DigestStream (MD5 and SHA-256 in one
// pass, in 64 KiB pieces as the body arrives) and reports bytes per second;
// bench/run.sh sets that against `openssl speed` for the same two digests.
//
// `bench_upload --write-photo PATH WIDTH HEIGHT` writes a synthetic photo
// (image/synthetic.h) as a JPEG instead, for the other benchmarks to send.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "image/digest.h"
#include "image/probe.h"
#include "image/synthetic.h"

namespace {

using tollgate::image::Format;

// Sides of about 1 MP and 50 MP, 4:3 as a camera's.
constexpr int kSmallWidth = 1155;
constexpr int kSmallHeight = 866;
constexpr int kLargeWidth = 8165;
constexpr int kLargeHeight = 6124;
constexpr std::size_t kDigestBytes = 5 * 1024 * 1024;
constexpr std::size_t kPieceBytes = 64 * 1024;

const std::string& image(Format format, bool large) {
    static const std::string files[2][2] = {
        {tollgate::image::encode_blank(Format::Jpeg, kSmallWidth, kSmallHeight),
         tollgate::image::encode_blank(Format::Jpeg, kLargeWidth, kLargeHeight)},
        {tollgate::image::encode_blank(Format::Png, kSmallWidth, kSmallHeight),
         tollgate::image::encode_blank(Format::Png, kLargeWidth, kLargeHeight)}};
    return files[format == Format::Png ? 1 : 0][large ? 1 : 0];
}

void BM_Probe(benchmark::State& state) {
    const auto format = state.range(0) == 0 ? Format::Jpeg : Format::Png;
    const bool large = state.range(1) == 1;
    const std::string& bytes = image(format, large);
    if (bytes.empty()) {
        state.SkipWithError("libvips could not encode the test image");
        return;
    }
    const std::int64_t pixels = large ? std::int64_t{kLargeWidth} * kLargeHeight
                                      : std::int64_t{kSmallWidth} * kSmallHeight;
    for (auto _ : state) {
        auto info = tollgate::image::probe(bytes);
        if (!info.ok() || info->width * info->height != pixels) {
            state.SkipWithError("the probe misread the test image");
            return;
        }
        benchmark::DoNotOptimize(info);
    }
    state.SetLabel(std::string(format == Format::Png ? "png " : "jpeg ") +
                   (large ? "50MP" : "1MP"));
}
BENCHMARK(BM_Probe)->ArgsProduct({{0, 1}, {0, 1}});

void BM_Digest(benchmark::State& state) {
    std::string bytes(kDigestBytes, '\0');
    std::mt19937_64 rng(5);
    for (char& c : bytes) c = static_cast<char>(rng());
    for (auto _ : state) {
        tollgate::image::DigestStream stream;
        for (std::size_t at = 0; at < bytes.size(); at += kPieceBytes) {
            stream.update(std::string_view(bytes).substr(at, kPieceBytes));
        }
        auto digests = stream.finish();
        benchmark::DoNotOptimize(digests);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(kDigestBytes));
}
BENCHMARK(BM_Digest)->Unit(benchmark::kMillisecond);

int write_photo(const char* path, const char* width, const char* height) {
    auto jpeg = tollgate::image::encode_synthetic_photo(1, std::atoi(width), std::atoi(height), 85);
    if (!jpeg.ok()) {
        std::fprintf(stderr, "bench_upload: %s\n", jpeg.error().message.c_str());
        return 2;
    }
    std::ofstream out(path, std::ios::binary);
    out.write(jpeg->data(), static_cast<std::streamsize>(jpeg->size()));
    return out.good() ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
    tollgate::image::init();
    if (argc == 5 && std::strcmp(argv[1], "--write-photo") == 0) {
        return write_photo(argv[2], argv[3], argv[4]);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
