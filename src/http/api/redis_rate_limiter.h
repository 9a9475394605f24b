// Per-account rate limits on the shared store: every gateway instance on one
// Redis (or cluster) takes from the same two buckets of an account, so N
// instances together admit what one would, not N times as much.
//
// Key invariant: one Lua script per take() or check(), on one key per account,
// "P{sN}:a:rate" (store::redis::account_base + "rate", in the account's shard
// and so in its hash slot). A take reads, refills, decides, takes from both
// buckets or neither and writes back in that one script, so concurrent takes
// on any instances never take more than the buckets hold.
//
// The buckets are those of TokenBucket, to the unit: the same integer levels
// (1/60000 of an item), refill, ceiling, lowered-burst cut, full start and
// waits, so the answers are the in-memory RateLimiter's for the same calls
// and times. The key expires once both of its buckets would be full again (a
// full bucket is what a missing key means), so an idle account costs no
// memory; under raised limits an expired account then starts full at them,
// as an evicted one does in memory.
//
// Time: each call passes this instance's core::Clock::now_ms() (wall time;
// not Redis's TIME, so tests move a ManualClock). Instances' clocks must
// agree to within a small fraction of a minute (NTP keeps them within
// milliseconds): a clock d ms ahead refills the buckets it touches d ms early
// (d * rate / 60000 items more, once); one behind refills nothing until it
// passes the time the buckets were last refilled at.
//
// Redis unreachable or failing: the call is allowed (fails open) and the
// error logged, at most once per kRateWarnIntervalMs; the request then
// meets the same Redis at the ledger anyway.
//
// Threads: any; the client's pool serves concurrent calls.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "http/api/rate_limiter.h"
#include "store/redis/redis_client.h"

namespace tollgate::http {

// The least time between two logged failures of the shared limiter.
inline constexpr std::int64_t kRateWarnIntervalMs = 10'000;

class RedisRateLimiter final : public AccountRateLimiter {
  public:
    // Error "invalid_prefix" for a prefix store::redis::check_prefix refuses.
    static core::Result<std::unique_ptr<RedisRateLimiter>> open(store::redis::Client& client,
                                                                const core::Clock& clock,
                                                                std::string prefix);

    RateDecision take(const std::string& account_id, const AccountLimits& limits,
                      std::int64_t upload_bytes) override;
    RateDecision check(const std::string& account_id, const AccountLimits& limits,
                       std::int64_t upload_bytes) const override;

    // The key of the account's buckets: "P{sN}:a:rate".
    std::string key(const std::string& account_id) const;

  private:
    RedisRateLimiter(store::redis::Client& client, const core::Clock& clock, std::string prefix);
    // Runs the script; `take` false only looks.
    RateDecision run(bool take, const std::string& account_id, const AccountLimits& limits,
                     std::int64_t upload_bytes) const;
    // Logs a failure unless one was logged within kRateWarnIntervalMs.
    void warn(std::string_view what, const std::string& account_id,
              const std::string& message) const;

    store::redis::Client& client_;
    const core::Clock& clock_;
    const std::string prefix_;
    mutable std::atomic<std::int64_t> warned_ms_;
};

}  // namespace tollgate::http
