// The ledger: accounts, API keys, grants, holds and their settlement.
//
// An API key is known by its public id; its secret is stored only as its
// SHA-256, and it carries scopes, an optional expiry and a revocation time.
//
// Key invariant (checked on every write, tested under concurrency): for each
// account, granted = available + held + captured + expired + debited, and
// available never goes below -credit_limit (0 for prepaid accounts). Each
// grant keeps its own books: tokens = remaining + held (allocated to open
// holds) + used (captured) + expired + debited. reserve() checks and holds in
// one atomic step, drawing the hold from the account's active grants in draw
// order (priority first, then the earliest expiry, never-expiring grants
// last, then the oldest) and, under credit terms, from credit for the rest. A
// hold ends in exactly one capture (of all or part of it) or void. Every
// movement is also an immutable entry that records the available balance
// right after it.
//
// Vocabulary (docs/architecture.md): *reserve* makes a *hold*, which ends in
// exactly one *capture* or *void*. A *grant* funds an account until its
// *expiry*; at expiry an allowance of its unused tokens may *roll over* once.
// An *adjustment* adds tokens (as a grant) or *debits* them from the
// account's grants; a *refund* returns captured tokens (as a grant). An
// *entry* records a movement.
//
// Time comes from the injected core::Clock. Due grants are expired lazily, in
// the same transaction, before any reserve(), adjust(), refund(), balance()
// or grants() call for their account, and by expire_due() for a periodic
// sweeper.
//
// Threads: implementations are safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.h"
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
// entries_page() returns at most this many entries per page.
inline constexpr std::size_t kEntriesPageMax = 1'000;
// account_ids() returns about this many ids per page at most.
inline constexpr std::size_t kAccountIdsPageMax = 1'000;
// expired_open_holds() returns at most this many holds per call.
inline constexpr std::size_t kExpiredHoldsPageMax = 1'000;
// The longest hold TTL a reserve() may ask for (a week). A hold must outlive
// its job, so the TTL a caller picks exceeds the job timeout.
inline constexpr std::int64_t kHoldTtlMsMax = 7ll * 24 * 60 * 60 * 1000;
static_assert(kHoldTtlMsMax > core::limits::kJobTimeoutMsMax);
// Grant and adjustment idempotency keys, plan names and tenants.
inline constexpr std::size_t kGrantKeyBytesMax = 200;
inline constexpr std::size_t kPlanBytesMax = 200;
inline constexpr std::size_t kTenantBytesMax = 200;

// An account's cached sums. Adjustments that add tokens and refunds are
// grants, so they count in `granted`; adjustments that remove tokens count in
// `debited`. Captures stay in `captured` after a refund: a refund is new
// money returned, not an undone capture.
struct Balance {
    core::Tokens granted;
    core::Tokens held;
    core::Tokens captured;
    core::Tokens expired;
    core::Tokens debited;
    // Negative when an account on credit owes more than its grants cover.
    core::Tokens available() const { return granted - expired - held - captured - debited; }
};

// The credit terms under which one reserve() is admitted, from the account's
// plan. Prepaid is the default: no credit at all.
struct ReserveTerms {
    std::int64_t credit_limit_tokens = 0;  // postpaid: available may reach -limit
    bool unlimited = false;                // never refused for balance
    // Recorded as the hold entry's reason, e.g. the price book version the
    // held quote came from; at most kReasonBytesMax bytes (longer is cut).
    std::string memo;
    // The hold expires this long after it is placed: expired_open_holds()
    // lists it from then on. 0 = never; at most kHoldTtlMsMax. The ledger
    // never ends a hold by itself: its owner voids it.
    std::int64_t ttl_ms = 0;
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
    Conflict,        // the hold already ended the other way, or for another amount
    UnknownHold,
};

enum class HoldState { Open, Captured, Voided };

struct Hold {
    std::string key;
    std::string account_id;
    core::Tokens tokens;  // held when placed
    HoldState state;
    std::int64_t created_ms;
    std::optional<std::int64_t> expires_ms;  // nullopt: no TTL
    core::Tokens captured;                   // 1 .. tokens once captured, else 0
    core::Tokens refunded;                   // 0 .. captured
};

