// Plans and tenants applied to one account: renewal of plan grants, the
// terms a reservation runs under, and fair use for unlimited plans.
//
// Renewal: for each active subscription, the grant of the period containing
// now is added with the period's key (pricing::plan_period), so renewing
// twice in a period, or from two threads, adds one grant. A limited plan's
// grant expires at the period end and may roll up to rollover_max tokens
// into the next period. An unlimited plan adds no grant: reservations for the
// account run with unlimited terms and are bounded by its fair-use rules.
// A subscription whose plan the book no longer sells is skipped (logged).
//
// Plain C++ over the Ledger, JobStore and UsageSink interfaces; any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "http/api/access_cache.h"
#include "jobs/job_store.h"
#include "ledger/ledger.h"
#include "pricing/price_book.h"
#include "usage/usage_sink.h"

namespace tollgate::http {

// What the account may spend under, with the unlimited plan (if any) whose
// fair-use rules apply.
struct AccountTerms {
    std::string tenant;  // "" when none, or when the book no longer knows it
    ledger::ReserveTerms reserve;
    const pricing::Plan* unlimited_plan = nullptr;  // into the book
    // An active subscription's plan buys dispatch priority.
    bool high_priority = false;
};

// How fresh the account's tenant and subscriptions must be: Exact reads the
// store (a job's reservation, which moves money); Recent may answer from the
// AccessCache, up to its ttl_ms old (a quote, rate limits).
enum class TermsRead { Exact, Recent };

enum class FairUseVerdict { Allow, Deprioritize, Reject };

struct FairUseDecision {
    FairUseVerdict verdict = FairUseVerdict::Allow;
    std::string limit;  // which rule: requests_per_minute | concurrent_jobs | gpu_seconds_per_day
    std::int64_t retry_after_s = 0;  // when rejected
};

// What the account has used, as fair use counts it.
struct FairUseCounters {
    std::int64_t requests_last_minute = 0;
    std::int64_t oldest_request_ms = 0;  // of those
    std::int64_t unfinished_jobs = 0;
    std::int64_t gpu_ms_today = 0;
    std::int64_t day_end_ms = 0;  // the next local midnight
};

// Pure: the verdict for one more request. A limit of 0 means none.
FairUseDecision decide_fair_use(const pricing::FairUse& rules, const FairUseCounters& used,
                                std::int64_t now_ms);

// [start, end) of the local day containing `at_ms` in `zone`, in unix ms.
std::pair<std::int64_t, std::int64_t> local_day(const core::TimeZone& zone, std::int64_t at_ms);

class PlanService {
  public:
    // access_cache_ms: how long access() reuses what it read (0: never).
    PlanService(ledger::Ledger& ledger, jobs::JobStore& jobs, usage::UsageSink& usage,
                const core::Clock& clock, std::int64_t access_cache_ms = 0);

    // Subscribes (idempotently) and adds the current period's grant.
    core::Result<ledger::Subscription> subscribe(const std::string& account_id,
                                                 const pricing::PriceBook& book,
                                                 const std::string& plan);

    // Adds the current period's grant of every active subscription of the
    // account. Returns how many grants were created.
    core::Result<int> renew(const std::string& account_id, const pricing::PriceBook& book);
    // The same for every account with an active subscription (the sweeper).
    core::Result<int> renew_all(const pricing::PriceBook& book);

    core::Result<AccountTerms> terms(const std::string& account_id, const pricing::PriceBook& book,
                                     TermsRead read = TermsRead::Exact);

    // The API keys, tenants and subscriptions that requests read before
    // their work (the Api authenticates through it).
    AccessCache& access() { return access_; }

    core::Result<FairUseDecision> check_fair_use(const std::string& account_id,
                                                 const pricing::PriceBook& book,
                                                 const pricing::Plan& plan);

  private:
    core::Result<bool> renew_one(const ledger::Subscription& sub, const pricing::PriceBook& book);

    ledger::Ledger& ledger_;
    jobs::JobStore& jobs_;
    usage::UsageSink& usage_;
    const core::Clock& clock_;
    AccessCache access_;
};

}  // namespace tollgate::http
