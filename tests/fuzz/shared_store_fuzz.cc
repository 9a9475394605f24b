// Fuzz target: what the shared (Redis) store reads from outside. The first
// line is a store URL as an operator writes it in [server] store
// (parse_redis_url); the rest is a usage record as the Redis outbox stream
// hands it back (decode_usage_record), which anything with write access to
// Redis could have put there.
//
// Checks: a parsed URL has 1 .. kSeedsMax seeds, each with a host and a port
// in range, and a refusal is invalid_redis_url whose message never quotes
// what stands before the '@' (the password); a record decodes or is invalid_usage_record, never a
// crash, and a decoded record encodes to text that decodes to the same
// record.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/assert.h"
#include "fuzz/fuzz_input.h"
#include "store/redis/redis_client.h"
#include "usage/usage_record_codec.h"

namespace {

using namespace tollgate;

constexpr std::size_t kInputBytesMax = 128 * 1024;

void check_url(std::string_view text) {
    auto options = store::redis::parse_redis_url(text);
    if (!options.ok()) {
        TOLLGATE_ASSERT(options.error().code == "invalid_redis_url");
        // The password never reaches the message: the same URL with every
        // letter and digit of its password changed (its shape kept, so the
        // parse takes the same path) is refused in the same words.
        const std::size_t scheme = text.find("://");
        const std::size_t at = text.rfind('@');
        if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme + 3)
            return;
        std::string other(text);
        for (std::size_t i = scheme + 3; i < at; ++i) {
            char& c = other[i];
            if (c == '%') {
                i += 2;  // an escape's hex digits are its shape
            } else if ((c >= 'a' && c <= 'y') || (c >= 'A' && c <= 'Y') || (c >= '0' && c <= '8')) {
                c = static_cast<char>(c + 1);
            }
        }
        auto refused = store::redis::parse_redis_url(other);
        TOLLGATE_ASSERT(!refused.ok());
        TOLLGATE_ASSERT(refused.error().message == options.error().message);
        return;
    }
    TOLLGATE_ASSERT(!options->seeds.empty() &&
                    options->seeds.size() <= static_cast<std::size_t>(store::redis::kSeedsMax));
    for (const store::redis::Endpoint& seed : options->seeds) {
        TOLLGATE_ASSERT(!seed.host.empty());
        TOLLGATE_ASSERT(seed.port >= 1 && seed.port <= 65535);
    }
}

void check_record(std::string_view text) {
    auto record = usage::decode_usage_record(text);
    if (!record.ok()) {
        TOLLGATE_ASSERT(record.error().code == "invalid_usage_record");
        return;
    }
    const std::string again = usage::encode_usage_record(*record);
    auto back = usage::decode_usage_record(again);
    TOLLGATE_ASSERT(back.ok());
    TOLLGATE_ASSERT(usage::encode_usage_record(*back) == again);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kInputBytesMax) return 0;
    const auto [first, rest] = fuzz::split_first_line(fuzz::as_text(data, size));
    check_url(first);
    check_record(rest);
    return 0;
}