struct Entry {
    std::int64_t id;
    std::string account_id;
    // grant | hold | capture | void | expiry | rollover | adjustment | refund
    std::string kind;
    // Positive, except for an adjustment that removed tokens. A capture's
    // tokens are the amount charged; the rest of its hold was released.
    core::Tokens tokens;
    // Set on hold, capture, void and refund entries, and on the expiry and
    // rollover entries that tokens a capture or void released caused.
    std::string hold_key;
    std::string reason;
    std::int64_t created_ms;
    // The grant a grant, expiry, rollover, refund or positive adjustment entry
    // is about; nullopt for the entries of a hold (its split across grants is
    // in the allocations) and for a negative adjustment (likewise).
    std::optional<std::int64_t> grant_id;
    // The account's available balance in tokens right after this entry,
    // stored when the entry was written; negative under credit.
    std::int64_t balance_after = 0;
};

// One page of account ids (see account_ids()).
struct AccountIdPage {
    std::vector<std::string> ids;
    // Pass as the cursor of the next call; empty when this page is the last.
    std::string next_cursor;
};

// One page of an account's entries (see entries_page()).
struct EntryPage {
    std::vector<Entry> entries;
    // Pass as after_id for the next page; nullopt when this page is the last.
    std::optional<std::int64_t> next_after_id;
};

// What add_grant() is asked to add. A grant starts when it is added.
struct GrantSpec {
    std::string account_id;
    core::Tokens tokens;  // 1 .. core::limits::kGrantTokensMax
    std::string reason;
    std::optional<std::int64_t> expires_ms;  // nullopt: never; else must be in the future
    std::int64_t priority = 0;               // higher is drawn first
    std::string key;                         // idempotency key per account; "" = none
    // When the key was used before with another amount: false, the
    // grant_key_conflict error; true, the first grant stands and nothing
    // changes (a plan period granted under an earlier price book).
    bool key_keeps_first_amount = false;
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
    core::Tokens held;     // allocated to open holds
    core::Tokens debited;  // removed by negative adjustments
    std::string source;    // grant | adjustment | refund: what added it
};

// What an API key lets its holder do, a set of scopes. `jobs`: submit and
// cancel jobs, and quotes; `read`: the GET routes (account, jobs, ledger,
// results, events). Stored as text, the scope names in this order, separated
// by spaces ("jobs read").
enum class KeyScope : std::uint8_t { Jobs = 1, Read = 2 };

class KeyScopes {
  public:
    constexpr KeyScopes() = default;
    static constexpr KeyScopes all() { return KeyScopes(kAllBits); }
    constexpr bool has(KeyScope scope) const { return (bits_ & bit(scope)) != 0; }
    constexpr bool empty() const { return bits_ == 0; }
    constexpr void add(KeyScope scope) { bits_ = static_cast<std::uint8_t>(bits_ | bit(scope)); }
    constexpr bool operator==(const KeyScopes&) const = default;
    // "jobs read", "jobs", "read" or "".
    std::string to_string() const;
    // The scopes named by space-separated words; nullopt when a word is not a
    // scope. Repeated words count once.
    static std::optional<KeyScopes> parse(std::string_view text);

  private:
    static constexpr std::uint8_t kAllBits = 3;
    constexpr explicit KeyScopes(std::uint8_t bits) : bits_(bits) {}
    static constexpr std::uint8_t bit(KeyScope scope) { return static_cast<std::uint8_t>(scope); }
    std::uint8_t bits_ = 0;
};

// A scope's name ("jobs" or "read"), and back (nullopt for any other text).
std::string_view to_string(KeyScope scope);
std::optional<KeyScope> parse_key_scope(std::string_view name);

// An account may hold at most this many keys that are neither revoked nor
// expired; api_keys() lists at most kApiKeysListMax, the newest first.
inline constexpr std::int64_t kApiKeysPerAccountMax = 100;
inline constexpr std::size_t kApiKeysListMax = 1'000;

// What create_api_key() is asked to mint.
struct ApiKeySpec {
    std::string account_id;
    KeyScopes scopes = KeyScopes::all();     // not empty
    std::optional<std::int64_t> expires_ms;  // nullopt: never; else in the future
};

// A key just minted: the only time its secret is known outside its holder.
struct NewApiKey {
    std::string id;      // public: safe to show and log ("key_…")
    std::string secret;  // "tg_" and 32 random bytes in hex; stored only as SHA-256
    std::int64_t created_ms = 0;
};

