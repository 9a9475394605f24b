// Reads [plans.*]: what is sold, for how much, how an unlimited plan is
// kept fair, and the rate limits a plan sets for its subscribers. A plan's display price is a
// decimal string ("9.99") read exactly into cents; TOML floats are refused there because a price
// shown to buyers must be the text the operator wrote.
#include <optional>
#include <string>

#include "pricing/book_toml_read.h"
#include "pricing/decimal.h"

namespace tollgate::pricing {
namespace {

core::Status read_fair_use(const BookSource& source, const toml::node& node,
                           const std::string& path, std::uint32_t fallback, FairUse& fair_use) {
    auto table = read_table(source, node, path, fallback);
    if (!table) return table.error();
    const std::uint32_t line = line_of(node, fallback);
    auto keys =
        check_keys(source, **table,
                   {"requests_per_minute", "concurrent_jobs", "gpu_seconds_per_day", "over_limit"},
                   path, line);
    if (!keys) return keys;
    struct Limit {
        std::string_view key;
        std::int64_t FairUse::*field;
    };
    static constexpr Limit kLimits[] = {
        {"requests_per_minute", &FairUse::requests_per_minute},
        {"concurrent_jobs", &FairUse::concurrent_jobs},
        {"gpu_seconds_per_day", &FairUse::gpu_seconds_per_day},
    };
    for (const Limit& limit : kLimits) {
        const toml::node* value = (*table)->get(limit.key);
        if (value == nullptr) continue;
        auto read = read_integer(source, *value, child_path(path, limit.key), 0, kFairUseValueMax);
        if (!read) return read.error();
        fair_use.*limit.field = *read;
    }
    if (const toml::node* value = (*table)->get("over_limit")) {
        auto text = read_string(source, *value, path + ".over_limit");
        if (!text) return text.error();
        if (*text == "deprioritize") {
            fair_use.over_limit = OverLimit::Deprioritize;
        } else if (*text == "reject") {
            fair_use.over_limit = OverLimit::Reject;
        } else {
            return book_error(source, line_of(*value, line),
                              path + ".over_limit must be \"deprioritize\" or \"reject\"");
        }
    }
    return {};
}

core::Status read_rate_limits(const BookSource& source, const toml::node& node,
                              const std::string& path, std::uint32_t fallback,
                              RateLimitOverrides& limits) {
    auto table = read_table(source, node, path, fallback);
    if (!table) return table.error();
    const std::uint32_t line = line_of(node, fallback);
    auto keys = check_keys(
        source, **table,
        {"requests_per_minute", "burst_requests", "upload_bytes_per_minute", "burst_upload_bytes"},
        path, line);
    if (!keys) return keys;
    struct Limit {
        std::string_view key;
        std::optional<std::int64_t> RateLimitOverrides::*field;
        std::int64_t max;
    };
    static constexpr Limit kLimits[] = {
        {"requests_per_minute", &RateLimitOverrides::requests_per_minute,
         core::limits::kRateRequestsPerMinuteMax},
        {"burst_requests", &RateLimitOverrides::burst_requests,
         core::limits::kRateRequestsPerMinuteMax},
        {"upload_bytes_per_minute", &RateLimitOverrides::upload_bytes_per_minute,
         core::limits::kRateUploadBytesPerMinuteMax},
        {"burst_upload_bytes", &RateLimitOverrides::burst_upload_bytes,
         core::limits::kRateUploadBytesPerMinuteMax},
    };
    for (const Limit& limit : kLimits) {
        const toml::node* value = (*table)->get(limit.key);
        if (value == nullptr) continue;
        auto read = read_integer(source, *value, child_path(path, limit.key), 0, limit.max);
        if (!read) return read.error();
        limits.*limit.field = *read;
    }
    return {};
}

core::Status read_price(const BookSource& source, const toml::table& table, const std::string& path,
                        std::uint32_t line, Plan& plan) {
    const toml::node* price = table.get("price");
    if (price == nullptr) return book_error(source, line, path + ".price is missing");
    const auto* text = price->as_string();
    std::int64_t cents = 0;
    const DecimalStatus status = text != nullptr
                                     ? parse_decimal(text->get(), 2, kPlanPriceCentsMax, cents)
                                     : DecimalStatus::Malformed;
    if (status != DecimalStatus::Ok) {
        return book_error(source, line_of(*price, line),
                          path +
                              ".price must be a decimal string with at most 2 places, "
                              "from \"0\" to \"" +
                              format_decimal(kPlanPriceCentsMax, 2) + "\"");
    }
    plan.price_cents = cents;

    const toml::node* currency = table.get("currency");
    if (currency == nullptr) return book_error(source, line, path + ".currency is missing");
    const auto* code = currency->as_string();
    bool ok = code != nullptr && code->get().size() == 3;
    for (std::size_t i = 0; ok && i < 3; ++i) ok = code->get()[i] >= 'A' && code->get()[i] <= 'Z';
    if (!ok) {
        return book_error(source, line_of(*currency, line),
                          path + ".currency must be 3 uppercase letters, such as \"USD\"");
    }
    plan.currency = code->get();
    return {};
}

core::Status read_period(const BookSource& source, const toml::table& table,
                         const std::string& path, std::uint32_t line, Plan& plan) {
    const toml::node* period = table.get("period");
    if (period == nullptr) return book_error(source, line, path + ".period is missing");
    const auto* text = period->as_string();
    if (text != nullptr && text->get() == "month") {
        plan.period = PlanPeriod::Month;
    } else if (text != nullptr && text->get() == "year") {
        plan.period = PlanPeriod::Year;
    } else {
        return book_error(source, line_of(*period, line),
                          path + ".period must be \"month\" or \"year\"");
    }
    return {};
}

core::Status read_allowance(const BookSource& source, const toml::table& table,
                            const std::string& path, std::uint32_t line, Plan& plan) {
    if (const toml::node* node = table.get("unlimited")) {
        auto unlimited = read_bool(source, *node, path + ".unlimited");
        if (!unlimited) return unlimited.error();
        plan.unlimited = *unlimited;
    }
    const toml::node* tokens = table.get("tokens");
    if (plan.unlimited && tokens != nullptr) {
        return book_error(source, line_of(*tokens, line),
                          path + ".tokens is not allowed on an unlimited plan");
    }
    if (!plan.unlimited) {
        if (tokens == nullptr) {
            return book_error(source, line, path + ".tokens is missing (or set unlimited = true)");
        }
        auto value =
            read_integer(source, *tokens, path + ".tokens", 1, core::limits::kGrantTokensMax);
        if (!value) return value.error();
        plan.tokens = *value;
    }
    if (const toml::node* node = table.get("rollover_max")) {
        auto rollover = read_integer(source, *node, path + ".rollover_max", 0, plan.tokens);
        if (!rollover) return rollover.error();
        plan.rollover_max_tokens = *rollover;
    }
    if (const toml::node* node = table.get("fair_use")) {
        if (!plan.unlimited) {
            return book_error(source, line_of(*node, line),
                              path + ".fair_use is only allowed on an unlimited plan");
        }
        auto status = read_fair_use(source, *node, path + ".fair_use", line, plan.fair_use);
        if (!status) return status;
    }
    return {};
}

core::Result<Plan> read_plan(const BookSource& source, std::string_view name,
                             const toml::table& table, std::uint32_t line) {
    const std::string path = child_path("plans", name);
    auto keys =
        check_keys(source, table,
                   {"display_name", "period", "tokens", "unlimited", "price", "currency",
                    "priority", "rollover_max", "fair_use", "dispatch_priority", "rate_limits"},
                   path, line);
    if (!keys) return keys.error();
    Plan plan;
    plan.name = std::string(name);
    plan.display_name = plan.name;
    if (const toml::node* node = table.get("display_name")) {
        auto text = read_string(source, *node, path + ".display_name");
        if (!text) return text.error();
        if (text->empty() || text->size() > kDisplayNameBytesMax) {
            return book_error(source, line_of(*node, line),
                              path + ".display_name must be 1 to " +
                                  std::to_string(kDisplayNameBytesMax) + " bytes");
        }
        plan.display_name = std::string(*text);
    }
    if (auto status = read_period(source, table, path, line, plan); !status) return status.error();
    if (auto status = read_allowance(source, table, path, line, plan); !status) {
        return status.error();
    }
    if (auto status = read_price(source, table, path, line, plan); !status) return status.error();
    if (const toml::node* node = table.get("priority")) {
        auto priority = read_integer(source, *node, path + ".priority", -kPlanPriorityAbsMax,
                                     kPlanPriorityAbsMax);
        if (!priority) return priority.error();
        plan.priority = *priority;
    }
    if (const toml::node* node = table.get("rate_limits")) {
        auto status =
            read_rate_limits(source, *node, path + ".rate_limits", line, plan.rate_limits);
        if (!status) return status.error();
    }
    if (const toml::node* node = table.get("dispatch_priority")) {
        auto text = read_string(source, *node, path + ".dispatch_priority");
        if (!text) return text.error();
        if (*text == "high") {
            plan.dispatch_priority = DispatchPriority::High;
        } else if (*text != "normal") {
            return book_error(source, line_of(*node, line),
                              path + ".dispatch_priority must be \"normal\" or \"high\"");
        }
    }
    return plan;
}

}  // namespace

core::Status read_plans(const BookSource& source, const toml::node& node, std::uint32_t fallback,
                        PriceBook& book) {
    auto table = read_table(source, node, "plans", fallback);
    if (!table) return table.error();
    const std::uint32_t line = line_of(node, fallback);
    for (auto&& [key, entry] : **table) {
        const std::string path = child_path("plans", key.str());
        const std::uint32_t entry_line = line_of(entry, line);
        if (!valid_lower_name(key.str())) {
            return book_error(source, entry_line, path + ": plan names are 1-64 of [a-z0-9_]");
        }
        if (book.plans.size() == kPlansMax) {
            return book_error(source, entry_line,
                              "at most " + std::to_string(kPlansMax) + " plans");
        }
        auto plan_table = read_table(source, entry, path, entry_line);
        if (!plan_table) return plan_table.error();
        auto plan = read_plan(source, key.str(), **plan_table, entry_line);
        if (!plan) return plan.error();
        book.plans.emplace(std::string(key.str()), std::move(plan).value());
    }
    return {};
}

}  // namespace tollgate::pricing
