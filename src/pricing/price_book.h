// The price book: what each capability costs and which plans are sold, read
// from its own TOML file (config/pricing.toml, format in docs/pricing.md).
//
// Every coefficient is held as integer micro-tokens (1 token = 1'000'000
// micro-tokens, see core/tokens.h). Floating point exists only for the instant
// a TOML number is read; it is converted exactly and range-checked right
// there, so no float ever holds money. Key invariant: a PriceBook returned by
// parse_price_book has a valid version, at least one workflow, every
// coefficient within its bound, and tenant tables already merged with the base
// prices, so quote() never looks anything up twice and never allocates.
// A PriceBook is an immutable value after loading; any thread may read it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
#include "core/result.h"
#include "core/time_zone.h"
#include "core/tokens.h"

namespace tollgate::pricing {

// How a fractional subtotal becomes whole tokens. Nearest rounds half up.
enum class Rounding { Floor, Ceil, Nearest };
std::optional<Rounding> parse_rounding(std::string_view text);
std::string_view to_string(Rounding rounding);

inline constexpr std::size_t kWorkflowNameBytesMax = 64;
inline constexpr std::size_t kQualityLevelsMax = 8;
inline constexpr std::size_t kUpscaleFactorsMax = 8;
inline constexpr std::size_t kWindowsMax = 24;
inline constexpr std::size_t kWorkflowsMax = 64;
inline constexpr std::size_t kTenantsMax = 1024;
inline constexpr std::size_t kPlansMax = 64;
inline constexpr std::size_t kBookNameBytesMax = 64;  // versions, windows, tenants, plans

// Bounds on single values, in whole tokens unless named otherwise. They catch
// a misplaced decimal point, not business rules; together they keep every
// quote within core::limits::kQuoteTokensMax (proved by static_asserts in
// quote.cc, which owns the arithmetic).
inline constexpr std::int64_t kBaseTokensMax = 1'000'000;
inline constexpr std::int64_t kPerMegapixelTokensMax = 100'000;
inline constexpr std::int64_t kPerOutputMegapixelTokensMax = 10'000;
inline constexpr std::int64_t kUpscaleSurchargeTokensMax = 1'000'000;
inline constexpr std::int64_t kQualitySurchargeTokensMax = 1'000'000;
inline constexpr std::int64_t kPerTileTokensMax = 1'000;
inline constexpr std::int64_t kMinimumTokensMax = core::limits::kQuoteTokensMax;
inline constexpr std::int64_t kTileSidePxMin = 256;  // when tiling is on
inline constexpr std::int64_t kModelInputSizeMax = 16'384;
inline constexpr std::int64_t kWindowMultiplierPermilleMax = 10'000;  // 10x
inline constexpr std::int64_t kDiscountBpMax = 10'000;                // 100 %
inline constexpr std::int64_t kTopupExpiryDaysMax = 36'600;           // about a century
inline constexpr std::int64_t kPlanPriceCentsMax = 100'000'000;       // 1'000'000.00
inline constexpr std::int64_t kPlanPriorityAbsMax = 1'000'000;
inline constexpr std::int64_t kFairUseValueMax = 1'000'000'000;
inline constexpr std::size_t kDisplayNameBytesMax = 200;

struct QualityLevel {
    std::string name;
    std::int64_t model_input_size = 0;  // pixels; the workflow template's input size
    std::int64_t surcharge_micro = 0;
};

struct WorkflowPrice {
    std::string name;
    std::int64_t base_micro = 0;
    std::int64_t per_megapixel_micro = 0;             // per input megapixel
    std::int64_t per_output_megapixel_micro = 0;      // per output megapixel when upscaling
    std::int64_t upscale_surcharge_micro = 0;         // when the upscale factor is above 1
    std::vector<std::int64_t> upscale_factors_milli;  // allowed; empty = any in [1000, 8000]
    std::int64_t minimum_tokens = 0;
    std::int64_t model_input_size_min = 0;  // 0 when the workflow has no range
    std::int64_t model_input_size_max = 0;
    std::vector<QualityLevel> qualities;  // empty = the workflow has no quality option
    std::size_t default_quality = 0;      // index into qualities when not empty
    std::int64_t tile_side_px = 0;        // 0 = never tiled
    std::int64_t per_tile_micro = 0;      // 0 = tiling is not priced

