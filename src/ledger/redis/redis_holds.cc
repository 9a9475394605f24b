// Redis ledger: reserve, capture, void and reading holds (the scripts are in
// redis_lua_ops.cc).
//
// A hold's account is found through the index P owner:<key>, set (NX) before
// the reserve script runs: a key already indexed to another account is
// refused as reused without touching that account. A hold with a TTL enters
// its shard's holds_expiring in the script that opens it and leaves it in the
// one that ends it, so a reserve is two round trips and a capture or void
// two; expired_open_holds() reads the shards one after the other.
#include <algorithm>
#include <optional>
#include <tuple>

#include "ledger/redis/redis_ledger.h"
#include "ledger/redis/redis_reply.h"
#include "ledger/redis/redis_scripts.h"
#include "ledger/rules.h"
#include "store/redis/redis_keys.h"

namespace tollgate::ledger {

using namespace redis_reply;

namespace {

HoldState parse_state(const std::string& s) {
    if (s == "open") return HoldState::Open;
    if (s == "captured") return HoldState::Captured;
    TOLLGATE_ASSERT(s == "voided");
    return HoldState::Voided;
}

}  // namespace

core::Result<ReserveResult> RedisLedger::reserve(const std::string& account_id, core::Tokens tokens,
                                                 const std::string& key,
                                                 const ReserveTerms& terms) {
    TOLLGATE_ASSERT(tokens.value > 0 && tokens.value <= core::limits::kGrantTokensMax);
    TOLLGATE_ASSERT(!key.empty());
    auto limit = check_terms(terms);
    if (!limit.ok()) return limit.error();
    const std::int64_t now_ms = clock_.now_ms();
    const std::string index = store::redis::owner_key(prefix_, key);
    auto claimed = client_.command(index, {"SET", index, account_id, "NX", "GET"});
    if (!claimed.ok()) return claimed.error();
    if (!claimed->is_nil() && claimed->text != account_id) {
        auto b = balance(account_id);
        if (!b.ok()) {
            if (b.error().code == "unknown_account")
                return ReserveResult{ReserveOutcome::UnknownAccount, core::Tokens(0)};
            return b.error();
        }
        return ReserveResult{ReserveOutcome::KeyReusedWithDifferentRequest, b->available()};
    }
    const std::string memo =
        terms.memo.substr(0, static_cast<std::size_t>(core::limits::kReasonBytesMax));
    auto r = run(redis_lua::reserve(), account_id,
                 {std::to_string(tokens.value), key, std::to_string(now_ms), std::to_string(*limit),
                  std::to_string(terms.ttl_ms), memo});
    if (!r.ok()) return script_error(r.error());
    const std::string& outcome = word(*r);
    ReserveResult result{ReserveOutcome::Held, core::Tokens(integer(*r, 1))};
    if (outcome == "held") return result;
    if (outcome == "already_held") {
        result.outcome = ReserveOutcome::AlreadyHeld;
    } else if (outcome == "key_reused") {
        result.outcome = ReserveOutcome::KeyReusedWithDifferentRequest;
    } else if (outcome == "insufficient") {
        result.outcome = ReserveOutcome::InsufficientBalance;
    } else {
        TOLLGATE_ASSERT(outcome == "unknown_account");
        result.outcome = ReserveOutcome::UnknownAccount;
    }
    return result;
}

core::Result<std::optional<Hold>> RedisLedger::find_hold(const std::string& key) {
    auto account = hold_account(key);
    if (!account.ok()) return account.error();
    if (!account->has_value()) return std::optional<Hold>();
    auto r = run(redis_lua::read_hold(), **account, {key});
    if (!r.ok()) return script_error(r.error());
    if (word(*r) == "none") return std::optional<Hold>();
    Hold h;
    h.key = key;
    h.account_id = **account;
    h.tokens = core::Tokens(integer(*r, 1));
    h.state = parse_state(text(*r, 2));
    h.created_ms = integer(*r, 3);
    h.expires_ms = optional_integer(*r, 4);
    h.captured = core::Tokens(integer(*r, 5));
    h.refunded = core::Tokens(integer(*r, 6));
    TOLLGATE_ASSERT(h.tokens.value > 0 && h.captured <= h.tokens && h.refunded <= h.captured);
    TOLLGATE_ASSERT((h.state == HoldState::Captured) == (h.captured.value > 0));
    return std::optional<Hold>(std::move(h));
}

namespace {

core::Result<SettleOutcome> settle_outcome(const std::string& outcome) {
    if (outcome == "settled") return SettleOutcome::Settled;
    if (outcome == "already") return SettleOutcome::AlreadySettled;
    if (outcome == "conflict") return SettleOutcome::Conflict;
    TOLLGATE_ASSERT(outcome == "unknown_hold");
    return SettleOutcome::UnknownHold;
}

}  // namespace

core::Result<SettleOutcome> RedisLedger::capture(const std::string& key,
                                                 std::optional<core::Tokens> tokens) {
    if (tokens.has_value() && tokens->value <= 0)
        return core::make_error("invalid_tokens", "a capture charges at least one token");
    auto account = hold_account(key);
    if (!account.ok()) return account.error();
    if (!account->has_value()) return SettleOutcome::UnknownHold;
    auto r =
        run(redis_lua::capture(), **account,
            {key, tokens ? std::to_string(tokens->value) : "", std::to_string(clock_.now_ms())});
    if (!r.ok()) return script_error(r.error());
    if (word(*r) == "exceeds") {
        return core::make_error(
            "capture_exceeds_hold",
            "capture of " + std::to_string(tokens.value_or(core::Tokens(0)).value) +
                " tokens exceeds the hold of " + std::to_string(integer(*r, 1)));
    }
    return settle_outcome(word(*r));
}

core::Result<SettleOutcome> RedisLedger::void_hold(const std::string& key,
                                                   const std::string& reason) {
    auto account = hold_account(key);
    if (!account.ok()) return account.error();
    if (!account->has_value()) return SettleOutcome::UnknownHold;
    auto r = run(redis_lua::void_hold(), **account, {key, reason, std::to_string(clock_.now_ms())});
    if (!r.ok()) return script_error(r.error());
    return settle_outcome(word(*r));
}

core::Result<std::vector<Hold>> RedisLedger::expired_open_holds(std::int64_t now_ms,
                                                                std::size_t limit) {
    const std::size_t page_max = std::min(limit, kExpiredHoldsPageMax);
    std::vector<Hold> out;
    if (page_max == 0) return out;
    constexpr std::int64_t kChunk = 256;
    // At most this many index entries are read per shard, stale ones included.
    constexpr std::int64_t kScannedMax = 8 * static_cast<std::int64_t>(kExpiredHoldsPageMax);
    // Each shard's first page_max expired holds (and every hold sharing the
    // last one's score) hold the whole store's first page_max: they are
    // gathered, then ordered like SQLite's (expires_ms, created_ms, key) and cut.
    for (int shard = 0; shard < store::redis::kRedisShards; ++shard) {
        const std::string expiring = redis_holds_expiring_key(prefix_, shard);
        std::size_t taken = 0;
        std::optional<std::int64_t> last_expires_ms;
        std::int64_t offset = 0;
        while (offset < kScannedMax) {
            auto page = client_.command(
                expiring, {"ZRANGE", expiring, "-inf", std::to_string(now_ms), "BYSCORE", "LIMIT",
                           std::to_string(offset), std::to_string(kChunk)});
            if (!page.ok()) return page.error();
            if (page->elements.empty()) break;
            bool past_boundary = false;
            for (const store::redis::Reply& member : page->elements) {
                ++offset;
                auto hold = find_hold(member.text);
                if (!hold.ok()) return hold.error();
                const bool live = hold->has_value() && (*hold)->state == HoldState::Open &&
                                  (*hold)->expires_ms.has_value() && *(*hold)->expires_ms <= now_ms;
                if (!live) {
                    // Only a hold that is gone or ended leaves a stale entry.
                    if (!hold->has_value() || (*hold)->state != HoldState::Open) {
                        (void)client_.command(expiring, {"ZREM", expiring, member.text});
                        --offset;
                    }
                    continue;
                }
                if (taken >= page_max && *(*hold)->expires_ms != *last_expires_ms) {
                    past_boundary = true;
                    break;
                }
                last_expires_ms = (*hold)->expires_ms;
                ++taken;
                out.push_back(std::move(**hold));
            }
            if (past_boundary || static_cast<std::int64_t>(page->elements.size()) < kChunk) break;
        }
    }
    std::sort(out.begin(), out.end(), [](const Hold& a, const Hold& b) {
        return std::tie(*a.expires_ms, a.created_ms, a.key) <
               std::tie(*b.expires_ms, b.created_ms, b.key);
    });
    if (out.size() > page_max) out.resize(page_max);
    return out;
}

}  // namespace tollgate::ledger
