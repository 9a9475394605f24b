// decide(): the duplicate rules in one pure function, so that each of them
// (scope, window, failed or reused jobs, policy, distance) is unit tested
// without a store. The store's queries already narrow the candidates the
// same way; checking again here means a query that widens by mistake (a
// tenant filter lost, a window off by a unit) still never lets a job reuse
// another tenant's result.
#include "jobs/dedupe.h"

#include <bit>

#include "core/hash.h"

namespace tollgate::jobs {
namespace {

template <typename Enum, std::size_t N>
std::optional<Enum> parse_enum(std::string_view text, const Enum (&values)[N]) {
    for (Enum v : values) {
        if (to_string(v) == text) return v;
    }
    return std::nullopt;
}

// Did the work, is in scope and within the window.
bool counts(const DedupeCandidate& c, const DedupeScopeKey& scope, std::int64_t since_ms) {
    if (c.state == JobState::Failed || c.reused || c.created_ms < since_ms) return false;
    if (c.tenant != scope.tenant) return false;  // never across tenants
    return scope.whole_tenant() || c.account_id == scope.account_id;
}

// Whether `a` is a better earlier job than `b` at equal distance: a result
// in hand beats one to wait for, then the earlier job wins.
bool better(const DedupeCandidate& a, const DedupeCandidate& b) {
    const bool a_done = a.state == JobState::Succeeded;
    const bool b_done = b.state == JobState::Succeeded;
    if (a_done != b_done) return a_done;
    return a.created_ms < b.created_ms;
}

DedupeDecision act(DedupeKind kind, const DedupeCandidate& earlier, int distance, bool reuse,
                   bool reject) {
    DedupeDecision d{DedupeAction::Proceed, kind, earlier.job_id, distance};
    if (reuse) {
        d.action =
            earlier.state == JobState::Succeeded ? DedupeAction::Reuse : DedupeAction::Attach;
    } else if (reject) {
        d.action = DedupeAction::Reject;
    }
    return d;
}

}  // namespace

std::string_view to_string(DedupePolicy policy) {
    switch (policy) {
        case DedupePolicy::Reuse:
            return "reuse";
        case DedupePolicy::Reject:
            return "reject";
        case DedupePolicy::Allow:
            return "allow";
    }
    return "";
}

std::string_view to_string(NearDedupePolicy policy) {
    switch (policy) {
        case NearDedupePolicy::Flag:
            return "flag";
        case NearDedupePolicy::Reuse:
            return "reuse";
        case NearDedupePolicy::Reject:
            return "reject";
        case NearDedupePolicy::Allow:
            return "allow";
    }
    return "";
}

std::string_view to_string(DedupeScope scope) {
    return scope == DedupeScope::Tenant ? "tenant" : "account";
}

std::optional<DedupePolicy> parse_dedupe_policy(std::string_view text) {
    static constexpr DedupePolicy kAll[] = {DedupePolicy::Reuse, DedupePolicy::Reject,
                                            DedupePolicy::Allow};
    return parse_enum(text, kAll);
}

std::optional<NearDedupePolicy> parse_near_dedupe_policy(std::string_view text) {
    static constexpr NearDedupePolicy kAll[] = {NearDedupePolicy::Flag, NearDedupePolicy::Reuse,
                                                NearDedupePolicy::Reject, NearDedupePolicy::Allow};
    return parse_enum(text, kAll);
}

std::optional<DedupeScope> parse_dedupe_scope(std::string_view text) {
    static constexpr DedupeScope kAll[] = {DedupeScope::Account, DedupeScope::Tenant};
    return parse_enum(text, kAll);
}

DedupeDecision decide(const DedupeSettings& settings, const DedupeScopeKey& scope,
                      std::int64_t now_ms, const DedupeSubject& subject,
                      std::span<const DedupeCandidate> exact,
                      std::span<const DedupeCandidate> recent) {
    const std::int64_t since_ms = now_ms - settings.window_s * 1000;
    if (settings.policy != DedupePolicy::Allow) {
        const DedupeCandidate* best = nullptr;
        for (const DedupeCandidate& c : exact) {
            if (c.dedupe_key != subject.dedupe_key || !counts(c, scope, since_ms)) continue;
            if (best == nullptr || better(c, *best)) best = &c;
        }
        if (best != nullptr) {
            return act(DedupeKind::Exact, *best, 0, settings.policy == DedupePolicy::Reuse,
                       settings.policy == DedupePolicy::Reject);
        }
    }
    if (!settings.near_enabled() || !subject.phash) return {};
    const DedupeCandidate* best = nullptr;
    int best_distance = 0;
    for (const DedupeCandidate& c : recent) {
        if (!c.phash || c.workflow != subject.workflow || !counts(c, scope, since_ms)) continue;
        // With exact duplicates allowed, the same request is not a near one either.
        if (c.dedupe_key == subject.dedupe_key) continue;
        const int distance = std::popcount(*c.phash ^ *subject.phash);
        if (distance > settings.near_distance_max) continue;
        if (best == nullptr || distance < best_distance ||
            (distance == best_distance && better(c, *best))) {
            best = &c;
            best_distance = distance;
        }
    }
    if (best == nullptr) return {};
    return act(DedupeKind::Near, *best, best_distance,
               settings.near_policy == NearDedupePolicy::Reuse,
               settings.near_policy == NearDedupePolicy::Reject);
}

std::string dedupe_key(std::string_view image_sha256_hex, std::string_view workflow,
                       const DedupeOptions& options) {
    std::string text;
    text.append(image_sha256_hex).append("\n").append(workflow);
    text.append("\nquality=").append(options.quality);
    text.append("\nupscale_factor_milli=").append(std::to_string(options.upscale_factor_milli));
    text.append("\nmodel_input_size=").append(std::to_string(options.model_input_size));
    text.append("\ntile_side_px=").append(std::to_string(options.tile_side_px));
    return core::sha256_hex(text);
}

}  // namespace tollgate::jobs
