#include "http/api/plan_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/assert.h"
#include "core/floor_div.h"
#include "pricing/plans.h"

namespace tollgate::http {
namespace {

constexpr std::int64_t kMinuteMs = 60'000;

std::int64_t ceil_seconds(std::int64_t ms) { return std::max<std::int64_t>(1, (ms + 999) / 1000); }

using core::floor_div;
using core::kSecondsPerDay;

}  // namespace

FairUseDecision decide_fair_use(const pricing::FairUse& rules, const FairUseCounters& used,
                                std::int64_t now_ms) {
    FairUseDecision d;
    const FairUseVerdict over = rules.over_limit == pricing::OverLimit::Reject
                                    ? FairUseVerdict::Reject
                                    : FairUseVerdict::Deprioritize;
    if (rules.requests_per_minute > 0 && used.requests_last_minute >= rules.requests_per_minute) {
        d = {over, "requests_per_minute",
             ceil_seconds(used.oldest_request_ms + kMinuteMs - now_ms)};
    } else if (rules.concurrent_jobs > 0 && used.unfinished_jobs >= rules.concurrent_jobs) {
        // A running job usually ends within seconds; there is no exact instant to promise.
        d = {over, "concurrent_jobs", 2};
    } else if (rules.gpu_seconds_per_day > 0 &&
               used.gpu_ms_today >= rules.gpu_seconds_per_day * 1000) {
        d = {over, "gpu_seconds_per_day", ceil_seconds(used.day_end_ms - now_ms)};
    }
    if (d.verdict != FairUseVerdict::Reject) d.retry_after_s = 0;
    return d;
}

std::pair<std::int64_t, std::int64_t> local_day(const core::TimeZone& zone, std::int64_t at_ms) {
    const std::int64_t local_s = zone.to_local_s(floor_div(at_ms, 1000));
    const std::int64_t day_start_local = floor_div(local_s, kSecondsPerDay) * kSecondsPerDay;
    return {zone.to_unix_s(day_start_local) * 1000,
            zone.to_unix_s(day_start_local + kSecondsPerDay) * 1000};
}

PlanService::PlanService(ledger::Ledger& ledger, jobs::JobStore& jobs, usage::UsageSink& usage,
                         const core::Clock& clock, std::int64_t access_cache_ms)
    : ledger_(ledger),
      jobs_(jobs),
      usage_(usage),
      clock_(clock),
      access_(ledger, clock, access_cache_ms) {}

core::Result<ledger::Subscription> PlanService::subscribe(const std::string& account_id,
                                                          const pricing::PriceBook& book,
                                                          const std::string& plan) {
    if (book.find_plan(plan) == nullptr) {
        return core::make_error("unknown_plan",
                                "price book " + book.version + " sells no plan \"" + plan + "\"");
    }
    auto sub = ledger_.subscribe(account_id, plan);
    if (!sub.ok()) return sub.error();
    auto renewed = renew_one(*sub, book);
    if (!renewed.ok()) return renewed.error();
    return sub;
}

core::Result<bool> PlanService::renew_one(const ledger::Subscription& sub,
                                          const pricing::PriceBook& book) {
    const pricing::Plan* plan = book.find_plan(sub.plan);
    if (plan == nullptr) {
        spdlog::warn("account {} subscribes to plan {}, which book {} does not sell: not renewed",
                     sub.account_id, sub.plan, book.version);
        return false;
    }
    if (plan->unlimited) return false;
    const std::int64_t now = clock_.now_ms();
    const pricing::PlanPeriodSpan period =
        pricing::plan_period(*plan, book.time_zone, sub.subscribed_ms, now);
    TOLLGATE_ASSERT(period.start_ms <= now && now < period.end_ms);
    ledger::GrantSpec spec;
    spec.account_id = sub.account_id;
    spec.tokens = core::Tokens(plan->tokens);
    spec.reason = "plan " + plan->name + " period " + period.key;
    spec.expires_ms = period.end_ms;
    spec.priority = plan->priority;
    spec.key = "plan:" + period.key;
    if (plan->rollover_max_tokens > 0) {
        spec.rollover_max = core::Tokens(plan->rollover_max_tokens);
        spec.rollover_expires_ms =
            pricing::plan_period(*plan, book.time_zone, sub.subscribed_ms, period.end_ms).end_ms;
    }
    // A period granted under an earlier book with other tokens keeps its
    // grant: the new amount applies from the next period.
    spec.key_keeps_first_amount = true;
    auto added = ledger_.add_grant(spec);
    if (!added.ok()) return added.error();
    if (added->created) {
        spdlog::info("account {}: plan {} granted {} tokens for {}", sub.account_id, plan->name,
                     plan->tokens, period.key);
    }
    return added->created;
}

core::Result<int> PlanService::renew(const std::string& account_id,
                                     const pricing::PriceBook& book) {
    auto subs = ledger_.subscriptions(account_id);
    if (!subs.ok()) return subs.error();
    int created = 0;
    for (const ledger::Subscription& sub : *subs) {
        if (sub.cancelled_ms) continue;
        auto r = renew_one(sub, book);
        if (!r.ok()) return r.error();
        created += *r ? 1 : 0;
    }
    return created;
}

core::Result<int> PlanService::renew_all(const pricing::PriceBook& book) {
    int created = 0;
    std::string after_account, after_plan;
    for (;;) {
        auto page = ledger_.active_subscriptions(after_account, after_plan);
        if (!page.ok()) return page.error();
        for (const ledger::Subscription& sub : *page) {
            auto r = renew_one(sub, book);
            if (!r.ok()) return r.error();
            created += *r ? 1 : 0;
        }
        if (static_cast<std::int64_t>(page->size()) < ledger::kSubscriptionsPageMax) break;
        after_account = page->back().account_id;
        after_plan = page->back().plan;
    }
    return created;
}

core::Result<AccountTerms> PlanService::terms(const std::string& account_id,
                                              const pricing::PriceBook& book, TermsRead read) {
    AccountTerms terms;
    const bool recent = read == TermsRead::Recent;
    auto account = recent ? access_.account(account_id) : ledger_.account(account_id);
    if (!account.ok()) return account.error();
    if (account->has_value() && !(*account)->tenant.empty()) {
        const pricing::TenantTerms* tenant = book.find_tenant((*account)->tenant);
        if (tenant == nullptr) {
            spdlog::warn("account {} belongs to tenant {}, unknown to book {}: base prices apply",
                         account_id, (*account)->tenant, book.version);
        } else {
            terms.tenant = tenant->name;
            if (tenant->postpaid) terms.reserve.credit_limit_tokens = tenant->credit_limit_tokens;
        }
    }
    auto subs = recent ? access_.subscriptions(account_id) : ledger_.subscriptions(account_id);
    if (!subs.ok()) return subs.error();
    for (const ledger::Subscription& sub : *subs) {
        if (sub.cancelled_ms) continue;
        const pricing::Plan* plan = book.find_plan(sub.plan);
        if (plan == nullptr) continue;
        if (plan->dispatch_priority == pricing::DispatchPriority::High) terms.high_priority = true;
        if (plan->unlimited && terms.unlimited_plan == nullptr) {
            terms.unlimited_plan = plan;
            terms.reserve.unlimited = true;
            terms.reserve.credit_limit_tokens = ledger::kUnlimitedCreditTokens;
        }
    }
    return terms;
}

core::Result<FairUseDecision> PlanService::check_fair_use(const std::string& account_id,
                                                          const pricing::PriceBook& book,
                                                          const pricing::Plan& plan) {
    const std::int64_t now = clock_.now_ms();
    FairUseCounters used;
    if (plan.fair_use.requests_per_minute > 0) {
        auto recent = jobs_.recent(account_id, now - kMinuteMs + 1);
        if (!recent.ok()) return recent.error();
        used.requests_last_minute = recent->count;
        used.oldest_request_ms = recent->oldest_ms;
    }
    if (plan.fair_use.concurrent_jobs > 0) {
        auto unfinished = jobs_.count_unfinished(account_id);
        if (!unfinished.ok()) return unfinished.error();
        used.unfinished_jobs = *unfinished;
    }
    if (plan.fair_use.gpu_seconds_per_day > 0) {
        auto [day_start, day_end] = local_day(book.time_zone, now);
        auto gpu = usage_.execution_ms_since(account_id, day_start);
        if (!gpu.ok()) return gpu.error();
        used.gpu_ms_today = *gpu;
        used.day_end_ms = day_end;
    }
    return decide_fair_use(plan.fair_use, used, now);
}

}  // namespace tollgate::http
