// The embedded ledger backend: SQLite tables in the shared database file.
//
// Tables: accounts, api_keys (SHA-256 of the secret), holds (one row per key,
// state open|captured|voided), entries (append-only), balances (cached sums
// per account with CHECK constraints). Each operation is one transaction, and
// joins the caller's transaction when one is open (see store/sqlite.h), so a
// capture can commit together with the job's final state.
#pragma once

#include "core/clock.h"
#include "ledger/ledger.h"
#include "store/sqlite.h"

namespace tollgate::ledger {

class SqliteLedger final : public Ledger {
  public:
    // Creates the tables when missing.
    static core::Result<std::unique_ptr<SqliteLedger>> open(store::Database& db,
                                                            const core::Clock& clock);

    core::Result<std::string> create_account(const std::string& name) override;
    core::Result<bool> account_exists(const std::string& account_id) override;
    core::Result<std::string> create_api_key(const std::string& account_id) override;
    core::Result<std::optional<std::string>> find_account_by_key(
        const std::string& secret) override;
    core::Result<std::int64_t> grant(const std::string& account_id, core::Tokens tokens,
                                     const std::string& reason) override;
    core::Result<ReserveResult> reserve(const std::string& account_id, core::Tokens tokens,
                                        const std::string& key) override;
    core::Result<SettleOutcome> capture(const std::string& key) override;
    core::Result<SettleOutcome> void_hold(const std::string& key,
                                          const std::string& reason) override;
    core::Result<Balance> balance(const std::string& account_id) override;
    core::Result<std::optional<Hold>> find_hold(const std::string& key) override;
    core::Result<std::vector<Entry>> entries(const std::string& account_id) override;
    core::Result<std::vector<Mismatch>> verify(std::int64_t* accounts_checked) override;

  private:
    SqliteLedger(store::Database& db, const core::Clock& clock) : db_(db), clock_(clock) {}
    core::Result<SettleOutcome> settle(const std::string& key, HoldState to,
                                       const std::string& reason);
    void add_entry(const std::string& account_id, const char* kind, core::Tokens tokens,
                   const std::string& hold_key, const std::string& reason);
    Balance read_balance(const std::string& account_id, bool* found);

    store::Database& db_;
    const core::Clock& clock_;
};

}  // namespace tollgate::ledger
