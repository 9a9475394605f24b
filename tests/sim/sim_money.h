// The simulation's steps as operator: top-ups and expiring grants (with
// idempotency keys, priorities and rollovers), adjustments both ways,
// refunds of captures, and holds placed and settled on the ledger directly,
// which is the only way to reach partial captures. Each runs in one
// transaction under the gateway's fault injection, like the gateway's own.
//
// Threads: the simulation's thread.
#pragma once

#include <string>
#include <vector>

#include "sim/sim.h"

namespace tollgate::sim {

// A refusal for balance must be justified: the account could not afford it
// under its credit limit (the refusal changed nothing, so it can be read now).
inline void Sim::check_refusal(std::size_t account, std::int64_t tokens, const std::string& what) {
    const SimAccount& a = model_.accounts[account];
    const core::Tokens left = available(account);
    if (left.value + a.credit_limit_tokens >= tokens) {
        fail("a " + what + " of " + std::to_string(tokens) + " tokens was refused to " + a.label +
             " with " + std::to_string(left.value) + " available and a credit limit of " +
             std::to_string(a.credit_limit_tokens));
    }
}

inline void Sim::step_top_up() {
    const std::size_t account = below(model_.accounts.size());
    ledger::GrantSpec spec;
    spec.account_id = id(account);
    spec.tokens = core::Tokens(1 + static_cast<std::int64_t>(below(60)));
    spec.reason = "top-up";
    // A key: none, a new one, or one used before (with its amount or another).
    std::optional<std::int64_t> earlier;
    std::vector<std::string> used;
    for (const auto& [account_key, tokens] : grant_keys_) {
        if (account_key.first == account) used.push_back(account_key.second);
    }
    const std::uint64_t roll = below(10);
    if (roll >= 8 && !used.empty()) {
        spec.key = used[below(used.size())];
        earlier = grant_keys_.at({account, spec.key});
        if (chance(600)) spec.tokens = core::Tokens(*earlier);
    } else if (roll >= 5) {
        spec.key = "grant-" + std::to_string(next_name_++);
    }
    if (chance(500)) {
        constexpr std::uint64_t kDayMs = 86'400'000;
        spec.expires_ms = clock_.now_ms() + 60'000 + static_cast<std::int64_t>(below(20 * kDayMs));
        spec.priority = static_cast<std::int64_t>(below(3));
        if (chance(400)) {
            const auto most = static_cast<std::uint64_t>(spec.tokens.value);
            spec.rollover_max = core::Tokens(1 + static_cast<std::int64_t>(below(most)));
            spec.rollover_expires_ms =
                *spec.expires_ms + 1 + static_cast<std::int64_t>(below(30 * kDayMs));
        }
    }
    const std::uint64_t injected = faults_.injected();
    ledger::GrantResult added{};
    core::Status s = atomically([&]() -> core::Status {
        auto r = gw_->ledger().add_grant(spec);
        if (!r.ok()) return r.error();
        added = *r;
        return {};
    });
    note(
        "grant " + std::to_string(spec.tokens.value) + " to " + label(account) +
        (spec.expires_ms ? " until " + format_instant(*spec.expires_ms) : "") +
        (spec.rollover_max.value > 0 ? " rolling " + std::to_string(spec.rollover_max.value) : "") +
        (spec.key.empty() ? "" : " key " + spec.key) +
        (s.ok() ? (added.created ? ": added" : ": seen before") : ": error " + s.error().code) +
        fault_note(injected));
    if (faulted_since(injected)) return;
    const bool conflict = earlier && *earlier != spec.tokens.value;
    if (s.ok() != !conflict || (s.ok() && added.created == earlier.has_value()) ||
        (!s.ok() && s.error().code != "grant_key_conflict")) {
        fail("add_grant answered unexpectedly for key '" + spec.key + "'");
    }
    if (s.ok() && !spec.key.empty()) grant_keys_[{account, spec.key}] = spec.tokens.value;
}

inline void Sim::step_adjust() {
    const std::size_t account = below(model_.accounts.size());
    std::int64_t tokens = 1 + static_cast<std::int64_t>(below(40));
    if (chance(500)) tokens = -tokens;
    std::string key;
    std::optional<std::int64_t> earlier;
    std::vector<std::string> used;
    for (const auto& [account_key, amount] : adjust_keys_) {
        if (account_key.first == account) used.push_back(account_key.second);
    }
    const std::uint64_t roll = below(10);
    if (roll >= 8 && !used.empty()) {
        key = used[below(used.size())];
        earlier = adjust_keys_.at({account, key});
        if (chance(600)) tokens = *earlier;
    } else if (roll >= 5) {
        key = "adjust-" + std::to_string(next_name_++);
    }
    const std::uint64_t injected = faults_.injected();
    core::Status s = atomically([&]() -> core::Status {
        auto r = gw_->ledger().adjust(id(account), tokens, "correction", key);
        return r.ok() ? core::Status() : core::Status(r.error());
    });
    note("adjust " + label(account) + " by " + std::to_string(tokens) +
         (key.empty() ? "" : " key " + key) + (s.ok() ? "" : ": error " + s.error().code) +
         fault_note(injected));
    if (faulted_since(injected)) return;
    if (s.ok()) {
        if (earlier && *earlier != tokens) fail("a reused adjustment key took another amount");
        if (!key.empty()) adjust_keys_[{account, key}] = tokens;
    } else if (s.error().code == "insufficient_balance" && tokens < 0 && !earlier) {
        // Never below zero, credit or not.
        if (available(account).value >= -tokens)
            fail("a debit of " + std::to_string(-tokens) + " was refused although covered");
    } else if (!(s.error().code == "adjustment_key_conflict" && earlier && *earlier != tokens)) {
        fail("adjust failed: " + s.error().code + ": " + s.error().message);
    }
}

// Refunds part or all of what is left of a capture, or (now and then) more.
inline void Sim::step_refund() {
    // In the model's order: the map of holds is ordered by job ids, which are random.
    std::vector<std::string> keys;
    for (const SimJob& job : model_.jobs) keys.push_back(job.id);
    for (const auto& [key, account] : model_.direct_holds) keys.push_back(key);
    std::vector<const ledger::Hold*> captured;
    for (const std::string& key : keys) {
        auto it = observed_.holds.find(key);
        if (it == observed_.holds.end()) continue;
        const ledger::Hold& hold = it->second;
        if (hold.state == ledger::HoldState::Captured && hold.refunded < hold.captured)
            captured.push_back(&hold);
    }
    if (captured.empty()) return step_advance();
    const ledger::Hold hold = *captured[below(captured.size())];
    const std::int64_t left = (hold.captured - hold.refunded).value;
    const bool too_much = chance(100);
    const std::int64_t tokens =
        too_much ? left + 1
                 : 1 + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(left)));
    const std::string what = model_.direct_holds.count(hold.key) != 0 ? "direct hold " + hold.key
                                                                      : model_.job_name(hold.key);
    const std::uint64_t injected = faults_.injected();
    core::Status s = atomically([&]() -> core::Status {
        auto r = gw_->ledger().refund(hold.key, core::Tokens(tokens), "goodwill");
        return r.ok() ? core::Status() : core::Status(r.error());
    });
    note("refund " + std::to_string(tokens) + " of " + what + " (" + std::to_string(left) +
         " refundable)" + (s.ok() ? "" : ": error " + s.error().code) + fault_note(injected));
    if (faulted_since(injected)) return;
    if (s.ok() == too_much || (!s.ok() && s.error().code != "refund_exceeds_capture"))
        fail("refund answered unexpectedly: " + (s.ok() ? std::string("ok") : s.error().message));
}

