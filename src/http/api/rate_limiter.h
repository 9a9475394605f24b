// Per-account rate limits: a token bucket of requests and one of upload
// bytes for each account, refilled at a per-minute rate up to a burst.
//
// AccountRateLimiter is what the API asks; RateLimiter (here) keeps the
// buckets in this process's memory, RedisRateLimiter (redis_rate_limiter.h)
// keeps them on the shared store, so that gateway instances sharing it share
// each account's budget. Both answer alike for the same calls and times.
//
// Key invariant: a request is admitted only when both of its account's
// buckets cover it, and then takes from both; a refused request takes
// nothing. Arithmetic is in integers only: a bucket counts in units of
// 1/60000 of a request (or byte), so a rate of N per minute adds exactly N
// units per millisecond and never drifts.
//
// Memory is bounded: at most `accounts_max` accounts are tracked, and an
// account whose limits are all off is never tracked. To make room, the
// least recently seen accounts are looked at first and one whose buckets
// are full is dropped (a full bucket is what a new one would be, so nothing
// is lost); only when none of them is full does the least recently seen go.
//
// Time is core::Clock::steady_us(), so tests move it by hand. Threads: any;
// one mutex guards the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace tollgate::http {

// How many of the least recently seen accounts are looked at for a full
// bucket before the least recently seen one is dropped.
inline constexpr std::size_t kRateEvictScanMax = 64;

// One bucket's limit. per_minute 0 = no limit; burst 0 = per_minute.
struct BucketLimit {
    std::int64_t per_minute = 0;
    std::int64_t burst = 0;
    bool unlimited() const { return per_minute == 0; }
    // The most the bucket holds, in requests or bytes.
    std::int64_t capacity() const { return burst == 0 ? per_minute : burst; }
    bool operator==(const BucketLimit&) const = default;
};

struct AccountLimits {
    BucketLimit requests;
    BucketLimit upload_bytes;
    bool unlimited() const { return requests.unlimited() && upload_bytes.unlimited(); }
    bool operator==(const AccountLimits&) const = default;
};

// A token bucket. Plain value; the limit is passed in at each call, so a
// changed limit applies at once (a lowered burst cuts the level).
class TokenBucket {
  public:
    // Units of level per request (or byte): one per millisecond of a minute.
    static constexpr std::int64_t kUnitsPerItem = 60'000;

    // A full bucket at now_ms.
    TokenBucket(const BucketLimit& limit, std::int64_t now_ms);
    // Adds what the time since the last refill is worth, up to the burst.
    // `limit` must not be unlimited.
    void refill(const BucketLimit& limit, std::int64_t now_ms);
    bool full(const BucketLimit& limit) const;
    // Milliseconds until `items` (0 .. capacity) fit, 0 when they do now.
    std::int64_t wait_ms(const BucketLimit& limit, std::int64_t items) const;
    // Takes `items` that fit now (wait_ms() == 0).
    void take(const BucketLimit& limit, std::int64_t items);
    // The level in whole items, rounded down (for tests and metrics).
    std::int64_t items() const { return level_ / kUnitsPerItem; }

  private:
    std::int64_t level_;  // units, 0 .. capacity * kUnitsPerItem
    std::int64_t updated_ms_;
};

enum class RateVerdict {
    Allowed,   // taken from both buckets
    Limited,   // not now: retry after retry_after_s; nothing taken
    TooLarge,  // the upload is larger than the byte bucket's burst: never fits
};

struct RateDecision {
    RateVerdict verdict = RateVerdict::Allowed;
    // Which bucket refused: "requests_per_minute" or "upload_bytes_per_minute".
    std::string_view limit;
    std::int64_t retry_after_s = 0;  // Limited: whole seconds, rounded up, >= 1
    std::int64_t burst = 0;          // TooLarge: the byte bucket's capacity
};

// Whole seconds to wait for `wait_ms` (> 0), rounded up.
std::int64_t retry_after_seconds(std::int64_t wait_ms);

// TooLarge when `upload_bytes` exceeds the byte bucket's burst (it would
// never fit), else nullopt. Decided before any bucket is looked at.
std::optional<RateDecision> rate_too_large(const AccountLimits& limits, std::int64_t upload_bytes);
// The decision for buckets that cover a request after `requests_wait_ms`
// and `bytes_wait_ms` (>= 0): Allowed when both are 0, else Limited by the
// longer wait (the request bucket's on a tie).
RateDecision rate_after_waits(std::int64_t requests_wait_ms, std::int64_t bytes_wait_ms);

// Per-account limits as the API asks for them. An implementation answers
// exactly as the token buckets above would: a new account's buckets are full,
// a bucket refills at its rate up to its burst, a lowered burst cuts the
// level, a bucket whose limit was off starts full when it comes on, and a
// request is taken from both buckets or from neither.
class AccountRateLimiter {
  public:
    virtual ~AccountRateLimiter() = default;
    // Takes one request and `upload_bytes` (>= 0) from the account's
    // buckets under `limits`, from both or from neither. Limits all off:
    // Allowed, and the account's buckets are forgotten.
    virtual RateDecision take(const std::string& account_id, const AccountLimits& limits,
                              std::int64_t upload_bytes) = 0;
    // What take() would answer now, taking nothing and tracking nothing.
    virtual RateDecision check(const std::string& account_id, const AccountLimits& limits,
                               std::int64_t upload_bytes) const = 0;
};

// The buckets in this process's memory: each gateway instance counts alone.
class RateLimiter final : public AccountRateLimiter {
  public:
    // accounts_max: 1 .. core::limits::kRateLimitAccountsMax.
    RateLimiter(const core::Clock& clock, std::size_t accounts_max);

    RateDecision take(const std::string& account_id, const AccountLimits& limits,
                      std::int64_t upload_bytes) override;
    RateDecision check(const std::string& account_id, const AccountLimits& limits,
                       std::int64_t upload_bytes) const override;

    std::size_t tracked_accounts() const;
    bool tracked_for_test(const std::string& account_id) const;

  private:
    struct Entry {
        std::string account_id;
        AccountLimits limits;  // as last applied
        TokenBucket requests;
        TokenBucket upload_bytes;
    };
    using Lru = std::list<Entry>;  // most recently seen first

    std::int64_t now_ms() const;
    // The decision for `entry` (already refilled), or for full buckets when
    // `entry` is null.
    static RateDecision decide(const Entry* entry, const AccountLimits& limits,
                               std::int64_t upload_bytes);
    // Makes room for one more account.
    void evict_one(std::int64_t now);

    const core::Clock& clock_;
    const std::size_t accounts_max_;
    mutable std::mutex mu_;
    Lru lru_;
    std::unordered_map<std::string, Lru::iterator> index_;
};

}  // namespace tollgate::http
