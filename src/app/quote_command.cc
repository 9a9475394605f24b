#include "app/quote_command.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/config.h"
#include "core/clock.h"
#include "http/api/json_mapping.h"

namespace tollgate::app {
namespace {

int fail(const std::string& message) {
    std::fprintf(stderr, "tollgate: %s\n", message.c_str());
    return 1;
}

bool read_number(std::string_view text, std::size_t pos, std::size_t len, int lo, int hi,
                 int* out) {
    if (pos + len > text.size()) return false;
    const char* begin = text.data() + pos;
    auto [ptr, ec] = std::from_chars(begin, begin + len, *out);
    return ec == std::errc() && ptr == begin + len && *out >= lo && *out <= hi;
}

}  // namespace

core::Result<std::int64_t> parse_local_time(std::string_view text, const core::TimeZone& zone) {
    // YYYY-MM-DD?HH:MM[:SS]
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    const bool shape = (text.size() == 16 || text.size() == 19) && text[4] == '-' &&
                       text[7] == '-' && (text[10] == ' ' || text[10] == 'T') && text[13] == ':' &&
                       (text.size() == 16 || text[16] == ':');
    if (!shape || !read_number(text, 0, 4, 1970, 9999, &year) ||
        !read_number(text, 5, 2, 1, 12, &month) ||
        !read_number(text, 8, 2, 1, core::days_in_month(year, month), &day) ||
        !read_number(text, 11, 2, 0, 23, &hour) || !read_number(text, 14, 2, 0, 59, &minute) ||
        (text.size() == 19 && !read_number(text, 17, 2, 0, 59, &second))) {
        return core::make_error("invalid_time", "time \"" + std::string(text.substr(0, 40)) +
                                                    "\" must look like 2026-11-28 19:30");
    }
    const std::int64_t local_s =
        core::days_from_civil({year, month, day}) * 86'400 + hour * 3600 + minute * 60 + second;
    return zone.to_unix_s(local_s) * 1000;
}

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
        if (!loaded.ok()) return fail(loaded.error().message);
        book = std::move(loaded).value();
    } else {
        auto config = load_config(o.config_path);
        if (!config.ok()) return fail(config.error().message);
        book = std::move(config->price_book);
    }
    pricing::QuoteRequest request;
    request.workflow = o.workflow;
    request.width = o.width;
    request.height = o.height;
    request.quality = o.quality;
    request.tenant = o.tenant;
    if (!o.tenant.empty() && book.find_tenant(o.tenant) == nullptr) {
        return fail("price book " + book.version + " has no tenant \"" + o.tenant + "\"");
    }
    request.at_unix_ms = core::SystemClock::instance().now_ms();
    if (!o.at.empty()) {
        auto at = parse_local_time(o.at, book.time_zone);
        if (!at.ok()) return fail(at.error().message);
        request.at_unix_ms = *at;
    }
    if (!o.upscale.empty()) {
        auto factor = pricing::parse_upscale_factor_milli(o.upscale);
        if (!factor.ok()) return fail(factor.error().message);
        request.upscale_factor_milli = *factor;
    }
    if (!o.rounding.empty()) {
        request.rounding = pricing::parse_rounding(o.rounding);
        if (!request.rounding) return fail("--rounding must be floor, ceil or nearest");
    }
    auto q = pricing::quote(book, request);
    if (!q.ok()) return fail(q.error().message);
    std::cout << (o.json ? format_quote_json(*q) + "\n" : format_quote_table(*q));
    return 0;
}

}  // namespace tollgate::app
