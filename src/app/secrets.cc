#include "app/secrets.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/ids.h"

namespace tollgate::app {
namespace {

constexpr std::size_t kSecretBytes = 32;

core::Result<std::string> read_secret(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return core::make_error("storage_error", "cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
        secret.pop_back();
    }
    bool hex = secret.size() == 2 * kSecretBytes;
    for (char c : secret) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
    if (!hex) {
        return core::make_error("invalid_secret_file",
                                path +
                                    " must hold 64 hex characters; delete it to make a new "
                                    "one (links and signatures made with it stop working)");
    }
    return secret;
}

core::Status write_new(const std::string& staged, const std::string& secret) {
    int fd = ::open(staged.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return core::make_error("storage_error", "cannot create " + staged);
    const std::string line = secret + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return core::make_error("storage_error", "cannot write " + staged);
    return {};
}

}  // namespace

core::Result<std::string> load_or_create_secret(const std::string& path) {
    if (std::filesystem::exists(path)) return read_secret(path);
    const std::string staged = path + ".new-" + core::random_hex(6);
    core::Status written = write_new(staged, core::random_hex(kSecretBytes));
    if (!written.ok()) {
        ::unlink(staged.c_str());
        return written.error();
    }
    // link() fails if another process created the file first: its secret wins.
    const bool linked = ::link(staged.c_str(), path.c_str()) == 0;
    ::unlink(staged.c_str());
    if (linked) {
        std::string dir = std::filesystem::path(path).parent_path().string();
        int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            ::fsync(fd);
            ::close(fd);
        }
    }
    return read_secret(path);
}

}  // namespace tollgate::app
