// The embedded ledger backend: SQLite tables in the shared database file.
//
// Tables (schema version 3, docs in sqlite_schema.cc): accounts (with an
// optional tenant), api_keys (SHA-256 of the secret, a public id, scopes,
// an optional expiry and the revocation time), balances (cached sums
// per account, guarded by CHECK constraints including the credit limit),
// grants (each with its own books: tokens = remaining + held + used +
// expired + debited, a CHECK), holds (one row per key, state
// open|captured|voided, with an optional TTL and the captured and refunded
// amounts), hold_allocations (how each hold splits across grants and credit,
// and how much of each slice was captured), entries (append-only, each with
// the balance after it), debits (how each negative adjustment split across
// grants), adjustment_keys and subscriptions. Each operation is one
// transaction, and joins the caller's transaction when one is open (see
// store/sqlite.h), so a capture can commit together with the job's final
// state.
//
// The code is split by concept: sqlite_ledger.cc (accounts, balance),
// sqlite_api_keys.cc, sqlite_schema.cc (tables, version and the columns
// added in place), sqlite_entries.cc (writing and
// reading entries), sqlite_grants.cc (grants and expiry), sqlite_holds.cc
// (reserve and hold reads), sqlite_settle.cc (capture and void),
// sqlite_adjust.cc (adjustments and refunds), sqlite_subscriptions.cc,
// sqlite_verify.cc and sqlite_verify_entries.cc.
#pragma once

#include <memory>

#include "core/clock.h"
#include "ledger/ledger.h"
#include "store/sqlite.h"

namespace tollgate::ledger {

// What added a grant: its grants.source and the kind of its one entry.
enum class GrantSource { Grant, Adjustment, Refund };

class SqliteLedger final : public Ledger {
  public:
    // The schema version this code reads and writes (PRAGMA user_version).
    static constexpr std::int64_t kSchemaVersion = 4;

    // Creates the tables when missing, and adds the api_keys columns a file
    // made by an earlier build lacks. Fails with "schema_too_old" when the
    // file holds ledger tables of an earlier version (they are not migrated;
    // see sqlite_schema.cc), "schema_too_new" for a later one.
    static core::Result<std::unique_ptr<SqliteLedger>> open(store::Database& db,
                                                            const core::Clock& clock);

    core::Result<std::string> create_account(const std::string& name) override;
    core::Result<bool> account_exists(const std::string& account_id) override;
    core::Result<std::optional<AccountInfo>> account(const std::string& account_id) override;
    core::Result<AccountIdPage> account_ids(const std::string& cursor, std::size_t limit) override;
    core::Result<bool> set_tenant(const std::string& account_id,
                                  const std::string& tenant) override;
    using Ledger::create_api_key;
    core::Result<NewApiKey> create_api_key(const ApiKeySpec& spec) override;
    core::Result<std::optional<ApiKeyInfo>> find_api_key(const std::string& secret) override;
    core::Result<std::optional<std::string>> find_account_by_key(
        const std::string& secret) override;
    core::Result<std::vector<ApiKeyInfo>> api_keys(const std::string& account_id) override;
    core::Result<RevokeResult> revoke_api_key(const std::string& account_id,
                                              const std::string& key_id) override;

    core::Result<GrantResult> add_grant(const GrantSpec& spec) override;
    core::Result<std::int64_t> grant(const std::string& account_id, core::Tokens tokens,
                                     const std::string& reason) override;
    core::Result<std::vector<GrantInfo>> grants(const std::string& account_id) override;
    core::Result<std::int64_t> expire_due() override;

    core::Result<ReserveResult> reserve(const std::string& account_id, core::Tokens tokens,
                                        const std::string& key,
                                        const ReserveTerms& terms = {}) override;
    using Ledger::capture;
    core::Result<SettleOutcome> capture(const std::string& key,
                                        std::optional<core::Tokens> tokens) override;
    core::Result<SettleOutcome> void_hold(const std::string& key,
                                          const std::string& reason) override;
    core::Result<std::vector<Hold>> expired_open_holds(std::int64_t now_ms,
                                                       std::size_t limit) override;
    core::Result<std::optional<OpenHolds>> open_holds() override;

    core::Result<std::int64_t> adjust(const std::string& account_id, std::int64_t tokens,
                                      const std::string& reason, const std::string& key) override;
    core::Result<std::int64_t> refund(const std::string& hold_key, core::Tokens tokens,
                                      const std::string& reason) override;

    core::Result<Balance> balance(const std::string& account_id) override;
    core::Result<std::optional<Hold>> find_hold(const std::string& key) override;
    core::Result<std::vector<Entry>> entries(const std::string& account_id) override;
    core::Result<EntryPage> entries_page(const std::string& account_id, std::int64_t from_ms,
                                         std::int64_t to_ms, std::int64_t after_id,
                                         std::size_t limit) override;