inline void Sim::step_direct_reserve() {
    const std::size_t account = below(model_.accounts.size());
    const std::int64_t tokens = 1 + static_cast<std::int64_t>(below(30));
    const std::string key = "direct-" + std::to_string(next_name_++);
    clock_.advance_ms(1);  // every hold gets an instant of its own: see the top of sim.h
    ledger::ReserveTerms terms;
    peek([&] {
        auto account_terms = gw_->plans().terms(id(account), *gw_->books().current());
        if (account_terms.ok()) terms = account_terms->reserve;
    });
    terms.memo = "direct";
    if (chance(750)) terms.ttl_ms = 1000 + static_cast<std::int64_t>(below(7'200'000));
    model_.direct_holds.emplace(key, account);
    const std::uint64_t injected = faults_.injected();
    ledger::ReserveResult result{};
    core::Status s = atomically([&]() -> core::Status {
        auto r = gw_->ledger().reserve(id(account), core::Tokens(tokens), key, terms);
        if (!r.ok()) return r.error();
        result = *r;
        return {};
    });
    static constexpr const char* kOutcomes[] = {"held", "already held", "key reused",
                                                "insufficient balance", "unknown account"};
    note("hold " + std::to_string(tokens) + " of " + label(account) + " directly as " + key +
         (terms.ttl_ms > 0 ? " for " + std::to_string(terms.ttl_ms) + " ms" : "") + ": " +
         (s.ok() ? kOutcomes[static_cast<int>(result.outcome)] : "error " + s.error().code) +
         fault_note(injected));
    if (faulted_since(injected)) return;
    if (!s.ok()) return fail("reserve failed: " + s.error().message);
    if (result.outcome == ledger::ReserveOutcome::InsufficientBalance)
        return check_refusal(account, tokens, "hold");
    if (result.outcome != ledger::ReserveOutcome::Held) fail("a fresh hold key was not held");
}

