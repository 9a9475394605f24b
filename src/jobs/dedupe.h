// Duplicate detection: whether a new job repeats an earlier one, and what to
// do about it. Plain C++ with no I/O: the job store finds the candidates
// (JobStore::dedupe_key_matches, JobStore::recent_in_scope), decide() judges.
//
// An exact duplicate has the same dedupe key (the image's SHA-256, the
// workflow and the options that shape the output: dedupe_key()); a near
// duplicate is an image of the same workflow whose perceptual hash is within
// near_distance_max bits. Either must come from the same scope (the account,
// or with DedupeScope::Tenant every account of its tenant; never another
// tenant) and be created within the window. Only a job that did the work
// counts as the earlier job: one that failed (or was cancelled) does not,
// nor one that itself reused another's result.
//
// Key invariant: a Reuse or Attach decision names an earlier job that
// succeeded (Reuse) or is still in flight (Attach), so the new job is never
// charged and never dispatched, and ends with that job's outcome.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "jobs/job.h"

namespace tollgate::jobs {

// What to do with an exact duplicate.
enum class DedupePolicy {
    Reuse,   // answer with the earlier job's result (attach while it runs); charge 0
    Reject,  // 409 duplicate, naming the earlier job
    Allow,   // nothing: an ordinary new job
};
// What to do with a near duplicate. Flag admits and charges it as usual, and
// records which job it resembles and how closely.
enum class NearDedupePolicy { Flag, Reuse, Reject, Allow };
enum class DedupeScope { Account, Tenant };

std::string_view to_string(DedupePolicy policy);      // "reuse", "reject", "allow"
std::string_view to_string(NearDedupePolicy policy);  // "flag", "reuse", "reject", "allow"
std::string_view to_string(DedupeScope scope);        // "account", "tenant"
std::optional<DedupePolicy> parse_dedupe_policy(std::string_view text);
std::optional<NearDedupePolicy> parse_near_dedupe_policy(std::string_view text);
std::optional<DedupeScope> parse_dedupe_scope(std::string_view text);

inline constexpr std::int64_t kDedupeWindowSecondsDefault = 7 * 86'400;
inline constexpr int kNearDistanceMaxDefault = 6;
// The near-duplicate search reads at most this many of the scope's most
// recent jobs in the window (any workflow, newest first); an older look-alike
// goes unnoticed. It runs inside the admission transaction, so it is kept small.
inline constexpr std::size_t kNearScanJobsMax = 256;
// The exact search reads at most this many jobs with the same key in scope.
// Under the reuse and reject policies at most one of them did the work, so
// more only appear after the policy was allow for a while.
inline constexpr std::size_t kExactScanJobsMax = 16;
// A job in flight carries at most this many attached duplicates; one more
// is refused (429 too_many_jobs) rather than attached.
inline constexpr std::int64_t kAttachedJobsMax = 1'000;
static_assert(kDedupeWindowSecondsDefault <= core::limits::kDedupeWindowSecondsMax);
static_assert(kNearDistanceMaxDefault <= core::limits::kNearDistanceMax);

// [dedupe] in the configuration; the defaults are the documented ones.
struct DedupeSettings {
    std::int64_t window_s = kDedupeWindowSecondsDefault;
    DedupePolicy policy = DedupePolicy::Reuse;
    NearDedupePolicy near_policy = NearDedupePolicy::Flag;
    int near_distance_max = kNearDistanceMaxDefault;
    DedupeScope scope = DedupeScope::Account;

    // Whether new jobs need a perceptual hash at all.
    bool near_enabled() const { return near_policy != NearDedupePolicy::Allow; }
    bool enabled() const { return policy != DedupePolicy::Allow || near_enabled(); }
};

// Whose earlier jobs a new job is compared with.
struct DedupeScopeKey {
    DedupeScope scope = DedupeScope::Account;
    std::string account_id;
    std::string tenant;  // the account's tenant now; "" for none
    // Every account of the tenant; otherwise (account scope, or an account
    // without a tenant) the account alone, and only its jobs of this tenant.
    bool whole_tenant() const { return scope == DedupeScope::Tenant && !tenant.empty(); }
};

// An earlier job as the store returns it for judging.
struct DedupeCandidate {
    std::string job_id;
    std::string account_id;
    std::string tenant;
    std::string workflow;
    std::string dedupe_key;
    JobState state = JobState::Admitted;
    bool reused = false;  // it took its result from another job
    std::optional<std::uint64_t> phash;
    std::int64_t created_ms = 0;
};

// What is known of the new job.
struct DedupeSubject {
    std::string dedupe_key;
    std::string workflow;
    std::optional<std::uint64_t> phash;
};

enum class DedupeAction {
    Proceed,  // admit as usual (possibly flagged near: kind Near)
    Reuse,    // succeed at once with `of`'s result, charged 0
    Attach,   // wait for `of` (in flight) and end as it ends, charged 0
    Reject,   // refuse: 409 duplicate
};

struct DedupeDecision {
    DedupeAction action = DedupeAction::Proceed;
    DedupeKind kind = DedupeKind::None;
    std::string of;    // the earlier job, when kind is not None
    int distance = 0;  // Hamming distance (0 for exact)
};

// Judges the new job against `exact` (jobs with its dedupe key) and `recent`
// (the scope's latest jobs, for near duplicates), both as the store found
// them; every rule (scope, window, state, reuse) is checked here again.
// Exact duplicates win over near ones; among candidates a succeeded job wins
// over one in flight, then the closer hash, then the earlier job.
DedupeDecision decide(const DedupeSettings& settings, const DedupeScopeKey& scope,
                      std::int64_t now_ms, const DedupeSubject& subject,
                      std::span<const DedupeCandidate> exact,
                      std::span<const DedupeCandidate> recent);

// The output-shaping options of a job, as one canonical string.
struct DedupeOptions {
    std::string quality;  // the quality level's name; "" when the workflow has none
    std::int64_t upscale_factor_milli = 1000;
    std::int64_t model_input_size = 0;
    std::int64_t tile_side_px = 0;  // 0: not tiled
};
// Hex SHA-256 over the image's SHA-256, the workflow and the options.
std::string dedupe_key(std::string_view image_sha256_hex, std::string_view workflow,
                       const DedupeOptions& options);

}  // namespace tollgate::jobs
