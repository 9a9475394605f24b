// The reads that come before every authenticated request's own work: the
// API key by its secret, and the account's tenant and subscriptions. Each
// would take the store's lock (SQLite's connection, a Redis round trip) on
// every quote; here an answer is reused for ttl_ms.
//
// What stays exact:
// - A change made through this process (an admin route) calls forget_all(),
//   so it applies to the next request. A read that began before the change
//   does not put its older answer back (a generation counter).
// - A key's expiry is judged at each use from the cached expires_ms.
// - Unknown secrets are never remembered: a stream of made-up keys cannot
//   fill the cache, and a key created elsewhere works at once.
// - Money never waits on it: a job's reservation reads the account's terms
//   from the store (PlanService::terms with TermsRead::Exact).
// What may lag by up to ttl_ms: a key revoked, a tenant changed or a plan
// subscribed or cancelled by another instance sharing the Redis store, or by
// the command line. [server] access_cache_ms sets ttl_ms; 0 reads every time.
//
// Bounded: each map holds at most entries_max entries and is emptied when it
// would grow past that. Thread-safe; one short mutex per call, never held
// while the store is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "ledger/ledger.h"

namespace tollgate::http {

inline constexpr std::int64_t kAccessCacheTtlMsMax = 60'000;
inline constexpr std::size_t kAccessCacheEntriesMax = 100'000;

class AccessCache {
  public:
    // ttl_ms in [0, kAccessCacheTtlMsMax]; entries_max >= 1.
    AccessCache(ledger::Ledger& ledger, const core::Clock& clock, std::int64_t ttl_ms,
                std::size_t entries_max = kAccessCacheEntriesMax);

    // ledger::Ledger::find_api_key, remembering keys that exist.
    core::Result<std::optional<ledger::ApiKeyInfo>> find_api_key(const std::string& secret);
    // ledger::Ledger::account and ::subscriptions, remembered per account.
    core::Result<std::optional<ledger::AccountInfo>> account(const std::string& account_id);
    core::Result<std::vector<ledger::Subscription>> subscriptions(const std::string& account_id);

    // The next call of each kind reads the store.
    void forget_all();

    std::int64_t ttl_ms() const { return ttl_ms_; }
    // Answers served from memory since the start (for tests and metrics).
    std::int64_t hits() const;

  private:
    template <class Value>
    struct Entry {
        Value value;
        std::int64_t read_ms = 0;
    };
    template <class Value>
    using Map = std::unordered_map<std::string, Entry<Value>>;

    // The value under `key` if it is younger than ttl_ms.
    template <class Value>
    std::optional<Value> fresh(const Map<Value>& map, const std::string& key, std::int64_t now_ms);
    // Stores what a read that began at `generation` returned, unless
    // forget_all() ran since.
    template <class Value>
    void remember(Map<Value>& map, const std::string& key, Value value, std::int64_t read_ms,
                  std::uint64_t generation);
    // The fresh value under `key`, or read() (remembered when it succeeds).
    template <class Value, class Read>
    core::Result<Value> read_through(Map<Value>& map, const std::string& key, Read read);
    std::uint64_t generation() const;

    ledger::Ledger& ledger_;
    const core::Clock& clock_;
    const std::int64_t ttl_ms_;
    const std::size_t entries_max_;

    mutable std::mutex mutex_;
    std::uint64_t generation_ = 0;  // bumped by forget_all()
    std::int64_t hits_ = 0;
    Map<ledger::ApiKeyInfo> keys_;  // by the secret's SHA-256
    Map<std::optional<ledger::AccountInfo>> accounts_;
    Map<std::vector<ledger::Subscription>> subscriptions_;
};

}  // namespace tollgate::http
