#include "http/api/access_cache.h"

#include <utility>

#include "core/assert.h"
#include "core/hash.h"

namespace tollgate::http {

AccessCache::AccessCache(ledger::Ledger& ledger, const core::Clock& clock, std::int64_t ttl_ms,
                         std::size_t entries_max)
    : ledger_(ledger), clock_(clock), ttl_ms_(ttl_ms), entries_max_(entries_max) {
    TOLLGATE_ASSERT(ttl_ms >= 0 && ttl_ms <= kAccessCacheTtlMsMax);
    TOLLGATE_ASSERT(entries_max >= 1);
}

template <class Value>
std::optional<Value> AccessCache::fresh(const Map<Value>& map, const std::string& key,
                                        std::int64_t now_ms) {
    if (ttl_ms_ == 0) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto it = map.find(key);
    // A clock that stepped back makes an entry look young: read again.
    if (it == map.end() || now_ms < it->second.read_ms || now_ms - it->second.read_ms >= ttl_ms_) {
        return std::nullopt;
    }
    ++hits_;
    return it->second.value;
}

template <class Value>
void AccessCache::remember(Map<Value>& map, const std::string& key, Value value,
                           std::int64_t read_ms, std::uint64_t generation) {
    if (ttl_ms_ == 0) return;
    std::lock_guard lock(mutex_);
    if (generation != generation_) return;  // forgotten while it was read
    if (map.size() >= entries_max_ && map.find(key) == map.end()) map.clear();
    map.insert_or_assign(key, Entry<Value>{std::move(value), read_ms});
    TOLLGATE_ASSERT(map.size() <= entries_max_);
}

std::uint64_t AccessCache::generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
}

core::Result<std::optional<ledger::ApiKeyInfo>> AccessCache::find_api_key(
    const std::string& secret) {
    const std::int64_t now_ms = clock_.now_ms();
    const std::string digest = ttl_ms_ == 0 ? std::string() : core::sha256_hex(secret);
    if (auto cached = fresh(keys_, digest, now_ms)) return std::optional(std::move(*cached));
    const std::uint64_t before = generation();
    auto key = ledger_.find_api_key(secret);
    if (key.ok() && key->has_value()) remember(keys_, digest, **key, now_ms, before);
    return key;
}

template <class Value, class Read>
core::Result<Value> AccessCache::read_through(Map<Value>& map, const std::string& key, Read read) {
    const std::int64_t now_ms = clock_.now_ms();
    if (auto cached = fresh(map, key, now_ms)) return std::move(*cached);
    const std::uint64_t before = generation();
    core::Result<Value> value = read();
    if (value.ok()) remember(map, key, *value, now_ms, before);
    return value;
}

core::Result<std::optional<ledger::AccountInfo>> AccessCache::account(
    const std::string& account_id) {
    return read_through(accounts_, account_id, [&] { return ledger_.account(account_id); });
}

core::Result<std::vector<ledger::Subscription>> AccessCache::subscriptions(
    const std::string& account_id) {
    return read_through(subscriptions_, account_id,
                        [&] { return ledger_.subscriptions(account_id); });
}

void AccessCache::forget_all() {
    std::lock_guard lock(mutex_);
    ++generation_;
    keys_.clear();
    accounts_.clear();
    subscriptions_.clear();
}

std::int64_t AccessCache::hits() const {
    std::lock_guard lock(mutex_);
    return hits_;
}

}  // namespace tollgate::http
