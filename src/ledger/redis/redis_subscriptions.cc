// Redis ledger: subscriptions, stored for renewal as in SQLite: one record
// per (account, plan), kept after cancellation; re-subscribing re-activates
// it with a new subscribed_ms.
//
// The record is the value of field <plan> in P{a}:subs:
//   "<subscribed_ms>\t<cancelled_ms, or "" while active>"
// Psubs, a sorted set read by name, holds "<account>\t<plan>" for every pair
// ever subscribed, so active_subscriptions() can page across accounts. It is
// added before the record and never removed once the record exists (a
// cancelled record can be re-activated at any time), so each entry is checked
// against its record on read.
#include <algorithm>
#include <string_view>

#include "core/assert.h"
#include "ledger/redis/redis_ledger.h"
#include "ledger/rules.h"
#include "store/redis/redis_text.h"

namespace tollgate::ledger {
namespace {

using store::redis::Reply;

// Psubs is read this many entries per ZRANGEBYLEX.
constexpr std::size_t kIndexChunk = 1'000;

std::optional<Subscription> read_subscription(const std::string& account_id,
                                              const std::string& plan, std::string_view record) {
    const std::size_t tab = record.find('\t');
    if (tab == std::string_view::npos) return std::nullopt;
    auto subscribed_ms = store::redis::parse_int64(record.substr(0, tab));
    if (!subscribed_ms) return std::nullopt;
    Subscription sub{account_id, plan, *subscribed_ms, std::nullopt};
    if (tab + 1 < record.size()) {
        sub.cancelled_ms = store::redis::parse_int64(record.substr(tab + 1));
        if (!sub.cancelled_ms) return std::nullopt;
    }
    return sub;
}

}  // namespace

core::Result<Subscription> RedisLedger::subscribe(const std::string& account_id,
                                                  const std::string& plan) {
    if (core::Status valid = check_plan(plan); !valid.ok()) return valid.error();
    const std::string index = global_key("subs");
    const std::string member = account_id + '\t' + plan;
    auto added = client_.command(index, {"ZADD", index, "0", member});
    if (!added.ok()) return added.error();

    static const store::redis::Script kScript(R"lua(
-- KEYS: the account's keys (1 = acct, 8 = subs). ARGV: plan, now_ms.
-- Replies the record, or nil for an unknown account.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local record = redis.call('HGET', KEYS[8], ARGV[1])
if record and string.sub(record, -1) == '\t' then return record end
record = ARGV[2] .. '\t'
redis.call('HSET', KEYS[8], ARGV[1], record)
return record
)lua");
    auto r = run(kScript, account_id, {plan, std::to_string(clock_.now_ms())});
    if (!r.ok()) return r.error();
    if (r->is_nil()) {
        // Accounts are never deleted and an id is unknown to everyone until
        // it exists, so no subscription can ever need this entry.
        (void)client_.command(index, {"ZREM", index, member});
        return core::make_error("unknown_account", "no such account");
    }
    auto sub = read_subscription(account_id, plan, r->text);
    if (!sub) return store::redis::malformed_record(account_base(account_id) + "subs " + plan);
    TOLLGATE_ASSERT(!sub->cancelled_ms.has_value());
    return *sub;
}

core::Result<bool> RedisLedger::unsubscribe(const std::string& account_id,
                                            const std::string& plan) {
    // The Psubs entry stays: a concurrent subscribe() may have just added it
    // for the record it is about to re-activate.
    static const store::redis::Script kScript(R"lua(
-- KEYS: the account's keys (8 = subs). ARGV: plan, now_ms.
local record = redis.call('HGET', KEYS[8], ARGV[1])
if not record or string.sub(record, -1) ~= '\t' then return 0 end
redis.call('HSET', KEYS[8], ARGV[1], record .. ARGV[2])
return 1
)lua");
    auto r = run(kScript, account_id, {plan, std::to_string(clock_.now_ms())});
    if (!r.ok()) return r.error();
    return r->integer == 1;
}

core::Result<std::vector<Subscription>> RedisLedger::subscriptions(const std::string& account_id) {
    const std::string hash = account_base(account_id) + "subs";
    auto r = client_.command(hash, {"HGETALL", hash});
    if (!r.ok()) return r.error();
    if (r->type != Reply::Type::Array || r->elements.size() % 2 != 0)
        return store::redis::malformed_record(hash);
    std::vector<Subscription> out;
    for (std::size_t i = 0; i < r->elements.size(); i += 2) {
        const std::string& plan = r->elements[i].text;
        auto sub = read_subscription(account_id, plan, r->elements[i + 1].text);
        if (!sub) return store::redis::malformed_record(hash + " " + plan);
        out.push_back(std::move(*sub));
    }
    // By plan in byte order, as SQLite's ORDER BY plan.
    std::sort(out.begin(), out.end(),
              [](const Subscription& a, const Subscription& b) { return a.plan < b.plan; });
    return out;
}

// Psubs orders "<account>\t<plan>" by bytes, which is the order of the pair
// (account_id, plan) that SQLite uses: '\t' sorts before every byte an id
// holds (ids are printable), so an account that is a prefix of another
// still comes first. A caller's after_account_id with bytes at or below
// '\t' would page differently; no real id has them.
//
// No bound on the entries read per call: PlanService::renew_all() takes a
// page shorter than kSubscriptionsPageMax as the last one, so a call stops
// only with a full page or at the end of Psubs. The cost is the cancelled
// and stale entries passed on the way, each read once per sweep.
core::Result<std::vector<Subscription>> RedisLedger::active_subscriptions(
    const std::string& after_account_id, const std::string& after_plan) {
    const std::string index = global_key("subs");
    std::string from = after_account_id.empty() && after_plan.empty()
                           ? std::string("-")
                           : "(" + after_account_id + '\t' + after_plan;
    std::vector<Subscription> out;
    for (;;) {
        auto r = client_.command(
            index, {"ZRANGEBYLEX", index, from, "+", "LIMIT", "0", std::to_string(kIndexChunk)});
        if (!r.ok()) return r.error();
        if (r->type != Reply::Type::Array) return store::redis::malformed_record(index);
        const std::vector<Reply>& entries = r->elements;
        // One HMGET per run of entries of the same account.
        for (std::size_t i = 0; i < entries.size();) {
            const std::string& first = entries[i].text;
            const std::size_t tab = first.find('\t');
            if (tab == std::string::npos)
                return store::redis::malformed_record(index + " " + first);
            const std::string account_id = first.substr(0, tab);
            const std::string hash = account_base(account_id) + "subs";
            std::vector<std::string> argv{"HMGET", hash};
            std::size_t end = i;
            for (; end < entries.size(); ++end) {
                const std::string& e = entries[end].text;
                if (e.size() <= tab || e.compare(0, tab + 1, first, 0, tab + 1) != 0) break;
                argv.push_back(e.substr(tab + 1));
            }
            auto records = client_.command(hash, argv);
            if (!records.ok()) return records.error();
            if (records->type != Reply::Type::Array || records->elements.size() != end - i)
                return store::redis::malformed_record(hash);
            for (std::size_t k = 0; k < records->elements.size(); ++k) {
                const std::string& plan = argv[k + 2];
                const Reply& record = records->elements[k];
                if (record.is_nil()) continue;  // added before a record that never came
                auto sub = read_subscription(account_id, plan, record.text);
                if (!sub) return store::redis::malformed_record(hash + " " + plan);
                if (sub->cancelled_ms) continue;
                out.push_back(std::move(*sub));
                if (static_cast<std::int64_t>(out.size()) == kSubscriptionsPageMax) return out;
            }
            i = end;
        }
        if (entries.size() < kIndexChunk) return out;
        from = "(" + entries.back().text;
    }
}

}  // namespace tollgate::ledger