    // nullptr when `name` is not a level (an empty name means the default).
    const QualityLevel* find_quality(std::string_view name) const;
};

// A time-of-day window in the book's time zone. Minutes since local midnight;
// end <= start means the window crosses midnight.
struct TimeWindow {
    std::string name;
    int start_minute = 0;
    int end_minute = 0;
    std::int64_t multiplier_permille = 1000;
    bool contains(int minute_of_day) const;
};

struct TenantTerms {
    std::string name;
    std::int64_t discount_bp = 0;                // basis points, 0..10000
    std::optional<std::int64_t> minimum_tokens;  // replaces each workflow minimum
    bool postpaid = false;
    std::int64_t credit_limit_tokens = 0;  // > 0 iff postpaid
    // Every workflow of the book with this tenant's overrides applied.
    std::map<std::string, WorkflowPrice, std::less<>> workflows;
};

enum class PlanPeriod { Month, Year };
// The queue a subscriber's jobs wait in: high is served before normal.
enum class DispatchPriority { Normal, High };
enum class OverLimit { Deprioritize, Reject };

struct FairUse {
    std::int64_t requests_per_minute = 0;  // 0 = no limit
    std::int64_t concurrent_jobs = 0;
    std::int64_t gpu_seconds_per_day = 0;
    OverLimit over_limit = OverLimit::Reject;
};

// Per-account limits on requests and upload bytes, each a token bucket that
// refills at its per-minute rate up to its burst. A rate of 0 means no
// limit; a burst of 0 means one minute's worth of the rate.
struct RateLimits {
    std::int64_t requests_per_minute = 0;
    std::int64_t burst_requests = 0;
    std::int64_t upload_bytes_per_minute = 0;
    std::int64_t burst_upload_bytes = 0;
    bool operator==(const RateLimits&) const = default;
};

// A plan's [rate_limits]: what it changes of the configured RateLimits. A
// key the plan leaves out keeps the configured value.
struct RateLimitOverrides {
    std::optional<std::int64_t> requests_per_minute;
    std::optional<std::int64_t> burst_requests;
    std::optional<std::int64_t> upload_bytes_per_minute;
    std::optional<std::int64_t> burst_upload_bytes;
    bool empty() const {
        return !requests_per_minute && !burst_requests && !upload_bytes_per_minute &&
               !burst_upload_bytes;
    }
    RateLimits over(const RateLimits& defaults) const {
        return {requests_per_minute.value_or(defaults.requests_per_minute),
                burst_requests.value_or(defaults.burst_requests),
                upload_bytes_per_minute.value_or(defaults.upload_bytes_per_minute),
                burst_upload_bytes.value_or(defaults.burst_upload_bytes)};
    }
};

struct Plan {
    std::string name;
    std::string display_name;
    PlanPeriod period = PlanPeriod::Month;
    bool unlimited = false;
    std::int64_t tokens = 0;  // per period; 0 when unlimited
    std::int64_t price_cents = 0;
    std::string currency;
    std::int64_t priority = 0;  // grants of higher priority are drawn first
    std::int64_t rollover_max_tokens = 0;
    DispatchPriority dispatch_priority = DispatchPriority::Normal;
    FairUse fair_use;  // meaningful for unlimited plans
    RateLimitOverrides rate_limits;
};

struct PriceBook {
    std::string version;
    std::string source_name;  // the file it came from
    Rounding rounding = Rounding::Floor;
    core::TimeZone time_zone = core::TimeZone::utc();
    std::int64_t topup_expiry_days = 0;  // 0 = top-ups never expire
    std::vector<TimeWindow> windows;     // sorted by start, non-overlapping
    std::map<std::string, WorkflowPrice, std::less<>> workflows;
    std::map<std::string, TenantTerms, std::less<>> tenants;
    std::map<std::string, Plan, std::less<>> plans;

    // The workflow's prices for `tenant` (its overrides merged), or the base
    // prices when `tenant` is empty or unknown to the book. nullptr when the
    // workflow is unknown. Allocates nothing.
    const WorkflowPrice* find(std::string_view workflow, std::string_view tenant = {}) const;
    const TenantTerms* find_tenant(std::string_view tenant) const;
    const Plan* find_plan(std::string_view plan) const;
    // Whether any plan sets rate limits of its own.
    bool any_plan_rate_limits() const;
    // The window in force at the instant `unix_ms`, or nullptr. Allocates nothing.
    const TimeWindow* window_at(std::int64_t unix_ms) const;
};

// Parses a whole book document. `source_name` names it in error messages.
// Errors: code "invalid_price_book", message "<source>:<line>: <what>".
core::Result<PriceBook> parse_price_book(std::string_view toml_text, std::string_view source_name,
                                         const std::string& zoneinfo_dir = "/usr/share/zoneinfo");
// Reads and parses the file at `path` (at most 1 MiB).
core::Result<PriceBook> load_price_book(const std::string& path,
                                        const std::string& zoneinfo_dir = "/usr/share/zoneinfo");

}  // namespace tollgate::pricing
