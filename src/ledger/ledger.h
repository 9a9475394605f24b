// The ledger: accounts, API keys, grants, holds and their settlement.
//
// Key invariant (checked on every write, tested under concurrency): for each
// account, available = granted - captured - held, and available never goes
// below zero. reserve() checks and holds in one atomic step; a hold ends in
// exactly one capture or void. Every movement is also an immutable entry.
//
// Vocabulary (docs/architecture.md): *reserve* makes a *hold*, which ends in
// exactly one *capture* or *void*. A *grant* funds an account; an *entry*
// records a movement.
//
// Threads: implementations are safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/tokens.h"

namespace tollgate::ledger {

struct Balance {
    core::Tokens granted;
    core::Tokens held;
    core::Tokens captured;
    core::Tokens available() const { return granted - held - captured; }
};

enum class ReserveOutcome {
    Held,                           // a new hold was placed
    AlreadyHeld,                    // same key, same account and amount: nothing new
    KeyReusedWithDifferentRequest,  // same key, different account or amount
    InsufficientBalance,            // nothing held
    UnknownAccount,
};

struct ReserveResult {
    ReserveOutcome outcome;
    core::Tokens available;  // after the operation
};

enum class SettleOutcome {
    Settled,         // this call captured (or voided) the hold
    AlreadySettled,  // the same settlement happened before: idempotent no-op
    Conflict,        // the hold already ended the other way
    UnknownHold,
};

enum class HoldState { Open, Captured, Voided };

struct Hold {
    std::string key;
    std::string account_id;
    core::Tokens tokens;
    HoldState state;
    std::int64_t created_ms;
};

struct Entry {
    std::int64_t id;
    std::string account_id;
    std::string kind;  // grant | hold | capture | void
    core::Tokens tokens;
    std::string hold_key;
    std::string reason;
    std::int64_t created_ms;
};

// One account whose cached balance disagrees with its records.
struct Mismatch {
    std::string account_id;
    std::string what;  // which figures disagree, with both values
};

class Ledger {
  public:
    virtual ~Ledger() = default;

    virtual core::Result<std::string> create_account(const std::string& name) = 0;
    virtual core::Result<bool> account_exists(const std::string& account_id) = 0;

    // Mints a new API key for the account. The secret is returned once and
    // stored only as its SHA-256.
    virtual core::Result<std::string> create_api_key(const std::string& account_id) = 0;
    // The account owning `secret`, or nullopt for an unknown or revoked key.
    virtual core::Result<std::optional<std::string>> find_account_by_key(
        const std::string& secret) = 0;

    // Adds `tokens` (> 0) to the account. Returns the entry id.
    virtual core::Result<std::int64_t> grant(const std::string& account_id, core::Tokens tokens,
                                             const std::string& reason) = 0;

    // Atomically checks available >= tokens and holds them under `key`.
    virtual core::Result<ReserveResult> reserve(const std::string& account_id, core::Tokens tokens,
                                                const std::string& key) = 0;
    // Ends an open hold by charging it.
    virtual core::Result<SettleOutcome> capture(const std::string& key) = 0;
    // Ends an open hold by releasing it.
    virtual core::Result<SettleOutcome> void_hold(const std::string& key,
                                                  const std::string& reason) = 0;

    virtual core::Result<Balance> balance(const std::string& account_id) = 0;
    virtual core::Result<std::optional<Hold>> find_hold(const std::string& key) = 0;
    virtual core::Result<std::vector<Entry>> entries(const std::string& account_id) = 0;

    // Recomputes every account from its entries and its holds, and compares
    // with the cached balances. Empty when money is conserved everywhere.
    // `accounts_checked` receives the number of accounts examined.
    virtual core::Result<std::vector<Mismatch>> verify(std::int64_t* accounts_checked) = 0;
};

}  // namespace tollgate::ledger
