// Key names of the shared backends (see redis_keys.h).
#include "store/redis/redis_keys.h"

#include <cstdint>

#include "core/assert.h"

namespace tollgate::store::redis {

core::Status check_prefix(std::string_view prefix) {
    if (prefix.empty() || prefix.size() > kRedisPrefixBytesMax ||
        prefix.find_first_of("{}") != std::string_view::npos) {
        return core::make_error("invalid_prefix",
                                "the Redis key prefix must be 1 to 64 bytes without '{' or '}'");
    }
    return {};
}

int shard_of(std::string_view account_id) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : account_id) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return static_cast<int>(h % kRedisShards);
}

std::string shard_base(std::string_view prefix, int shard) {
    TOLLGATE_ASSERT(shard >= 0 && shard < kRedisShards);
    return std::string(prefix) + "{s" + std::to_string(shard) + "}:";
}

std::string account_base(std::string_view prefix, std::string_view account_id) {
    return shard_base(prefix, shard_of(account_id)) + std::string(account_id) + ":";
}

std::string owner_key(std::string_view prefix, std::string_view id) {
    return std::string(prefix) + "owner:" + std::string(id);
}

}  // namespace tollgate::store::redis
