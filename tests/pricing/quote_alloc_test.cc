// quote() must not touch the heap on success. This file replaces the global
// operator new/delete for the whole pricing_tests binary with versions that
// count calls on the calling thread, then quotes a spread of requests
// (windows, tenants, qualities, upscales, tiles) and expects zero.
//
// Under AddressSanitizer the replacement is left out, so that ASan keeps its
// own allocator and its checks; the test then skips, saying why.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#include "pricing/pricing_test_util.h"
#include "pricing/quote.h"

#if defined(__SANITIZE_ADDRESS__)
#define TOLLGATE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TOLLGATE_TEST_ASAN 1
#endif
#endif

#if !defined(TOLLGATE_TEST_ASAN)

namespace {
thread_local std::int64_t allocations_on_this_thread = 0;
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t size) {
    ++allocations_on_this_thread;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) {
    ++allocations_on_this_thread;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    ++allocations_on_this_thread;
    return std::malloc(size == 0 ? 1 : size);
}
[[gnu::noinline]] void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    ++allocations_on_this_thread;
    return std::malloc(size == 0 ? 1 : size);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

#endif

namespace tollgate::pricing {
namespace {

TEST(QuoteAllocationTest, SuccessfulQuotesDoNotAllocate) {
#if defined(TOLLGATE_TEST_ASAN)
    GTEST_SKIP() << "AddressSanitizer build: the counting operator new is compiled out so ASan "
                    "keeps its allocator; the plain build runs this check";
#else
    const PriceBook& book = example_book();
    struct Case {
        const char* workflow;
        std::int64_t w, h, factor_milli;
        const char* quality;
        const char* tenant;
        const char* local;
    };
    const Case cases[] = {
        {"person", 800, 600, 1000, "", "", "2026-11-30 10:00"},
        {"person", 800, 600, 2000, "high", "acme", "2026-11-30 20:00"},
        {"building", 1920, 1080, 1000, "", "acme", "2026-11-30 03:00"},
        {"building", 6000, 4000, 2000, "high", "", "2026-03-29 02:30"},
        {"super_resolution", 3000, 3000, 4000, "", "", "2026-10-25 02:30"},
        {"ocr", 2480, 3508, 1000, "", "nobody", "2026-11-30 23:30"},
    };
    // Work out every instant first: local_ms allocates.
    std::int64_t instants[std::size(cases)];
    for (std::size_t i = 0; i < std::size(cases); ++i) {
        instants[i] = local_ms(book.time_zone, cases[i].local);
    }
    std::int64_t total = 0;
    const std::int64_t before = allocations_on_this_thread;
    for (int round = 0; round < 100; ++round) {
        for (std::size_t i = 0; i < std::size(cases); ++i) {
            QuoteRequest r;
            r.workflow = cases[i].workflow;
            r.width = cases[i].w;
            r.height = cases[i].h;
            r.upscale_factor_milli = cases[i].factor_milli;
            r.quality = cases[i].quality;
            r.tenant = cases[i].tenant;
            r.at_unix_ms = instants[i];
            auto q = quote(book, r);
            if (q.ok()) total += q->tokens.value;
        }
    }
    const std::int64_t allocations = allocations_on_this_thread - before;
    EXPECT_EQ(allocations, 0);
    EXPECT_GT(total, 0);

    // The counter does count: an error path allocates its message.
    QuoteRequest bad;
    bad.workflow = "nope";
    const std::int64_t before_error = allocations_on_this_thread;
    auto q = quote(book, bad);
    EXPECT_FALSE(q.ok());
    EXPECT_GT(allocations_on_this_thread, before_error);
#endif
}

}  // namespace
}  // namespace tollgate::pricing
