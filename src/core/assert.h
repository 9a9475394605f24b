// Programmer-error checks that stay on in release builds.
//
// TOLLGATE_ASSERT guards invariants of our own code (never input, network or
// disk). For money, stopping beats continuing in a state known to be wrong, so
// a failed assertion logs the expression and its place, then aborts.
#pragma once

namespace tollgate::core {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* func);
}  // namespace tollgate::core

#define TOLLGATE_ASSERT(expr)                                                   \
    do {                                                                        \
        if (!(expr)) [[unlikely]]                                               \
            ::tollgate::core::assert_fail(#expr, __FILE__, __LINE__, __func__); \
    } while (0)
