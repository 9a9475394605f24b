// The shared ledger backend: Redis, for several gateway instances at once.
//
// Every money movement (grant, reserve, capture, void, expiry, adjustment,
// refund) is one Lua script run by Redis atomically, so a check and the write
// it guards are one step across every instance. With AOF on (appendfsync
// always) a movement is durable before its script answers. The scripts keep
// the SQLite backend's books exactly: the same draw order, the same split of
// a hold across grants and credit, the same entries with the balance after
// each, and the same invariants, asserted in the scripts before they write.
//
// Keys. An account's records share the hash tag of its shard (one of
// store::redis::kRedisShards, by a hash of the account id), so one script touches one hash
// slot and the backend runs unchanged on Redis Cluster. Tagging by shard
// rather than by account lets a script also write the shard's own queues
// (the usage outbox stream of jobs/redis) in the same atomic step; a
// cluster spreads the shards over its masters. With the prefix P, the
// account a and its shard's tag {sN}:
//   P{sN}:a:acct     hash: name, tenant, created_ms, the cached sums
//                    (granted, held, captured, expired, debited),
//                    credit_limit, and the sequences grant_seq and entry_seq
//   P{sN}:a:grants   hash: grant id -> the grant's record (MessagePack)
//   P{sN}:a:live     set: ids of the grants with remaining > 0
//   P{sN}:a:gkeys    hash: grant idempotency key -> grant id
//   P{sN}:a:holds    hash: hold key -> the hold's record, with its slices
//   P{sN}:a:entries  list: the entries (MessagePack); entry id = position + 1
//   P{sN}:a:adjkeys  hash: adjustment idempotency key -> entry id
//   P{sN}:a:subs     hash: plan -> subscription record
//   P{sN}:a:keys     hash: API key id -> key record (scopes, times, SHA-256)
//   P{sN}:holds_expiring  sorted set: the shard's open holds with a TTL, by
//                    TTL end (expired_open_holds reads every shard's); the
//                    reserve that opens a hold adds it, the script that
//                    ends it removes it
// Ids (grants, entries) count per account, from 1. The first brace pair of
// a key is the prefix's shard tag (a prefix holds no brace), so whatever an
// account id holds, its keys stay in its shard's slot.
//
// Indexes across accounts live in slots of their own, so no script writes
// them. Each is written before the record it leads to and checked against
// that record when read, so a crash between the two leaves a stale index
// entry (skipped on read), never a record nothing can find. Only the
// entries of settled holds are removed (after their settling script):
//   Paccounts        set: every account id (verify(), all accounts)
//   Powner:<key>     string: the account of hold <key> (SET NX; immutable;
//                    shared with the job, usage record and webhook of that
//                    id: store::redis::owner_key)
//   Papikey:<sha>    string: "<account>\t<key id>" of an API key's secret
//   Pgrants_due      sorted set: "<account>\t<grant id>" by expiry (expire_due)
//   Psubs            sorted set (by name): "<account>\t<plan>" ever subscribed
// The tab separators order and split correctly because ids hold no bytes at
// or below '\t' (core::new_id makes them).
// The one write that follows its record: a grant's Pgrants_due entry is added
// after the grant (its id comes from the script). A crash in between leaves
// that grant to the lazy expiry every script of its account runs first.
//
// Numbers. Lua numbers are doubles: every figure a script computes stays
// below 2^53 (kUnlimitedCreditTokens is 10^15, a grant at most 10^12), and
// numbers cross into Redis as decimal text, never in exponent form.
//
// Threads: safe from any thread (the client is).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "ledger/ledger.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_keys.h"

namespace tollgate::ledger {

using store::redis::kRedisPrefixDefault;
// The largest figure a script may hold (2^53): doubles are exact below it.
inline constexpr std::int64_t kRedisExactTokensMax = 9'007'199'254'740'992;
static_assert(kUnlimitedCreditTokens * 2 < kRedisExactTokensMax);

// Key names other Redis backends need when their scripts move an account's
// money in the same step as their own records (jobs/redis): the account's
// keys in the order every ledger script takes them, its shard's sorted set of
// holds with a TTL last. A hold's account is its key's owner
// (store::redis::owner_key).
std::vector<std::string> redis_account_keys(const std::string& prefix,
                                            const std::string& account_id);
std::string redis_holds_expiring_key(const std::string& prefix, int shard);

class RedisLedger final : public Ledger {
  public:
    // `prefix` namespaces every key (several deployments may share a
    // server). Loads nothing eagerly: scripts are sent on first use.
    // Errors: "invalid_prefix" (empty, too long, or holding '{' or '}').
    static core::Result<std::unique_ptr<RedisLedger>> open(
        store::redis::Client& client, const core::Clock& clock,
        std::string prefix = kRedisPrefixDefault);

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
    RedisLedger(store::redis::Client& client, const core::Clock& clock, std::string prefix)
        : client_(client), clock_(clock), prefix_(std::move(prefix)) {}

    // One grant added by a script: its id and its entry's id.
    struct AddedGrant {
        GrantResult result;
        std::int64_t entry_id = 0;
    };
    // Adds a grant (source "grant") through its script, after expiring the
    // account's due grants when `expire_first`, and indexes its expiry.
    core::Result<AddedGrant> insert_grant(const GrantSpec& spec, std::int64_t now_ms,
                                          bool expire_first);

    // "P{sN}:a:" for account a of shard N: the start of every key of the account.
    std::string account_base(const std::string& account_id) const;
    // The account's keys in the order every script takes them: acct, grants,
    // live, gkeys, holds, entries, adjkeys, subs, keys, and its shard's
    // holds_expiring.
    std::vector<std::string> account_keys(const std::string& account_id) const;
    // A key of the cross-account indexes: prefix + name.
    std::string global_key(const std::string& name) const { return prefix_ + name; }
    // The account holding hold `key`, from its index; nullopt when none.
    core::Result<std::optional<std::string>> hold_account(const std::string& key);
    // Runs one of the ledger's scripts on the account's keys.
    core::Result<store::redis::Reply> run(const store::redis::Script& script,
                                          const std::string& account_id,
                                          const std::vector<std::string>& args);

    store::redis::Client& client_;
    const core::Clock& clock_;
    std::string prefix_;
};

}  // namespace tollgate::ledger
