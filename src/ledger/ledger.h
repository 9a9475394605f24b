// The ledger: accounts, API keys, grants, holds and their settlement.
//
// Key invariant (checked on every write, tested under concurrency): for each
// account, granted = available + held + captured + expired, and available
// never goes below -credit_limit (0 for prepaid accounts). Each grant keeps its
// own books: tokens = remaining + held (allocated to open holds) + used
// (captured) + expired. reserve() checks and holds in one atomic step,
// drawing the hold from the account's active grants in draw order (priority
// first, then the earliest expiry, never-expiring grants last, then the oldest)
// and, under credit terms, from credit for the rest. A hold ends in exactly
// one capture or void. Every movement is also an immutable entry.
//
// Vocabulary (docs/architecture.md): *reserve* makes a *hold*, which ends in
// exactly one *capture* or *void*. A *grant* funds an account until its
// *expiry*; at expiry an allowance of its unused tokens may *roll over* once.
// An *entry* records a movement.
//
// Time comes from the injected core::Clock. Due grants are expired lazily, in
// the same transaction, before any reserve(), balance() or grants() call for
// their account, and by expire_due() for a periodic sweeper.
//
// Threads: implementations are safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/tokens.h"

namespace tollgate::ledger {

// The credit limit stored for an unlimited account. No real account gets near
// it (it is 10^6 holds of the largest quote), so it never refuses a hold.
inline constexpr std::int64_t kUnlimitedCreditTokens = 1'000'000'000'000'000;  // 1e15
// expire_due() processes at most this many grants per call; a sweeper calls
// again while it returns this many.
inline constexpr std::int64_t kExpireBatchGrantsMax = 1'000;
// grants() returns at most this many grants, the first ones in draw order.
inline constexpr std::int64_t kGrantsListMax = 1'000;
// active_subscriptions() returns at most this many per call (one page).
inline constexpr std::int64_t kSubscriptionsPageMax = 10'000;
// Grant idempotency keys, plan names and tenants.
inline constexpr std::size_t kGrantKeyBytesMax = 200;
inline constexpr std::size_t kPlanBytesMax = 200;
inline constexpr std::size_t kTenantBytesMax = 200;

struct Balance {
    core::Tokens granted;
    core::Tokens held;
    core::Tokens captured;
    core::Tokens expired;
    // Negative when an account on credit owes more than its grants cover.
    core::Tokens available() const { return granted - expired - held - captured; }
};

// The credit terms under which one reserve() is admitted, from the account's
// plan. Prepaid is the default: no credit at all.
struct ReserveTerms {
    std::int64_t credit_limit_tokens = 0;  // postpaid: available may reach -limit
    bool unlimited = false;                // never refused for balance
    // Recorded as the hold entry's reason, e.g. the price book version the
    // held quote came from; at most kReasonBytesMax bytes (longer is cut).
    std::string memo;
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
    core::Tokens available;  // after the operation; negative under credit
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
    std::string kind;  // grant | hold | capture | void | expiry | rollover
    core::Tokens tokens;
    std::string hold_key;
    std::string reason;
    std::int64_t created_ms;
    // The grant a grant, expiry or rollover entry is about; nullopt for the
    // entries of a hold (its split across grants is in the allocations).
    std::optional<std::int64_t> grant_id;
};

// What add_grant() is asked to add. A grant starts when it is added.
struct GrantSpec {
    std::string account_id;
    core::Tokens tokens;  // 1 .. core::limits::kGrantTokensMax
    std::string reason;
    std::optional<std::int64_t> expires_ms;  // nullopt: never; else must be in the future
    std::int64_t priority = 0;               // higher is drawn first
    std::string key;                         // idempotency key per account; "" = none
    // At expiry, up to rollover_max of the unused tokens stay usable until
    // rollover_expires_ms (once). Zero / nullopt: nothing rolls over.
    core::Tokens rollover_max;
    std::optional<std::int64_t> rollover_expires_ms;
};

struct GrantResult {
    std::int64_t grant_id;
    bool created;  // false: the key was seen before and nothing changed
};

struct GrantInfo {
    std::int64_t id;
    std::string key, reason;
    core::Tokens tokens, remaining, used, expired;
    std::int64_t starts_ms;
    std::optional<std::int64_t> expires_ms;
    std::int64_t priority;
    core::Tokens held;  // allocated to open holds: tokens - remaining - used - expired
};

struct AccountInfo {
    std::string id, name, tenant;  // tenant "" = none
    std::int64_t created_ms;
};

// A stored subscription of an account to a plan. Renewal (periods, grants)
// happens outside the ledger, through add_grant() with a per-period key.
struct Subscription {
    std::string account_id, plan;
    std::int64_t subscribed_ms;
    std::optional<std::int64_t> cancelled_ms;  // nullopt: active
};

// One account (or grant, or hold) whose records disagree.
struct Mismatch {
    std::string account_id;
    std::string what;  // which figures disagree, with both values
};

class Ledger {
  public:
    virtual ~Ledger() = default;

