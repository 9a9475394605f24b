#include "app/ledger_command.h"

#include <cstdio>
#include <filesystem>

#include "core/clock.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/sqlite.h"

namespace tollgate::app {

int run_ledger_verify(const std::string& data_dir) {
    std::string path = (std::filesystem::path(data_dir) / "tollgate.db").string();
    if (!std::filesystem::exists(path)) {
        std::fprintf(stderr, "tollgate: no ledger at %s\n", path.c_str());
        return 2;
    }
    auto db = store::Database::open(path);
    if (!db.ok()) {
        std::fprintf(stderr, "tollgate: %s\n", db.error().message.c_str());
        return 2;
    }
    auto ledger = ledger::SqliteLedger::open(**db, core::SystemClock::instance());
    if (!ledger.ok()) {
        std::fprintf(stderr, "tollgate: %s\n", ledger.error().message.c_str());
        return 2;
    }
    std::int64_t checked = 0;
    auto mismatches = (*ledger)->verify(&checked);
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
