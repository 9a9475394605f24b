#include "app/ledger_command.h"

#include <cstdio>

namespace tollgate::app {

int run_ledger_verify(const StoreLocation& store) {
    auto opened = open_command_ledger(store, "ledger");
    if (!opened.ok()) {
        std::fprintf(stderr, "tollgate: %s\n", opened.error().message.c_str());
        return 2;
    }
    std::int64_t checked = 0;
    auto mismatches = opened->ledger->verify(&checked);
    if (!mismatches.ok()) {
        std::fprintf(stderr, "tollgate: %s\n", mismatches.error().message.c_str());
        return 2;
    }
    for (const ledger::Mismatch& m : *mismatches) {
        std::printf("MISMATCH %s: %s\n", m.account_id.c_str(), m.what.c_str());
    }
    if (!mismatches->empty()) {
        std::printf("ledger verify: %zu mismatches in %lld accounts\n", mismatches->size(),
                    static_cast<long long>(checked));
        return 1;
    }
    std::printf("ledger verify: ok, %lld accounts balance\n", static_cast<long long>(checked));
    return 0;
}

}  // namespace tollgate::app