    virtual core::Result<std::string> create_account(const std::string& name) = 0;
    virtual core::Result<bool> account_exists(const std::string& account_id) = 0;
    // nullopt for an unknown account.
    virtual core::Result<std::optional<AccountInfo>> account(const std::string& account_id) = 0;
    // Sets (or, with "", clears) the account's tenant. False for an unknown
    // account; error "invalid_tenant" when longer than kTenantBytesMax.
    virtual core::Result<bool> set_tenant(const std::string& account_id,
                                          const std::string& tenant) = 0;

    // Mints a new API key for the account. The secret is returned once and
    // stored only as its SHA-256.
    virtual core::Result<std::string> create_api_key(const std::string& account_id) = 0;
    // The account owning `secret`, or nullopt for an unknown or revoked key.
    virtual core::Result<std::optional<std::string>> find_account_by_key(
        const std::string& secret) = 0;

    // Adds a grant. With a non-empty key it is idempotent per account: the
    // same key again returns the first grant with created=false and changes
    // nothing, or error "grant_key_conflict" when the amount differs. Errors:
    // "unknown_account", "invalid_tokens", "invalid_reason", "invalid_grant"
    // (expiry not in the future, rollover without an expiry after it, key too
    // long).
    virtual core::Result<GrantResult> add_grant(const GrantSpec& spec) = 0;
    // Adds a never-expiring grant of `tokens` (> 0) at priority 0 without a
    // key. Returns the id of its grant entry.
    virtual core::Result<std::int64_t> grant(const std::string& account_id, core::Tokens tokens,
                                             const std::string& reason) = 0;
    // The account's grants in draw order (at most kGrantsListMax), spent and
    // expired ones included. Error "unknown_account".
    virtual core::Result<std::vector<GrantInfo>> grants(const std::string& account_id) = 0;
    // Expires (or rolls over) every due grant of every account, at most
    // kExpireBatchGrantsMax of them. Returns how many grants it processed.
    virtual core::Result<std::int64_t> expire_due() = 0;

    // Atomically checks that the account can afford `tokens` under `terms` and
    // holds them under `key`, drawing from grants in draw order, then credit.
    virtual core::Result<ReserveResult> reserve(const std::string& account_id, core::Tokens tokens,
                                                const std::string& key,
                                                const ReserveTerms& terms = {}) = 0;
    // Ends an open hold by charging it to the grants (and credit) it drew on.
    virtual core::Result<SettleOutcome> capture(const std::string& key) = 0;
    // Ends an open hold by returning its tokens to its grants; tokens returned
    // to a grant that has expired in the meantime expire at once.
    virtual core::Result<SettleOutcome> void_hold(const std::string& key,
                                                  const std::string& reason) = 0;

    virtual core::Result<Balance> balance(const std::string& account_id) = 0;
    virtual core::Result<std::optional<Hold>> find_hold(const std::string& key) = 0;
    virtual core::Result<std::vector<Entry>> entries(const std::string& account_id) = 0;

    // Subscribes the account to `plan`. Idempotent: an active subscription is
    // returned unchanged; a cancelled one is re-activated with a new
    // subscribed_ms. Errors: "unknown_account", "invalid_plan".
    virtual core::Result<Subscription> subscribe(const std::string& account_id,
                                                 const std::string& plan) = 0;
    // Cancels an active subscription. False when there is none.
    virtual core::Result<bool> unsubscribe(const std::string& account_id,
                                           const std::string& plan) = 0;
    // All of the account's subscriptions, cancelled ones included, by plan.
    virtual core::Result<std::vector<Subscription>> subscriptions(
        const std::string& account_id) = 0;
    // Active subscriptions of all accounts, ordered by (account_id, plan),
    // strictly after (after_account_id, after_plan), at most
    // kSubscriptionsPageMax. A renewal sweep pages on with the last row seen.
    virtual core::Result<std::vector<Subscription>> active_subscriptions(
        const std::string& after_account_id = "", const std::string& after_plan = "") = 0;

    // Recomputes every account and grant from its entries, holds and
    // allocations, and compares with the cached figures. Empty when money is
    // conserved everywhere. `accounts_checked` receives the number of
    // accounts examined.
    virtual core::Result<std::vector<Mismatch>> verify(std::int64_t* accounts_checked) = 0;
};

}  // namespace tollgate::ledger
