#include "core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace tollgate::core {

void assert_fail(const char* expr, const char* file, int line, const char* func) {
    std::fprintf(stderr, "tollgate: assertion failed: %s (%s:%d in %s)\n", expr, file, line, func);
    std::fflush(stderr);
    std::abort();
}

}  // namespace tollgate::core
