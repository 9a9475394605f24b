// The main() a fuzz target gets in the regular build: it feeds every file of
// the directories (or the single files) named on the command line to
// LLVMFuzzerTestOneInput, once each, in name order. ctest runs it over the
// target's committed corpus, so the targets always compile and every input
// that once found a bug is replayed by `make test` and, under ASan and UBSan,
// by `make test-asan`. A failed check aborts, as it does under libFuzzer.
//
// It exits non-zero when an argument names nothing readable or when no input
// was found at all: an empty or misplaced corpus must not pass silently.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Optional in a target, as under libFuzzer.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

// A corpus file larger than this is a mistake (corpora hold small inputs).
constexpr std::uintmax_t kReplayFileBytesMax = 1024 * 1024;

bool collect(const std::filesystem::path& path, std::vector<std::filesystem::path>& files) {
    std::error_code error;
    if (std::filesystem::is_regular_file(path, error)) {
        files.push_back(path);
        return true;
    }
    if (!std::filesystem::is_directory(path, error)) {
        std::fprintf(stderr, "replay: %s is neither a file nor a directory\n", path.c_str());
        return false;
    }
    std::vector<std::filesystem::path> found;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path, error)) {
        if (entry.is_regular_file()) found.push_back(entry.path());
    }
    if (error) {
        std::fprintf(stderr, "replay: cannot list %s: %s\n", path.c_str(), error.message().c_str());
        return false;
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
    return true;
}

bool replay(const std::filesystem::path& path) {
    std::error_code error;
    const std::uintmax_t size = std::filesystem::file_size(path, error);
    if (error || size > kReplayFileBytesMax) {
        std::fprintf(stderr, "replay: %s is unreadable or larger than %ju bytes\n", path.c_str(),
                     kReplayFileBytesMax);
        return false;
    }
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return false;
    }
    // A copy in its own allocation, so ASan sees reads past the input's end.
    std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(data.data(), data.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    std::vector<std::filesystem::path> files;
    for (int i = 1; i < argc; ++i) {
        if (!collect(argv[i], files)) return 1;
    }
    if (files.empty()) {
        std::fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    for (const auto& file : files) {
        if (!replay(file)) return 1;
    }
    std::printf("replay: %zu inputs ran without a failed check\n", files.size());
    return 0;
}