    core::Result<Subscription> subscribe(const std::string& account_id,
                                         const std::string& plan) override;
    core::Result<bool> unsubscribe(const std::string& account_id, const std::string& plan) override;
    core::Result<std::vector<Subscription>> subscriptions(const std::string& account_id) override;
    core::Result<std::vector<Subscription>> active_subscriptions(
        const std::string& after_account_id = "", const std::string& after_plan = "") override;

    core::Result<std::vector<Mismatch>> verify(std::int64_t* accounts_checked) override;

  private:
    // The cached balance row with the credit limit it is guarded by.
    struct StoredBalance {
        Balance balance;
        std::int64_t credit_limit = 0;
    };
    // One grant added in a transaction: its id and its entry's id.
    struct AddedGrant {
        GrantResult result;
        std::int64_t entry_id = 0;
    };
    // One slice of a hold: from a grant, or from credit (nullopt). `slice`
    // (its place in draw order, from 0) and `captured` are known only for
    // slices read back from the table.
    struct Allocation {
        std::optional<std::int64_t> grant_id;
        core::Tokens tokens;
        std::int64_t slice = 0;
        core::Tokens captured;
    };

    SqliteLedger(store::Database& db, const core::Clock& clock) : db_(db), clock_(clock) {}

    // Statements shared by the files of this backend; all run inside a
    // transaction opened by the caller.
    //
    // Appends an entry and stamps it with the account's available balance as
    // the balances row has it now, so every caller writes the entry right
    // after the movement it records and before the next one.
    std::int64_t add_entry(const std::string& account_id, const char* kind, core::Tokens tokens,
                           const std::string& hold_key, const std::string& reason,
                           std::optional<std::int64_t> grant_id, std::int64_t now_ms);
    std::optional<StoredBalance> read_balance(const std::string& account_id);
    // Asserts the grant's books balance (the row CHECK guarantees it too).
    void check_grant_row(std::int64_t grant_id);

    // Adds a grant and its one entry (kind = source); `hold_key` names the
    // hold a refund is for.
    core::Result<AddedGrant> insert_grant(const GrantSpec& spec, std::int64_t now_ms,
                                          GrantSource source = GrantSource::Grant,
                                          const std::string& hold_key = "");
    // Expires or rolls over every due grant of one account; returns the count.
    std::int64_t expire_account(const std::string& account_id, std::int64_t now_ms);
    // Expires (or rolls over) one grant's remaining tokens if it is due at
    // now_ms. `hold_key` names the capture or void that returned them, if any.
    bool expire_grant(std::int64_t grant_id, std::int64_t now_ms, const std::string& hold_key);

    // How a hold of `tokens` would draw on the account's grants active at
    // now_ms, in draw order; the rest would have to come from credit.
    struct Draw {
        std::vector<Allocation> allocations;  // from grants only
        core::Tokens from_grants;             // their sum, <= the tokens asked for
        core::Tokens unspent;                 // remaining of all the account's grants
    };
    Draw plan_draw(const std::string& account_id, core::Tokens tokens, std::int64_t now_ms);

    // Writes an admitted hold: its row, its slices, the grants and balance it
    // draws on (balances.credit_limit becomes `credit_limit`).
    void write_hold(const std::string& account_id, const std::string& key, core::Tokens tokens,
                    const std::vector<Allocation>& allocations, std::int64_t credit_limit,
                    std::int64_t ttl_ms, std::int64_t now_ms);

    static HoldState parse_hold_state(const std::string& s);
    // The hold's slices in draw order. Asserts they add up to `tokens` and
    // that their captured parts add up to `captured`, taken in draw order.
    std::vector<Allocation> read_allocations(const std::string& hold_key, core::Tokens tokens,
                                             core::Tokens captured);
    // Reads one hold row; nullopt when there is none. Asserts its invariants.
    std::optional<Hold> read_hold(const std::string& key);
    // Ends an open hold: charges `charge` of it (0 for a void) in draw order
    // and returns the rest to its grants and credit.
    void end_hold(const Hold& hold, core::Tokens charge, const std::string& reason,
                  std::int64_t now_ms);
    // Debits `tokens` (> 0) from the account's active grants in draw order;
    // returns the adjustment entry's id, or nullopt when they do not cover it.
    std::optional<std::int64_t> debit(const std::string& account_id, core::Tokens tokens,
                                      const std::string& reason, std::int64_t now_ms);

    store::Database& db_;
    const core::Clock& clock_;
};

}  // namespace tollgate::ledger
