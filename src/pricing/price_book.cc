// Look-ups over a loaded PriceBook. Every function here runs on the quote
// path, so none of them allocates: maps are searched with string_view keys
// (std::less<> makes the search heterogeneous) and the window search is a
// scan of at most kWindowsMax entries, which beats anything cleverer at
// that size.
#include "pricing/price_book.h"

#include "core/assert.h"
#include "core/floor_div.h"

namespace tollgate::pricing {
namespace {

using core::floor_div;
using core::kSecondsPerDay;

}  // namespace

std::optional<Rounding> parse_rounding(std::string_view text) {
    if (text == "floor") return Rounding::Floor;
    if (text == "ceil") return Rounding::Ceil;
    if (text == "nearest") return Rounding::Nearest;
    return std::nullopt;
}

std::string_view to_string(Rounding rounding) {
    switch (rounding) {
        case Rounding::Floor:
            return "floor";
        case Rounding::Ceil:
            return "ceil";
        case Rounding::Nearest:
            return "nearest";
    }
    TOLLGATE_ASSERT(false && "unknown Rounding");
}

const QualityLevel* WorkflowPrice::find_quality(std::string_view name) const {
    if (qualities.empty()) return nullptr;
    if (name.empty()) {
        TOLLGATE_ASSERT(default_quality < qualities.size());
        return &qualities[default_quality];
    }
    for (const QualityLevel& level : qualities) {
        if (level.name == name) return &level;
    }
    return nullptr;
}

bool TimeWindow::contains(int minute_of_day) const {
    if (start_minute < end_minute) {
        return minute_of_day >= start_minute && minute_of_day < end_minute;
    }
    // Crosses midnight: the evening part, then the morning part.
    return minute_of_day >= start_minute || minute_of_day < end_minute;
}

const WorkflowPrice* PriceBook::find(std::string_view workflow, std::string_view tenant) const {
    if (!tenant.empty()) {
        if (const TenantTerms* terms = find_tenant(tenant)) {
            auto it = terms->workflows.find(workflow);
            return it == terms->workflows.end() ? nullptr : &it->second;
        }
    }
    auto it = workflows.find(workflow);
    return it == workflows.end() ? nullptr : &it->second;
}

const TenantTerms* PriceBook::find_tenant(std::string_view tenant) const {
    auto it = tenants.find(tenant);
    return it == tenants.end() ? nullptr : &it->second;
}

const Plan* PriceBook::find_plan(std::string_view plan) const {
    auto it = plans.find(plan);
    return it == plans.end() ? nullptr : &it->second;
}

bool PriceBook::any_plan_rate_limits() const {
    for (const auto& [name, plan] : plans) {
        if (!plan.rate_limits.empty()) return true;
    }
    return false;
}

const TimeWindow* PriceBook::window_at(std::int64_t unix_ms) const {
    if (windows.empty()) return nullptr;
    const std::int64_t local_s = time_zone.to_local_s(floor_div(unix_ms, 1000));
    const std::int64_t second_of_day =
        local_s - floor_div(local_s, kSecondsPerDay) * kSecondsPerDay;
    const int minute_of_day = static_cast<int>(second_of_day / 60);
    for (const TimeWindow& window : windows) {
        if (window.contains(minute_of_day)) return &window;
    }
    return nullptr;
}

}  // namespace tollgate::pricing
