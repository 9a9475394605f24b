// Token buckets with a bounded table of accounts.
//
// Design: a bucket stores its level and when it was last refilled; it is
// refilled lazily when its account is seen, so idle accounts cost no work.
// Levels count 1/60000 of an item, which makes a per-minute rate an exact
// per-millisecond increment; the refill compares elapsed time with the time
// to fill before multiplying, so a bucket idle for years cannot overflow.
// Rejected: a sliding window log (memory per request, not per account) and
// floating-point rates (drift, and no exact Retry-After). The table is an LRU
// list with a hash index; eviction prefers a full bucket among the least
// recently seen, which forgets nothing a new bucket would not know.
#include "http/api/rate_limiter.h"

#include <algorithm>

#include "core/assert.h"
#include "core/limits.h"

namespace tollgate::http {
namespace {

constexpr std::string_view kRequestsLimit = "requests_per_minute";
constexpr std::string_view kBytesLimit = "upload_bytes_per_minute";

std::int64_t capacity_units(const BucketLimit& limit) {
    TOLLGATE_ASSERT(!limit.unlimited() && limit.per_minute > 0 && limit.burst >= 0);
    TOLLGATE_ASSERT(limit.capacity() <= core::limits::kRateUploadBytesPerMinuteMax);
    return limit.capacity() * TokenBucket::kUnitsPerItem;
}

}  // namespace

std::int64_t retry_after_seconds(std::int64_t wait_ms) {
    TOLLGATE_ASSERT(wait_ms > 0);
    return (wait_ms + 999) / 1000;
}

TokenBucket::TokenBucket(const BucketLimit& limit, std::int64_t now_ms)
    : level_(limit.unlimited() ? 0 : capacity_units(limit)), updated_ms_(now_ms) {}

void TokenBucket::refill(const BucketLimit& limit, std::int64_t now_ms) {
    const std::int64_t capacity = capacity_units(limit);
    if (now_ms > updated_ms_) {
        if (level_ < capacity) {
            const std::int64_t missing = capacity - level_;
            const std::int64_t elapsed = now_ms - updated_ms_;
            // Compare before multiplying: elapsed * rate may not fit.
            if (elapsed >= (missing + limit.per_minute - 1) / limit.per_minute) {
                level_ = capacity;
            } else {
                level_ += elapsed * limit.per_minute;
            }
        }
        updated_ms_ = now_ms;
    }
    level_ = std::min(level_, capacity);  // the limit may have been lowered
    TOLLGATE_ASSERT(level_ >= 0 && level_ <= capacity);
}

bool TokenBucket::full(const BucketLimit& limit) const { return level_ >= capacity_units(limit); }

std::int64_t TokenBucket::wait_ms(const BucketLimit& limit, std::int64_t items) const {
    TOLLGATE_ASSERT(items >= 0 && items <= limit.capacity());
    const std::int64_t missing = items * kUnitsPerItem - level_;
    if (missing <= 0) return 0;
    return (missing + limit.per_minute - 1) / limit.per_minute;
}

void TokenBucket::take(const BucketLimit& limit, std::int64_t items) {
    TOLLGATE_ASSERT(wait_ms(limit, items) == 0);
    level_ -= items * kUnitsPerItem;
    TOLLGATE_ASSERT(level_ >= 0);
}

RateLimiter::RateLimiter(const core::Clock& clock, std::size_t accounts_max)
    : clock_(clock), accounts_max_(accounts_max) {
    TOLLGATE_ASSERT(accounts_max >= 1 &&
                    accounts_max <= static_cast<std::size_t>(core::limits::kRateLimitAccountsMax));
}

std::int64_t RateLimiter::now_ms() const { return clock_.steady_us() / 1000; }

std::optional<RateDecision> rate_too_large(const AccountLimits& limits, std::int64_t upload_bytes) {
    if (limits.upload_bytes.unlimited() || upload_bytes <= limits.upload_bytes.capacity()) {
        return std::nullopt;
    }
    RateDecision d;
    d.verdict = RateVerdict::TooLarge;
    d.limit = kBytesLimit;
    d.burst = limits.upload_bytes.capacity();
    return d;
}

RateDecision rate_after_waits(std::int64_t requests_wait_ms, std::int64_t bytes_wait_ms) {
    TOLLGATE_ASSERT(requests_wait_ms >= 0 && bytes_wait_ms >= 0);
    RateDecision d;
    if (requests_wait_ms == 0 && bytes_wait_ms == 0) return d;
    d.verdict = RateVerdict::Limited;
    d.limit = requests_wait_ms >= bytes_wait_ms ? kRequestsLimit : kBytesLimit;
    d.retry_after_s = retry_after_seconds(std::max(requests_wait_ms, bytes_wait_ms));
    return d;
}

RateDecision RateLimiter::decide(const Entry* entry, const AccountLimits& limits,
                                 std::int64_t upload_bytes) {
    if (auto too_large = rate_too_large(limits, upload_bytes)) return *too_large;
    if (entry == nullptr) return {};  // full buckets cover anything up to their bursts
    const std::int64_t requests_wait =
        limits.requests.unlimited() ? 0 : entry->requests.wait_ms(limits.requests, 1);
    const std::int64_t bytes_wait =
        limits.upload_bytes.unlimited()
            ? 0
            : entry->upload_bytes.wait_ms(limits.upload_bytes, upload_bytes);
    return rate_after_waits(requests_wait, bytes_wait);
}

RateDecision RateLimiter::take(const std::string& account_id, const AccountLimits& limits,
                               std::int64_t upload_bytes) {
    TOLLGATE_ASSERT(upload_bytes >= 0);
    std::lock_guard lock(mu_);
    const std::int64_t now = now_ms();
    auto found = index_.find(account_id);
    if (limits.unlimited()) {
        // Nothing to count: forget the account if it was limited before.
        if (found != index_.end()) {
            lru_.erase(found->second);
            index_.erase(found);
        }
        return {};
    }
    RateDecision too_large = decide(nullptr, limits, upload_bytes);
    if (too_large.verdict != RateVerdict::Allowed) return too_large;

    if (found == index_.end()) {
        if (index_.size() >= accounts_max_) evict_one(now);
        lru_.push_front(Entry{account_id, limits, TokenBucket(limits.requests, now),
                              TokenBucket(limits.upload_bytes, now)});
        found = index_.emplace(account_id, lru_.begin()).first;
    } else {
        lru_.splice(lru_.begin(), lru_, found->second);
    }
    Entry& entry = *found->second;
    // A bucket that had no limit holds nothing yet: it starts full.
    if (entry.limits.requests.unlimited() && !limits.requests.unlimited()) {
        entry.requests = TokenBucket(limits.requests, now);
    }
    if (entry.limits.upload_bytes.unlimited() && !limits.upload_bytes.unlimited()) {
        entry.upload_bytes = TokenBucket(limits.upload_bytes, now);
    }
    entry.limits = limits;
    if (!limits.requests.unlimited()) entry.requests.refill(limits.requests, now);
    if (!limits.upload_bytes.unlimited()) entry.upload_bytes.refill(limits.upload_bytes, now);

    RateDecision d = decide(&entry, limits, upload_bytes);
    if (d.verdict != RateVerdict::Allowed) return d;
    if (!limits.requests.unlimited()) entry.requests.take(limits.requests, 1);
    if (!limits.upload_bytes.unlimited()) {
        entry.upload_bytes.take(limits.upload_bytes, upload_bytes);
    }
    TOLLGATE_ASSERT(index_.size() == lru_.size() && index_.size() <= accounts_max_);
    return d;
}

RateDecision RateLimiter::check(const std::string& account_id, const AccountLimits& limits,
                                std::int64_t upload_bytes) const {
    TOLLGATE_ASSERT(upload_bytes >= 0);
    if (limits.unlimited()) return {};
    std::lock_guard lock(mu_);
    const std::int64_t now = now_ms();
    auto found = index_.find(account_id);
    if (found == index_.end()) return decide(nullptr, limits, upload_bytes);
    Entry copy = *found->second;
    if (copy.limits.requests.unlimited()) copy.requests = TokenBucket(limits.requests, now);
    if (copy.limits.upload_bytes.unlimited()) {
        copy.upload_bytes = TokenBucket(limits.upload_bytes, now);
    }
    if (!limits.requests.unlimited()) copy.requests.refill(limits.requests, now);
    if (!limits.upload_bytes.unlimited()) copy.upload_bytes.refill(limits.upload_bytes, now);
    return decide(&copy, limits, upload_bytes);
}

void RateLimiter::evict_one(std::int64_t now) {
    TOLLGATE_ASSERT(!lru_.empty());
    auto victim = std::prev(lru_.end());
    auto it = lru_.end();
    for (std::size_t looked = 0; looked < kRateEvictScanMax && it != lru_.begin(); ++looked) {
        --it;
        const AccountLimits& limits = it->limits;
        bool full = true;
        if (!limits.requests.unlimited()) {
            TokenBucket b = it->requests;
            b.refill(limits.requests, now);
            full = b.full(limits.requests);
        }
        if (full && !limits.upload_bytes.unlimited()) {
            TokenBucket b = it->upload_bytes;
            b.refill(limits.upload_bytes, now);
            full = b.full(limits.upload_bytes);
        }
        if (full) {
            victim = it;
            break;
        }
    }
    index_.erase(victim->account_id);
    lru_.erase(victim);
}

std::size_t RateLimiter::tracked_accounts() const {
    std::lock_guard lock(mu_);
    return index_.size();
}

bool RateLimiter::tracked_for_test(const std::string& account_id) const {
    std::lock_guard lock(mu_);
    return index_.count(account_id) == 1;
}

}  // namespace tollgate::http