enum class ApiKeyState { Active, Expired, Revoked };

// A stored key, without its secret or the secret's hash.
struct ApiKeyInfo {
    std::string id;
    std::string account_id;
    KeyScopes scopes;
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> expires_ms;  // nullopt: never
    std::optional<std::int64_t> revoked_ms;  // nullopt: not revoked
    // Revoked wins over expired; a key expires at expires_ms exactly.
    ApiKeyState state_at(std::int64_t now_ms) const;
};

enum class RevokeOutcome {
    Revoked,         // this call revoked the key
    AlreadyRevoked,  // it was revoked before: nothing changed
    UnknownKey,      // no key of that id belongs to the account
};

struct RevokeResult {
    RevokeOutcome outcome;
    std::int64_t revoked_ms = 0;  // when it was revoked (unset for UnknownKey)
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
    // Every account's id, a page at a time, for tools that go over all
    // accounts (reconcile): start with cursor "" and pass each page's
    // next_cursor until it comes back empty. A page holds at most
    // min(limit, kAccountIdsPageMax) ids on SQLite (by id), and about that
    // many on Redis (an SSCAN of its account index, whose COUNT is a hint:
    // a set small enough for Redis's compact encoding comes back whole); a
    // page may be empty while more follow. Every account that exists for the
    // whole walk is listed at least once. On Redis an id may come more than
    // once (SSCAN during a rehash), so a caller that counts skips the ids it
    // has seen; and the index may hold the id of an account whose creation a
    // crash interrupted, for which account() answers nullopt. Errors:
    // "invalid_limit" (0); on Redis "invalid_cursor" (not a number).
    virtual core::Result<AccountIdPage> account_ids(const std::string& cursor,
                                                    std::size_t limit) = 0;
    // Sets (or, with "", clears) the account's tenant. False for an unknown
    // account; error "invalid_tenant" when longer than kTenantBytesMax.
    virtual core::Result<bool> set_tenant(const std::string& account_id,
                                          const std::string& tenant) = 0;

    // Mints a new API key: a random 32-byte secret from the CSPRNG, returned
    // once and stored only as its SHA-256, with a public id. Errors:
    // "unknown_account", "invalid_scopes" (none), "invalid_expiry" (not in
    // the future), "too_many_keys" (kApiKeysPerAccountMax active keys).
    virtual core::Result<NewApiKey> create_api_key(const ApiKeySpec& spec) = 0;
    // A key with every scope and no expiry; returns its secret.
    core::Result<std::string> create_api_key(const std::string& account_id) {
        ApiKeySpec spec;
        spec.account_id = account_id;
        auto key = create_api_key(spec);
        if (!key.ok()) return key.error();
        return std::move(key).value().secret;
    }
    // The key whose secret is `secret`, whatever its state (the caller tells
    // an expired or revoked key from an active one with state_at()), or
    // nullopt for an unknown secret. The lookup is by SHA-256, so its timing
    // says nothing about the secret.
    virtual core::Result<std::optional<ApiKeyInfo>> find_api_key(const std::string& secret) = 0;
    // The account owning `secret` when the key is active at the ledger's
    // clock, else nullopt (unknown, revoked or expired).
    virtual core::Result<std::optional<std::string>> find_account_by_key(
        const std::string& secret) = 0;
    // The account's keys, newest first, at most kApiKeysListMax. Error
    // "unknown_account".
    virtual core::Result<std::vector<ApiKeyInfo>> api_keys(const std::string& account_id) = 0;
    // Revokes the account's key `key_id` from now on. Idempotent.
    virtual core::Result<RevokeResult> revoke_api_key(const std::string& account_id,
                                                      const std::string& key_id) = 0;

