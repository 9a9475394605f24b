// Fuzz target: pricing::parse_price_book() (src/pricing/price_book.h), the
// whole path that loads a book: toml++ and every reader of
// src/pricing/book_toml_*.cc, plus the time zone the book names.
//
// The input is the book's TOML text. Checks: failures are
// "invalid_price_book" with the "<source>:" prefix; a loaded book keeps the
// invariants price_book.h promises (valid version, 1..kWorkflowsMax
// workflows, sorted non-overlapping windows, every tenant holding every
// workflow); and, since a loaded book must be priceable as is, quote() runs
// over a bounded matrix of its workflows, tenants, sizes, upscale factors,
// quality levels and instants, and must succeed within its minimum and
// kQuoteTokensMax. plans_covering() and plan_period() run over every plan.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "core/limits.h"
#include "fuzz/fuzz_input.h"
#include "pricing/plans.h"
#include "pricing/price_book.h"
#include "pricing/quote.h"

namespace {

using namespace tollgate;
using pricing::PriceBook;

// Real books are a few KB (load_price_book() allows 1 MiB).
constexpr std::size_t kInputBytesMax = 64 * 1024;
constexpr std::string_view kSource = "fuzz.toml";
// The matrix of quotes per loaded book stays within a few hundred.
constexpr std::size_t kWorkflowsQuoted = 4;
constexpr std::size_t kTenantsQuoted = 2;

struct Size {
    std::int64_t width;
    std::int64_t height;
};
constexpr Size kSizes[] = {{1, 1}, {800, 600}, {30'000, 3'333}, {10'000, 10'000}};
// 2026-11-28 12:00 UTC and 2026-11-28 20:30 UTC: noon and an evening window.
constexpr std::int64_t kInstantsMs[] = {1'795'867'200'000, 1'795'897'800'000};

void check_book(const PriceBook& book) {
    TOLLGATE_ASSERT(!book.version.empty() && book.version.size() <= pricing::kBookNameBytesMax);
    TOLLGATE_ASSERT(!book.workflows.empty() && book.workflows.size() <= pricing::kWorkflowsMax);
    TOLLGATE_ASSERT(book.windows.size() <= pricing::kWindowsMax);
    TOLLGATE_ASSERT(book.tenants.size() <= pricing::kTenantsMax);
    TOLLGATE_ASSERT(book.plans.size() <= pricing::kPlansMax);
    for (std::size_t i = 1; i < book.windows.size(); ++i) {
        TOLLGATE_ASSERT(book.windows[i - 1].start_minute < book.windows[i].start_minute);
    }
    for (int minute = 0; minute < 24 * 60; ++minute) {
        int holders = 0;
        for (const auto& window : book.windows) holders += window.contains(minute) ? 1 : 0;
        TOLLGATE_ASSERT(holders <= 1);
    }
    for (const auto& [name, terms] : book.tenants) {
        TOLLGATE_ASSERT(terms.name == name && terms.workflows.size() == book.workflows.size());
        TOLLGATE_ASSERT(terms.postpaid == (terms.credit_limit_tokens > 0));
    }
}

// The smallest and largest factors the workflow allows (sorted at load), or
// the two ends of the open range.
std::vector<std::int64_t> factors_of(const pricing::WorkflowPrice& price) {
    const auto& allowed = price.upscale_factors_milli;
    if (allowed.empty()) return {pricing::kUpscaleFactorMilliMin, pricing::kUpscaleFactorMilliMax};
    return {allowed.front(), allowed.back()};
}

// The default level, then the first and last named ones (none without levels).
std::vector<std::string_view> qualities_of(const pricing::WorkflowPrice& price) {
    std::vector<std::string_view> out = {""};
    if (!price.qualities.empty()) {
        out.push_back(price.qualities.front().name);
        out.push_back(price.qualities.back().name);
    }
    return out;
}

// Every request here is valid for the book, so the quote must succeed.
void check_quote(const PriceBook& book, const pricing::QuoteRequest& request) {
    const auto quote = pricing::quote(book, request);
    TOLLGATE_ASSERT(quote.ok());
    TOLLGATE_ASSERT(quote->tokens.value >= quote->minimum_tokens());
    TOLLGATE_ASSERT(quote->tokens.value <= core::limits::kQuoteTokensMax);
    for (const pricing::QuoteItem& item : quote->items()) {
        TOLLGATE_ASSERT(!pricing::describe(*quote, item).empty());
    }
}

void check_quotes(const PriceBook& book) {
    std::vector<std::string_view> tenants = {""};
    for (const auto& [name, terms] : book.tenants) {
        if (tenants.size() > kTenantsQuoted) break;
        tenants.push_back(name);
    }
    std::size_t workflows = 0;
    for (const auto& [name, price] : book.workflows) {
        if (workflows++ == kWorkflowsQuoted) break;
        const std::vector<std::string_view> qualities = qualities_of(price);
        for (std::string_view tenant : tenants) {
            for (const Size& size : kSizes) {
                for (std::int64_t factor : factors_of(price)) {
                    for (std::string_view quality : qualities) {
                        for (std::int64_t at_ms : kInstantsMs) {
                            check_quote(book, {name, size.width, size.height, factor, quality,
                                               tenant, at_ms, std::nullopt});
                        }
                    }
                }
            }
        }
    }
}

void check_plans(const PriceBook& book) {
    const auto covering = pricing::plans_covering(book, core::Tokens(10), core::Tokens(0));
    TOLLGATE_ASSERT(covering.size() <= book.plans.size());
    for (const auto& [name, plan] : book.plans) {
        const std::int64_t at_ms = kInstantsMs[0];
        const auto span = pricing::plan_period(plan, book.time_zone, at_ms - 86'400'000, at_ms);
        TOLLGATE_ASSERT(span.start_ms <= at_ms && at_ms < span.end_ms);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kInputBytesMax) return 0;
    const auto book = pricing::parse_price_book(fuzz::as_text(data, size), kSource);
    if (!book.ok()) {
        TOLLGATE_ASSERT(book.error().code == "invalid_price_book");
        TOLLGATE_ASSERT(book.error().message.starts_with(kSource));
        return 0;
    }
    check_book(*book);
    check_quotes(*book);
    check_plans(*book);
    return 0;
}
