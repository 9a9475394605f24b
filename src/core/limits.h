// Every hard limit in tollgate, in one place. Configuration may narrow a limit
// but never widen it; the static_asserts state how limits relate.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tollgate::core::limits {

// Uploads.
inline constexpr std::int64_t kUploadBytesMax = 64ll * 1024 * 1024;
inline constexpr std::int64_t kImagePixelsMax = 100'000'000;  // 100 MP
inline constexpr std::int64_t kImageSideMax = 30'000;
inline constexpr int kMultipartPartsMax = 16;
inline constexpr std::int64_t kJsonBodyBytesMax = 64 * 1024;

// HTTP.
inline constexpr int kHttpHeaderBytesMax = 16 * 1024;
inline constexpr int kHttpRequestTimeoutMs = 60'000;

// Money.
inline constexpr std::int64_t kGrantTokensMax = 1'000'000'000'000;  // 1e12
inline constexpr std::int64_t kQuoteTokensMax = 1'000'000'000;

// Jobs and dispatch.
inline constexpr int kJobTimeoutMsMax = 30 * 60 * 1000;
inline constexpr int kComfyRequestTimeoutMs = 30'000;
inline constexpr std::int64_t kComfyResultBytesMax = 256ll * 1024 * 1024;
inline constexpr int kComfyMessageBytesMax = 16 * 1024 * 1024;
inline constexpr int kDispatchThreadsMax = 256;
// Unfinished jobs one account may be allowed at once ([dispatch] account_jobs_max).
inline constexpr int kAccountJobsMax = 100'000;

// External usage sinks ([usage] export_to), each with an exporter thread.
inline constexpr std::size_t kUsageSinksMax = 8;

// Results and webhooks.
inline constexpr std::int64_t kResultUrlTtlSecondsMax =
    7 * 86'400;  // a signed URL lives a week at most
inline constexpr int kWebhookUrlBytesMax = 2048;
inline constexpr int kWebhookAttemptsMax = 20;
inline constexpr int kWebhookTimeoutMsMax = 60'000;
inline constexpr std::int64_t kWebhookBackoffMsMax = 6 * 3'600'000;
inline constexpr std::int64_t kWebhookResponseBytesMax = 64 * 1024;  // read, then ignored
inline constexpr int kWebhookBatchMax = 64;                          // deliveries per pass
// A configured signing secret has at least this many bytes.
inline constexpr int kSecretBytesMin = 16;

// Duplicate detection ([dedupe]): the longest window looked back over, and
// the largest Hamming distance between perceptual hashes that may count as a
// near duplicate (beyond a quarter of the 64 bits, unrelated photos match).
inline constexpr std::int64_t kDedupeWindowSecondsMax = 90 * 86'400;
inline constexpr int kNearDistanceMax = 16;
// Rate limits: token buckets per account ([rate_limits] and the plans of the
// price book). Bursts have the same bounds as the per-minute rates.
inline constexpr std::int64_t kRateRequestsPerMinuteMax = 1'000'000;
inline constexpr std::int64_t kRateUploadBytesPerMinuteMax = 1ll << 40;  // 1 TiB
inline constexpr int kRateLimitAccountsMax = 1'000'000;                  // buckets kept in memory

// Names and keys.
inline constexpr int kAccountNameBytesMax = 200;
inline constexpr int kReasonBytesMax = 500;

static_assert(kImagePixelsMax <= kImageSideMax * kImageSideMax);
static_assert(kQuoteTokensMax < kGrantTokensMax);
static_assert(kComfyRequestTimeoutMs < kJobTimeoutMsMax);
static_assert(kWebhookUrlBytesMax < kHttpHeaderBytesMax);
static_assert(kWebhookTimeoutMsMax <= kHttpRequestTimeoutMs);
// A bucket counts in units of 1/60000 (one per millisecond of a minute), so
// its fullest level fits an int64 with room for a refill on top.
static_assert(kRateUploadBytesPerMinuteMax < (std::int64_t{1} << 62) / 60'000 / 2);
static_assert(kUploadBytesMax <= kRateUploadBytesPerMinuteMax);

}  // namespace tollgate::core::limits