// Captures all or part of a direct hold, voids it, over-captures it, or
// settles it again after it ended.
inline void Sim::step_direct_settle() {
    std::vector<const ledger::Hold*> direct;
    for (const auto& [key, hold] : observed_.holds) {
        if (model_.direct_holds.count(key) != 0) direct.push_back(&hold);
    }
    if (direct.empty()) return step_advance();
    const ledger::Hold hold = *direct[below(direct.size())];
    const std::uint64_t roll = below(100);
    const bool void_it = roll >= 65 && roll < 92;
    std::optional<core::Tokens> charge;
    if (roll >= 35 && roll < 65)
        charge = core::Tokens(
            1 + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hold.tokens.value))));
    if (roll >= 92) charge = hold.tokens + core::Tokens(1);
    const std::uint64_t injected = faults_.injected();
    ledger::SettleOutcome outcome{};
    core::Status s = atomically([&]() -> core::Status {
        auto r = void_it ? gw_->ledger().void_hold(hold.key, "released")
                         : gw_->ledger().capture(hold.key, charge);
        if (!r.ok()) return r.error();
        outcome = *r;
        return {};
    });
    static constexpr const char* kOutcomes[] = {"settled", "already settled", "conflict",
                                                "unknown"};
    note(std::string(void_it ? "void" : "capture ") +
         (void_it  ? ""
          : charge ? std::to_string(charge->value)
                   : "all") +
         " of direct hold " + hold.key + " (" + std::to_string(hold.tokens.value) + ", " +
         (hold.state == ledger::HoldState::Open ? "open" : "ended") +
         "): " + (s.ok() ? kOutcomes[static_cast<int>(outcome)] : "error " + s.error().code) +
         fault_note(injected));
    if (faulted_since(injected)) return;
    const core::Tokens amount = charge.value_or(hold.tokens);
    if (!void_it && amount > hold.tokens) {
        if (s.ok() || s.error().code != "capture_exceeds_hold")
            fail("an over-capture was not refused");
        return;
    }
    using Outcome = ledger::SettleOutcome;
    Outcome expected = Outcome::Settled;
    if (hold.state == ledger::HoldState::Captured)
        expected =
            !void_it && hold.captured == amount ? Outcome::AlreadySettled : Outcome::Conflict;
    if (hold.state == ledger::HoldState::Voided)
        expected = void_it ? Outcome::AlreadySettled : Outcome::Conflict;
    if (!s.ok() || outcome != expected) fail("settling a direct hold answered unexpectedly");
}

}  // namespace tollgate::sim