    // Adds a grant. With a non-empty key it is idempotent per account: the
    // same key again returns the first grant with created=false and changes
    // nothing, or error "grant_key_conflict" when the amount differs (unless
    // spec.key_keeps_first_amount). Errors:
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
    // A repeated key is judged on account and amount only (not the terms).
    // Error "invalid_terms" for a credit limit or TTL out of range.
    virtual core::Result<ReserveResult> reserve(const std::string& account_id, core::Tokens tokens,
                                                const std::string& key,
                                                const ReserveTerms& terms = {}) = 0;
    // Ends an open hold by charging `tokens` of it (nullopt: all of it) and
    // releasing the rest, in one transaction. The charge takes the hold's
    // slices in draw order, so the release gives back credit first, then the
    // grants in reverse draw order: the earliest-expiring grants are the ones
    // charged. Released tokens return to their grants; those of a grant that
    // has expired meanwhile expire at once. Writes one capture entry of the
    // charged amount. On a captured hold: AlreadySettled for the same amount
    // (nullopt meaning the hold's full amount), Conflict for another; on a
    // voided hold: Conflict. Errors: "invalid_tokens" (<= 0),
    // "capture_exceeds_hold" (more than the hold).
    virtual core::Result<SettleOutcome> capture(const std::string& key,
                                                std::optional<core::Tokens> tokens) = 0;
    // Captures the hold's full amount.
    core::Result<SettleOutcome> capture(const std::string& key) {
        return capture(key, std::nullopt);
    }
    // Ends an open hold by returning its tokens to its grants; tokens returned
    // to a grant that has expired in the meantime expire at once.
    virtual core::Result<SettleOutcome> void_hold(const std::string& key,
                                                  const std::string& reason) = 0;
    // Open holds whose TTL ran out (expires_ms <= now_ms), the longest expired
    // first, at most min(limit, kExpiredHoldsPageMax). Read-only: the owner of
    // each hold (the jobs layer) voids it together with its job.
    virtual core::Result<std::vector<Hold>> expired_open_holds(std::int64_t now_ms,
                                                               std::size_t limit) = 0;
    // The open holds with a TTL (every job's) and their tokens, for
    // /metrics; nullopt where that would read every account (Redis).
    struct OpenHolds {
        std::int64_t holds = 0;
        std::int64_t tokens = 0;
    };
    virtual core::Result<std::optional<OpenHolds>> open_holds() {
        return std::optional<OpenHolds>();
    }

    // Adds (tokens > 0) or removes (tokens < 0) tokens and returns the id of
    // the one adjustment entry. Adding makes a never-expiring grant of source
    // "adjustment". Removing debits the account's active grants in draw order
    // and never takes the account below zero, credit or not. With a non-empty
    // key it is idempotent per account: the same key and amount again changes
    // nothing and returns the first entry's id. Errors: "unknown_account",
    // "invalid_tokens" (0 or beyond kGrantTokensMax), "invalid_reason",
    // "invalid_key", "insufficient_balance", "adjustment_key_conflict".
    virtual core::Result<std::int64_t> adjust(const std::string& account_id, std::int64_t tokens,
                                              const std::string& reason,
                                              const std::string& key) = 0;
    // Returns `tokens` of a captured hold's charge to its account as a
    // never-expiring grant of source "refund", and returns the id of its one
    // refund entry. A hold's refunds together never exceed its capture. Not
    // idempotent: a caller that retries must first check Hold::refunded.
    // Errors: "unknown_hold", "hold_not_captured", "invalid_tokens",
    // "invalid_reason", "refund_exceeds_capture".
    virtual core::Result<std::int64_t> refund(const std::string& hold_key, core::Tokens tokens,
                                              const std::string& reason) = 0;

    virtual core::Result<Balance> balance(const std::string& account_id) = 0;
    virtual core::Result<std::optional<Hold>> find_hold(const std::string& key) = 0;
    // Every entry of the account, by id.
    virtual core::Result<std::vector<Entry>> entries(const std::string& account_id) = 0;
    // A statement page: the account's entries with from_ms <= created_ms <
    // to_ms and id > after_id, by id, at most min(limit, kEntriesPageMax).
    // Errors: "unknown_account", "invalid_limit" (0).
    virtual core::Result<EntryPage> entries_page(const std::string& account_id,
                                                 std::int64_t from_ms, std::int64_t to_ms,
                                                 std::int64_t after_id, std::size_t limit) = 0;

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
    // allocations, and every entry's balance_after from the entries before
    // it, and compares with the cached figures. Empty when money is
    // conserved everywhere. `accounts_checked` receives the number of
    // accounts examined.
    virtual core::Result<std::vector<Mismatch>> verify(std::int64_t* accounts_checked) = 0;
};

}  // namespace tollgate::ledger
