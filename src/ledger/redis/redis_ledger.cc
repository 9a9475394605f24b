// Redis ledger: opening, key names, and how scripts are run.
#include "ledger/redis/redis_ledger.h"

#include <cstdint>
#include <string_view>
#include <utility>

#include "core/assert.h"

namespace tollgate::ledger {

core::Result<std::unique_ptr<RedisLedger>> RedisLedger::open(store::redis::Client& client,
                                                             const core::Clock& clock,
                                                             std::string prefix) {
    if (prefix.empty() || prefix.size() > kRedisPrefixBytesMax ||
        prefix.find_first_of("{}") != std::string::npos) {
        return core::make_error("invalid_prefix",
                                "the Redis key prefix must be 1 to 64 bytes without '{' or '}'");
    }
    return std::unique_ptr<RedisLedger>(new RedisLedger(client, clock, std::move(prefix)));
}

int redis_shard(std::string_view account_id) {
    // FNV-1a: stable across builds and machines, unlike std::hash.
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : account_id) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return static_cast<int>(h % kRedisShards);
}

std::string RedisLedger::shard_base(int shard) const {
    TOLLGATE_ASSERT(shard >= 0 && shard < kRedisShards);
    return prefix_ + "{s" + std::to_string(shard) + "}:";
}

std::string RedisLedger::account_base(const std::string& account_id) const {
    return shard_base(redis_shard(account_id)) + account_id + ":";
}

std::vector<std::string> RedisLedger::account_keys(const std::string& account_id) const {
    const std::string base = account_base(account_id);
    return {base + "acct",    base + "grants",  base + "live", base + "gkeys", base + "holds",
            base + "entries", base + "adjkeys", base + "subs", base + "keys"};
}

core::Result<std::optional<std::string>> RedisLedger::hold_account(const std::string& key) {
    const std::string index = global_key("hold:" + key);
    auto r = client_.command(index, {"GET", index});
    if (!r.ok()) return r.error();
    if (r->is_nil()) return std::optional<std::string>();
    return std::optional<std::string>(r->text);
}

core::Result<store::redis::Reply> RedisLedger::run(const store::redis::Script& script,
                                                   const std::string& account_id,
                                                   const std::vector<std::string>& args) {
    return client_.eval(script, account_keys(account_id), args);
}

}  // namespace tollgate::ledger
