// Redis ledger: grants, their expiry, adjustments, refunds and the balance
// (the scripts are in redis_lua_ops.cc).
//
// Expiry is lazy as in the SQLite backend: every script that reads or spends
// an account's grants expires its due ones first. expire_due() is the
// sweeper's batch across accounts, read from P grants_due, whose entry for a
// grant is added after the grant's script (its id comes from the script).
// Each entry is settled by running the expiry for its one grant, which tells
// when the grant is due next (after a rollover) or that it never will be.
#include "ledger/redis/redis_ledger.h"
#include "ledger/redis/redis_reply.h"
#include "ledger/redis/redis_scripts.h"
#include "ledger/rules.h"

namespace tollgate::ledger {

using namespace redis_reply;

namespace {

std::string optional_arg(const std::optional<std::int64_t>& v) {
    return v.has_value() ? std::to_string(*v) : std::string();
}

}  // namespace

core::Result<RedisLedger::AddedGrant> RedisLedger::insert_grant(const GrantSpec& spec,
                                                                std::int64_t now_ms,
                                                                bool expire_first) {
    auto r = run(
        redis_lua::add_grant(), spec.account_id,
        {std::to_string(spec.tokens.value), spec.reason, spec.key, optional_arg(spec.expires_ms),
         std::to_string(spec.priority), std::to_string(spec.rollover_max.value),
         optional_arg(spec.rollover_expires_ms), spec.key_keeps_first_amount ? "1" : "0",
         std::to_string(now_ms), expire_first ? "1" : "0", "grant"});
    if (!r.ok()) return script_error(r.error());
    const std::string& outcome = word(*r);
    if (outcome == "unknown_account") return core::make_error("unknown_account", "no such account");
    if (outcome == "conflict") {
        return core::make_error("grant_key_conflict",
                                "grant key '" + spec.key + "' was used with " +
                                    std::to_string(integer(*r, 1)) + " tokens");
    }
    TOLLGATE_ASSERT(outcome == "ok");
    AddedGrant added{GrantResult{integer(*r, 1), integer(*r, 2) == 1}, integer(*r, 3)};
    if (added.result.created && spec.expires_ms.has_value()) {
        const std::string due = global_key("grants_due");
        auto indexed =
            client_.command(due, {"ZADD", due, std::to_string(*spec.expires_ms),
                                  spec.account_id + "\t" + std::to_string(added.result.grant_id)});
        if (!indexed.ok()) return indexed.error();
    }
    return added;
}

core::Result<GrantResult> RedisLedger::add_grant(const GrantSpec& spec) {
    const std::int64_t now_ms = clock_.now_ms();
    if (core::Status valid = check_grant(spec, now_ms); !valid.ok()) return valid.error();
    auto added = insert_grant(spec, now_ms, true);
    if (!added.ok()) return added.error();
    return added->result;
}

core::Result<std::int64_t> RedisLedger::grant(const std::string& account_id, core::Tokens tokens,
                                              const std::string& reason) {
    GrantSpec spec;
    spec.account_id = account_id;
    spec.tokens = tokens;
    spec.reason = reason;
    const std::int64_t now_ms = clock_.now_ms();
    if (core::Status valid = check_grant(spec, now_ms); !valid.ok()) return valid.error();
    auto added = insert_grant(spec, now_ms, false);
    if (!added.ok()) return added.error();
    TOLLGATE_ASSERT(added->result.created);  // no key, so always a new grant
    return added->entry_id;
}

core::Result<std::vector<GrantInfo>> RedisLedger::grants(const std::string& account_id) {
    auto r = run(redis_lua::grants(), account_id,
                 {std::to_string(clock_.now_ms()), std::to_string(kGrantsListMax)});
    if (!r.ok()) return script_error(r.error());
    if (word(*r) == "unknown_account")
        return core::make_error("unknown_account", "no such account");
    std::vector<GrantInfo> out;
    for (std::size_t i = 1; i < r->elements.size(); ++i) {
        const store::redis::Reply& g = r->elements[i];
        GrantInfo info;
        info.id = integer(g, 0);
        info.key = text(g, 1);
        info.reason = text(g, 2);
        info.tokens = core::Tokens(integer(g, 3));
        info.remaining = core::Tokens(integer(g, 4));
        info.used = core::Tokens(integer(g, 5));
        info.expired = core::Tokens(integer(g, 6));
        info.starts_ms = integer(g, 7);
        info.expires_ms = optional_integer(g, 8);
        info.priority = integer(g, 9);
        info.held = core::Tokens(integer(g, 10));
        info.debited = core::Tokens(integer(g, 11));
        info.source = text(g, 12);
        TOLLGATE_ASSERT(info.tokens ==
                        info.remaining + info.held + info.used + info.expired + info.debited);
        out.push_back(std::move(info));
    }
    return out;
}

core::Result<std::int64_t> RedisLedger::expire_due() {
    const std::int64_t now_ms = clock_.now_ms();
    const std::string due = global_key("grants_due");
    auto page = client_.command(due, {"ZRANGE", due, "-inf", std::to_string(now_ms), "BYSCORE",
                                      "LIMIT", "0", std::to_string(kExpireBatchGrantsMax)});
    if (!page.ok()) return page.error();
    std::int64_t processed = 0;
    for (const store::redis::Reply& member : page->elements) {
        const std::size_t tab = member.text.rfind('\t');
        TOLLGATE_ASSERT(tab != std::string::npos);  // written by insert_grant only
        const std::string account_id = member.text.substr(0, tab);
        auto r = run(redis_lua::expire(), account_id,
                     {std::to_string(now_ms), member.text.substr(tab + 1)});
        if (!r.ok()) return script_error(r.error());
        processed += integer(*r, 1);
        // Due again later after a rollover, or never again.
        std::optional<std::int64_t> next = optional_integer(*r, 2);
        auto updated = next.has_value()
                           ? client_.command(due, {"ZADD", due, std::to_string(*next), member.text})
                           : client_.command(due, {"ZREM", due, member.text});
        if (!updated.ok()) return updated.error();
    }
    return processed;
}

core::Result<std::int64_t> RedisLedger::adjust(const std::string& account_id, std::int64_t tokens,
                                               const std::string& reason, const std::string& key) {
    if (core::Status valid = check_adjustment(tokens, reason, key); !valid.ok())
        return valid.error();
    auto r = run(redis_lua::adjust(), account_id,
                 {std::to_string(tokens), reason, key, std::to_string(clock_.now_ms())});
    if (!r.ok()) return script_error(r.error());
    const std::string& outcome = word(*r);
    if (outcome == "unknown_account") return core::make_error("unknown_account", "no such account");
    if (outcome == "conflict") {
        return core::make_error("adjustment_key_conflict",
                                "adjustment key '" + key + "' was used with " +
                                    std::to_string(integer(*r, 1)) + " tokens");
    }
    if (outcome == "insufficient") {
        return core::make_error(
            "insufficient_balance",
            "the account's available balance is below " + std::to_string(-tokens));
    }
    TOLLGATE_ASSERT(outcome == "ok" && integer(*r, 1) > 0);
    return integer(*r, 1);
}

core::Result<std::int64_t> RedisLedger::refund(const std::string& hold_key, core::Tokens tokens,
                                               const std::string& reason) {
    if (core::Status valid = check_refund(tokens, reason); !valid.ok()) return valid.error();
    auto account = hold_account(hold_key);
    if (!account.ok()) return account.error();
    if (!account->has_value()) return core::make_error("unknown_hold", "no such hold");
    auto r = run(redis_lua::refund(), **account,
                 {hold_key, std::to_string(tokens.value), reason, std::to_string(clock_.now_ms())});
    if (!r.ok()) return script_error(r.error());
    const std::string& outcome = word(*r);
    if (outcome == "unknown_hold") return core::make_error("unknown_hold", "no such hold");
    if (outcome == "not_captured")
        return core::make_error("hold_not_captured", "only a captured hold can be refunded");
    if (outcome == "exceeds") {
        return core::make_error("refund_exceeds_capture",
                                "refunds of " + std::to_string(integer(*r, 1)) +
                                    " tokens would exceed the capture of " +
                                    std::to_string(integer(*r, 2)));
    }
    TOLLGATE_ASSERT(outcome == "ok" && integer(*r, 1) > 0);
    return integer(*r, 1);
}

core::Result<Balance> RedisLedger::balance(const std::string& account_id) {
    auto r = run(redis_lua::balance(), account_id, {std::to_string(clock_.now_ms())});
    if (!r.ok()) return script_error(r.error());
    if (word(*r) == "unknown_account")
        return core::make_error("unknown_account", "no such account");
    Balance b;
    b.granted = core::Tokens(integer(*r, 1));
    b.held = core::Tokens(integer(*r, 2));
    b.captured = core::Tokens(integer(*r, 3));
    b.expired = core::Tokens(integer(*r, 4));
    b.debited = core::Tokens(integer(*r, 5));
    TOLLGATE_ASSERT(b.available().value >= -integer(*r, 6));
    return b;
}

}  // namespace tollgate::ledger
