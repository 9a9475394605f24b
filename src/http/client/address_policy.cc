#include "http/client/address_policy.h"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace tollgate::http {
namespace {

constexpr std::size_t kAddressTextBytesMax = 64;  // INET6_ADDRSTRLEN is 46

// Whether the top `bits` bits of `a` equal those of `prefix`.
template <std::size_t N>
bool in_prefix(const std::array<std::uint8_t, N>& a, const std::array<std::uint8_t, N>& prefix,
               int bits) {
    for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
        const std::uint8_t mask = bits >= 8 ? 0xFF : static_cast<std::uint8_t>(0xFF << (8 - bits));
        if ((a[i] & mask) != (prefix[i] & mask)) return false;
    }
    return true;
}

bool public_v4(const std::array<std::uint8_t, 4>& a) {
    struct Range {
        std::array<std::uint8_t, 4> prefix;
        int bits;
    };
    static constexpr Range kNotPublic[] = {
        {{0, 0, 0, 0}, 8},     {{10, 0, 0, 0}, 8},      {{100, 64, 0, 0}, 10},
        {{127, 0, 0, 0}, 8},   {{169, 254, 0, 0}, 16},  {{172, 16, 0, 0}, 12},
        {{192, 0, 0, 0}, 24},  {{192, 0, 2, 0}, 24},    {{192, 168, 0, 0}, 16},
        {{198, 18, 0, 0}, 15}, {{198, 51, 100, 0}, 24}, {{203, 0, 113, 0}, 24},
        {{224, 0, 0, 0}, 4},   {{240, 0, 0, 0}, 4},  // 240/4 includes 255.255.255.255
    };
    for (const Range& r : kNotPublic) {
        if (in_prefix(a, r.prefix, r.bits)) return false;
    }
    return true;
}

bool public_v6(const std::array<std::uint8_t, 16>& a) {
    std::array<std::uint8_t, 16> p{};
    // IPv4-mapped ::ffff:a.b.c.d and NAT64 64:ff9b::a.b.c.d: judge the IPv4 address.
    p[10] = 0xFF;
    p[11] = 0xFF;
    const bool mapped = in_prefix(a, p, 96);
    std::array<std::uint8_t, 16> nat64{0x00, 0x64, 0xFF, 0x9B};
    if (mapped || in_prefix(a, nat64, 96)) return public_v4({a[12], a[13], a[14], a[15]});
    // ::/96 holds :: (unspecified), ::1 (loopback) and the old IPv4-compatible form.
    if (in_prefix(a, std::array<std::uint8_t, 16>{}, 96)) return false;
    struct Range {
        std::array<std::uint8_t, 16> prefix;
        int bits;
    };
    static constexpr Range kNotPublic[] = {
        {{0xFC}, 7},                     // unique local
        {{0xFE, 0x80}, 10},              // link-local
        {{0xFE, 0xC0}, 10},              // site-local (deprecated)
        {{0xFF}, 8},                     // multicast
        {{0x20, 0x01, 0x0D, 0xB8}, 32},  // documentation
        {{0x01, 0x00}, 64},              // discard-only
    };
    for (const Range& r : kNotPublic) {
        if (in_prefix(a, r.prefix, r.bits)) return false;
    }
    return true;
}

}  // namespace

bool is_public_address(std::string_view ip) {
    if (ip.empty() || ip.size() > kAddressTextBytesMax) return false;
    const std::string text(ip);  // inet_pton needs a terminated string
    std::array<std::uint8_t, 4> v4{};
    if (inet_pton(AF_INET, text.c_str(), v4.data()) == 1) return public_v4(v4);
    std::array<std::uint8_t, 16> v6{};
    if (inet_pton(AF_INET6, text.c_str(), v6.data()) == 1) return public_v6(v6);
    return false;
}

}  // namespace tollgate::http
