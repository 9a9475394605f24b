#include "app/quote_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/config.h"
#include "core/clock.h"
#include "core/local_time.h"
#include "http/api/json_mapping.h"

namespace tollgate::app {
namespace {

int quote_failed(const std::string& message) {
    std::fprintf(stderr, "tollgate: %s\n", message.c_str());
    return 1;
}

}  // namespace

std::string format_quote_table(const pricing::Quote& q) {
    std::string out =
        fmt::format("{} {}x{}, upscale x{}, price book {}, rounding {}\n", q.workflow(), q.width,
                    q.height, pricing::format_micro_tokens(q.upscale_factor_milli * 1000),
                    q.book_version, pricing::to_string(q.rounding));
    for (const pricing::QuoteItem& item : q.items()) {
        out += fmt::format("  {:<20} {:<44} {:>12}\n", pricing::rule_name(item.rule),
                           pricing::describe(q, item),
                           pricing::format_micro_tokens(item.micro_tokens));
    }
    out += fmt::format("  {:<20} {:<44} {:>12}\n", "total", "tokens", q.tokens.value);
    return out;
}

std::string format_quote_json(const pricing::Quote& q) {
    return http::quote_fields_to_json(q).dump(2);
}

int run_quote(const QuoteOptions& o) {
    pricing::PriceBook book;
    if (!o.book_path.empty()) {
        auto loaded = pricing::load_price_book(o.book_path);
        if (!loaded.ok()) return quote_failed(loaded.error().message);
        book = std::move(loaded).value();
    } else {
        auto config = load_config(o.config_path);
        if (!config.ok()) return quote_failed(config.error().message);
        book = std::move(config->price_book);
    }
    pricing::QuoteRequest request;
    request.workflow = o.workflow;
    request.width = o.width;
    request.height = o.height;
    request.quality = o.quality;
    request.tenant = o.tenant;
    if (!o.tenant.empty() && book.find_tenant(o.tenant) == nullptr) {
        return quote_failed("price book " + book.version + " has no tenant \"" + o.tenant + "\"");
    }
    request.at_unix_ms = core::SystemClock::instance().now_ms();
    if (!o.at.empty()) {
        auto at = core::parse_local_time_ms(o.at, book.time_zone);
        if (!at.ok()) return quote_failed(at.error().message);
        request.at_unix_ms = *at;
    }
    if (!o.upscale.empty()) {
        auto factor = pricing::parse_upscale_factor_milli(o.upscale);
        if (!factor.ok()) return quote_failed(factor.error().message);
        request.upscale_factor_milli = *factor;
    }
    if (!o.rounding.empty()) {
        request.rounding = pricing::parse_rounding(o.rounding);
        if (!request.rounding) return quote_failed("--rounding must be floor, ceil or nearest");
    }
    auto q = pricing::quote(book, request);
    if (!q.ok()) return quote_failed(q.error().message);
    std::cout << (o.json ? format_quote_json(*q) + "\n" : format_quote_table(*q));
    return 0;
}

}  // namespace tollgate::app
