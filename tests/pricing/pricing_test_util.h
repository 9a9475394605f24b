// Helpers shared by the pricing tests: the example book from config/, local
// wall-clock times as instants, and compact renderings of quote items.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/time_zone.h"
#include "pricing/price_book.h"
#include "pricing/quote.h"

namespace tollgate::pricing {

// The repository's top directory, found from this file's own path.
inline std::string source_dir() {
    std::string here = __FILE__;
    for (int up = 0; up < 3; ++up) here = here.substr(0, here.find_last_of('/'));
    return here;
}

// config/pricing.toml, loaded once.
inline const PriceBook& example_book() {
    static const PriceBook book = [] {
        auto loaded = load_price_book(source_dir() + "/config/pricing.toml");
        TOLLGATE_ASSERT(loaded.ok());
        return std::move(loaded).value();
    }();
    return book;
}

inline PriceBook must_parse(std::string_view text, std::string_view source = "test.toml") {
    auto book = parse_price_book(text, source);
    EXPECT_TRUE(book.ok()) << book.error().message;
    return book.ok() ? std::move(book).value() : PriceBook{};
}

// "2026-11-30 10:00" or "2026-11-30 18:59:59" (optionally ".999") on the
// wall clock of `zone`, as unix milliseconds.
inline std::int64_t local_ms(const core::TimeZone& zone, std::string_view text) {
    const auto num = [&](std::size_t at, std::size_t len) {
        return std::stoi(std::string(text.substr(at, len)));
    };
    const core::CivilDate date{num(0, 4), num(5, 2), num(8, 2)};
    std::int64_t local_s =
        core::days_from_civil(date) * 86'400 + num(11, 2) * 3600 + num(14, 2) * 60;
    if (text.size() >= 19) local_s += num(17, 2);
    const std::int64_t ms = text.size() >= 23 ? num(20, 3) : 0;
    return zone.to_unix_s(local_s) * 1000 + ms;
}

// "2026-03-29T01:00:00Z" as unix milliseconds.
inline std::int64_t utc_ms(std::string_view text) {
    return local_ms(core::TimeZone::utc(),
                    std::string(text.substr(0, 10)) + " " + std::string(text.substr(11, 8)));
}

// "rule=amount" for each item, space separated.
inline std::string items_of(const Quote& q) {
    std::string out;
    for (const QuoteItem& item : q.items()) {
        if (!out.empty()) out += ' ';
        out += rule_name(item.rule);
        out += '=';
        out += format_micro_tokens(item.micro_tokens);
    }
    return out;
}

}  // namespace tollgate::pricing
