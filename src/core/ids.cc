#include "core/ids.h"

#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "core/assert.h"

namespace tollgate::core {

std::string to_hex(const unsigned char* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(size * 2, '0');
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = kDigits[data[i] >> 4];
        out[2 * i + 1] = kDigits[data[i] & 0x0f];
    }
    return out;
}

std::string random_hex(std::size_t n_bytes) {
    TOLLGATE_ASSERT(n_bytes > 0 && n_bytes <= 64);
    std::array<unsigned char, 64> buf{};
    TOLLGATE_ASSERT(RAND_bytes(buf.data(), static_cast<int>(n_bytes)) == 1);
    return to_hex(buf.data(), n_bytes);
}

std::string uuid_v4() {
    std::array<unsigned char, 16> b{};
    TOLLGATE_ASSERT(RAND_bytes(b.data(), static_cast<int>(b.size())) == 1);
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    std::string hex = to_hex(b.data(), b.size());
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string new_id(std::string_view prefix) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    auto ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
    TOLLGATE_ASSERT(ms < (std::uint64_t{1} << 48));
    std::array<unsigned char, 6> time_bytes{};
    for (int i = 5; i >= 0; --i) {
        time_bytes[static_cast<std::size_t>(i)] = static_cast<unsigned char>(ms & 0xff);
        ms >>= 8;
    }
    std::string id(prefix);
    id += '_';
    id += to_hex(time_bytes.data(), time_bytes.size());
    id += random_hex(6);
    return id;
}

}  // namespace tollgate::core
