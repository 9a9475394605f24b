// The embedded ledger under bench_ledger: the real SqliteLedger on one file.
//
// The database is opened as the gateway opens it (WAL, synchronous=FULL,
// group commit on), and every client thread calls the one shared
// SqliteLedger, which is safe from any thread: concurrent reserves and
// captures queue behind the store's committer and share its fsyncs.
//
// Without a preload the file must not exist yet: the run creates the
// accounts through the ledger's API and measures an empty ledger. With one,
// the file is filled first (sqlite_preload.h) unless it already holds that
// preload, and the workload draws from the preloaded accounts: all of them,
// or with --accounts that many spread evenly over them.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "bench/ledger/sqlite_preload.h"
#include "bench/ledger/workload.h"
#include "core/clock.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "store/sqlite.h"

namespace tollgate::bench {
namespace {

class SqliteClient final : public LedgerClient {
  public:
    explicit SqliteClient(ledger::SqliteLedger& ledger) : ledger_(ledger) {}

    core::Status reserve_capture(const std::string& account_id, const std::string& key) override {
        auto held = ledger_.reserve(account_id, core::Tokens(1), key);
        if (!held.ok()) return held.error();
        if (held->outcome != ledger::ReserveOutcome::Held)
            return core::make_error("not_held", "reserve did not place a hold on " + account_id);
        auto captured = ledger_.capture(key);
        if (!captured.ok()) return captured.error();
        if (*captured != ledger::SettleOutcome::Settled)
            return core::make_error("not_settled", "capture did not settle " + key);
        return {};
    }

  private:
    ledger::SqliteLedger& ledger_;
};

class SqliteBackend final : public Backend {
  public:
    SqliteBackend(std::unique_ptr<store::Database> db, std::unique_ptr<ledger::SqliteLedger> l,
                  std::vector<std::string> accounts)
        : db_(std::move(db)), ledger_(std::move(l)), accounts_(std::move(accounts)) {}

    const std::vector<std::string>& accounts() const override { return accounts_; }

    core::Result<std::unique_ptr<LedgerClient>> connect() override {
        return std::unique_ptr<LedgerClient>(std::make_unique<SqliteClient>(*ledger_));
    }

    // Counted from open, so the figures include the setup's few commits.
    std::string stats() const override {
        store::Database::Stats s = db_->stats();
        std::uint64_t per_commit = s.batches == 0 ? 0 : s.operations / s.batches;
        return " commits=" + std::to_string(s.batches) +
               " transactions_per_commit=" + std::to_string(per_commit);
    }

  private:
    std::unique_ptr<store::Database> db_;
    std::unique_ptr<ledger::SqliteLedger> ledger_;
    std::vector<std::string> accounts_;
};

// Creates and funds `count` accounts through the ledger, in one transaction.
core::Result<std::vector<std::string>> create_accounts(store::Database& db,
                                                       ledger::SqliteLedger& ledger,
                                                       std::int64_t count) {
    std::vector<std::string> ids;
    core::Status s = store::transact(
        db,
        [&]() -> core::Status {
            for (std::int64_t i = 0; i < count; ++i) {
                auto id = ledger.create_account("bench " + std::to_string(i));
                if (!id.ok()) return id.error();
                auto granted = ledger.grant(*id, core::Tokens(kAccountTokens), "bench");
                if (!granted.ok()) return granted.error();
                ids.push_back(*id);
            }
            return {};
        },
        store::Commit::Alone);
    if (!s.ok()) return s.error();
    return ids;
}

// Fills the file unless it already holds this preload; returns the accounts
// the workload uses.
core::Result<std::vector<std::string>> use_preload(const Options& o, store::Database& db) {
    auto present = preload_present(db, o.preload_accounts);
    if (!present.ok()) return present.error();
    const core::Clock& clock = core::SystemClock::instance();
    if (*present) {
        std::cerr << "preload: found " << o.preload_accounts << " preloaded accounts, reusing\n";
    } else {
        std::int64_t started_us = clock.steady_us();
        auto loaded = preload(db, o.preload_accounts, o.preload_entries, clock.now_ms());
        if (!loaded.ok()) return loaded.error();
        std::int64_t took_ms = (clock.steady_us() - started_us) / 1000;
        std::cerr << "preload: " << loaded->accounts << " accounts, " << loaded->entries
                  << " entries, " << loaded->holds << " captured holds in " << took_ms << " ms\n";
        std::cout << "PRELOAD accounts=" << loaded->accounts << " entries=" << loaded->entries
                  << " holds=" << loaded->holds << " ms=" << took_ms << "\n";
    }
    std::int64_t used =
        o.accounts_given ? std::min(o.accounts, o.preload_accounts) : o.preload_accounts;
    std::vector<std::string> ids;
    ids.reserve(static_cast<std::size_t>(used));
    for (std::int64_t i = 0; i < used; ++i)
        ids.push_back(preloaded_account_id(i * o.preload_accounts / used));
    return ids;
}

core::Status verify(ledger::SqliteLedger& ledger) {
    std::int64_t checked = 0;
    auto mismatches = ledger.verify(&checked);
    if (!mismatches.ok()) return mismatches.error();
    for (const ledger::Mismatch& m : *mismatches)
        std::cerr << "verify: " << m.account_id << ": " << m.what << "\n";
    if (!mismatches->empty())
        return core::make_error("verify_failed",
                                std::to_string(mismatches->size()) + " mismatches in the ledger");
    std::cerr << "verify: " << checked << " accounts, no mismatch\n";
    return {};
}

}  // namespace

core::Result<std::unique_ptr<Backend>> open_sqlite(const Options& o) {
    if (o.data_dir.empty())
        return core::make_error("invalid_options", "--backend sqlite needs --data-dir");
    const std::string path = o.data_dir + "/ledger.db";
    const bool preloading = o.preload_accounts > 0;
    if (!preloading && std::filesystem::exists(path)) {
        return core::make_error("invalid_options",
                                path + " exists; an empty-ledger run needs a fresh --data-dir");
    }
    auto db = store::Database::open(path);
    if (!db.ok()) return db.error();
    auto ledger = ledger::SqliteLedger::open(**db, core::SystemClock::instance());
    if (!ledger.ok()) return ledger.error();
    auto accounts = preloading ? use_preload(o, **db) : create_accounts(**db, **ledger, o.accounts);
    if (!accounts.ok()) return accounts.error();
    if (o.verify) {
        core::Status verified = verify(**ledger);
        if (!verified.ok()) return verified.error();
    }
    return std::unique_ptr<Backend>(
        std::make_unique<SqliteBackend>(std::move(*db), std::move(*ledger), std::move(*accounts)));
}

}  // namespace tollgate::bench
