// Plan periods, plan suggestions and plans' rate limits.
//
// Periods are computed on the local wall clock of the book's zone and only
// then turned into instants, so a month always starts at local midnight on
// the 1st whatever the DST rules do in between, and an annual period keeps
// the subscription's local time of day. Each candidate boundary is converted
// with TimeZone::to_unix_s (gap: read with the offset before the gap;
// overlap: the earlier instant) and the chosen period is then nudged until it
// really contains the instant, which settles the rare zones whose clocks jump
// across local midnight. Rejected alternative: adding 30 days or 365 days of
// seconds, which drifts from the calendar a buyer reads on the invoice.
#include "pricing/plans.h"

#include <algorithm>

#include "core/assert.h"
#include "core/floor_div.h"

namespace tollgate::pricing {
namespace {

using core::floor_div;
using core::kSecondsPerDay;

// The instant (ms) at which the zone's wall clock reads `date` at `second_of_day`.
std::int64_t instant_ms(const core::TimeZone& zone, core::CivilDate date,
                        std::int64_t second_of_day) {
    const std::int64_t local_s = core::days_from_civil(date) * kSecondsPerDay + second_of_day;
    return zone.to_unix_s(local_s) * 1000;
}

std::string period_key(const Plan& plan, core::CivilDate start) {
    std::string key = plan.name;
    key += ':';
    key += core::format_civil_date(start);
    return key;
}

// The first day of the month `months` after (or before) `date`'s month.
core::CivilDate add_months(core::CivilDate date, int months) {
    const int index = date.year * 12 + (date.month - 1) + months;
    const int year = index >= 0 ? index / 12 : -((-index + 11) / 12);
    return core::CivilDate{year, index - year * 12 + 1, 1};
}

PlanPeriodSpan month_period(const Plan& plan, const core::TimeZone& zone, std::int64_t at_ms) {
    const std::int64_t local_s = zone.to_local_s(floor_div(at_ms, 1000));
    core::CivilDate month = core::civil_from_days(floor_div(local_s, kSecondsPerDay));
    month.day = 1;
    for (int step = 0; step < 3; ++step) {
        const std::int64_t start_ms = instant_ms(zone, month, 0);
        const std::int64_t end_ms = instant_ms(zone, add_months(month, 1), 0);
        if (at_ms < start_ms) {
            month = add_months(month, -1);
        } else if (at_ms >= end_ms) {
            month = add_months(month, 1);
        } else {
            return PlanPeriodSpan{start_ms, end_ms, period_key(plan, month)};
        }
    }
    TOLLGATE_ASSERT(false && "no calendar month contains the instant");
}

// The subscription's anniversary `years` later: Feb 29 becomes Feb 28.
core::CivilDate anniversary(core::CivilDate start, int years) {
    core::CivilDate date{start.year + years, start.month, start.day};
    date.day = std::min(date.day, core::days_in_month(date.year, date.month));
    return date;
}

PlanPeriodSpan year_period(const Plan& plan, const core::TimeZone& zone, std::int64_t subscribed_ms,
                           std::int64_t at_ms) {
    const std::int64_t subscribed_s = floor_div(subscribed_ms, 1000);
    const std::int64_t sub_ms_part = subscribed_ms - subscribed_s * 1000;
    const std::int64_t local_s = zone.to_local_s(subscribed_s);
    const std::int64_t sub_days = floor_div(local_s, kSecondsPerDay);
    const core::CivilDate sub_date = core::civil_from_days(sub_days);
    const std::int64_t second_of_day = local_s - sub_days * kSecondsPerDay;
    const auto start_of = [&](int k) {
        return instant_ms(zone, anniversary(sub_date, k), second_of_day) + sub_ms_part;
    };
    // An estimate from the local year, then exact steps (at most one or two).
    const std::int64_t at_local_s = zone.to_local_s(floor_div(at_ms, 1000));
    int k = std::max(
        0, core::civil_from_days(floor_div(at_local_s, kSecondsPerDay)).year - sub_date.year);
    while (k > 0 && start_of(k) > at_ms) --k;
    while (start_of(k + 1) <= at_ms) ++k;
    return PlanPeriodSpan{start_of(k), start_of(k + 1), period_key(plan, anniversary(sub_date, k))};
}

}  // namespace

PlanPeriodSpan plan_period(const Plan& plan, const core::TimeZone& zone, std::int64_t subscribed_ms,
                           std::int64_t at_ms) {
    TOLLGATE_ASSERT(subscribed_ms <= at_ms);
    switch (plan.period) {
        case PlanPeriod::Month:
            return month_period(plan, zone, at_ms);
        case PlanPeriod::Year:
            return year_period(plan, zone, subscribed_ms, at_ms);
    }
    TOLLGATE_ASSERT(false && "unknown PlanPeriod");
}

std::vector<const Plan*> plans_covering(const PriceBook& book, core::Tokens needed,
                                        core::Tokens available) {
    std::vector<const Plan*> covering;
    for (const auto& [name, plan] : book.plans) {
        if (plan.unlimited || core::Tokens(plan.tokens) + available >= needed) {
            covering.push_back(&plan);
        }
    }
    // book.plans is ordered by name, so a stable sort by price keeps names in order.
    std::stable_sort(covering.begin(), covering.end(),
                     [](const Plan* a, const Plan* b) { return a->price_cents < b->price_cents; });
    return covering;
}

namespace {

// One bucket of a RateLimits: its rate and its burst (0 = the rate).
struct Bucket {
    std::int64_t per_minute;
    std::int64_t burst;
};

// Whether `a` lets an account do more than `b`.
bool more_generous(const Bucket& a, const Bucket& b) {
    if (a.per_minute == 0 || b.per_minute == 0) return a.per_minute == 0 && b.per_minute != 0;
    if (a.per_minute != b.per_minute) return a.per_minute > b.per_minute;
    const std::int64_t a_burst = a.burst == 0 ? a.per_minute : a.burst;
    const std::int64_t b_burst = b.burst == 0 ? b.per_minute : b.burst;
    return a_burst > b_burst;
}

}  // namespace

RateLimits account_rate_limits(const RateLimits& defaults, const std::vector<const Plan*>& plans) {
    if (plans.empty()) return defaults;
    RateLimits out = plans.front()->rate_limits.over(defaults);
    for (std::size_t i = 1; i < plans.size(); ++i) {
        const RateLimits next = plans[i]->rate_limits.over(defaults);
        if (more_generous({next.requests_per_minute, next.burst_requests},
                          {out.requests_per_minute, out.burst_requests})) {
            out.requests_per_minute = next.requests_per_minute;
            out.burst_requests = next.burst_requests;
        }
        if (more_generous({next.upload_bytes_per_minute, next.burst_upload_bytes},
                          {out.upload_bytes_per_minute, out.burst_upload_bytes})) {
            out.upload_bytes_per_minute = next.upload_bytes_per_minute;
            out.burst_upload_bytes = next.burst_upload_bytes;
        }
    }
    return out;
}

}  // namespace tollgate::pricing
