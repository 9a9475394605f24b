// Settling holds: capture (all or part of a hold) and void.
//
// Both end a hold through end_hold(), which charges `charge` tokens of it
// and returns the rest: a void is a capture of nothing. The charge takes the
// hold's slices in draw order (hold_allocations slice order, credit last),
// so a partial capture releases credit first and then the grants in reverse
// draw order; the grants charged are the ones drawn first, which expire
// earliest. The alternative, releasing pro rata, would leave a little of
// every grant charged and gives no rule for the rounding. Each slice records
// its captured part, so verify() can recompute each grant's used.
//
// A capture writes one capture entry of the amount charged; the released
// rest needs no entry of its own because it is implied (the hold entry's
// amount minus the capture entry's), verify() derives held from entries
// that way, and the capture entry's balance_after shows the release. A void
// entry beside the capture was rejected: a hold must have exactly one
// outcome, in the entries too.
#include <algorithm>
#include <string>

#include "core/assert.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {

void SqliteLedger::end_hold(const Hold& hold, core::Tokens charge, const std::string& reason,
                            std::int64_t now_ms) {
    TOLLGATE_ASSERT(hold.state == HoldState::Open && hold.captured.value == 0);
    TOLLGATE_ASSERT(charge.value >= 0 && charge <= hold.tokens);
    bool captured = charge.value > 0;
    std::vector<Allocation> allocations = read_allocations(hold.key, hold.tokens, core::Tokens(0));
    core::Tokens left = charge;
    std::vector<std::int64_t> released_to;
    for (Allocation& a : allocations) {
        core::Tokens take = std::min(a.tokens, left);
        core::Tokens released = a.tokens - take;
        left -= take;
        if (take.value > 0) {
            store::Statement(db_,
                             "UPDATE hold_allocations SET captured = ?1 "
                             "WHERE hold_key = ?2 AND slice = ?3")
                .bind(1, take.value)
                .bind(2, hold.key)
                .bind(3, a.slice)
                .run();
        }
        if (!a.grant_id.has_value()) continue;  // credit: only the balance moves
        store::Statement(db_,
                         "UPDATE grants SET held = held - ?1, used = used + ?2, "
                         "remaining = remaining + ?3 WHERE id = ?4")
            .bind(1, a.tokens.value)
            .bind(2, take.value)
            .bind(3, released.value)
            .bind(4, *a.grant_id)
            .run();
        if (released.value > 0) released_to.push_back(*a.grant_id);
    }
    TOLLGATE_ASSERT(left.value == 0);
    store::Statement(db_,
                     "UPDATE balances SET held = held - ?1, captured = captured + ?2 "
                     "WHERE account_id = ?3")
        .bind(1, hold.tokens.value)
        .bind(2, charge.value)
        .bind(3, hold.account_id)
        .run();
    store::Statement(db_,
                     "UPDATE holds SET state = ?1, captured = ?2, settled_ms = ?3 "
                     "WHERE key = ?4 AND state = 'open'")
        .bind(1, captured ? "captured" : "voided")
        .bind(2, charge.value)
        .bind(3, now_ms)
        .bind(4, hold.key)
        .run();
    TOLLGATE_ASSERT(sqlite3_changes(db_.handle()) == 1);  // exactly one outcome per hold
    add_entry(hold.account_id, captured ? "capture" : "void", captured ? charge : hold.tokens,
              hold.key, reason, std::nullopt, now_ms);
    // Tokens returned to a grant that expired while they were held expire
    // now (or roll over, if the grant still may).
    for (std::int64_t grant_id : released_to) expire_grant(grant_id, now_ms, hold.key);
    for (const Allocation& a : allocations) {
        if (a.grant_id.has_value()) check_grant_row(*a.grant_id);
    }
    // Read the hold back: ended once, with its slices charged in draw order.
    std::optional<Hold> after = read_hold(hold.key);
    TOLLGATE_ASSERT(after.has_value() && after->captured == charge);
    TOLLGATE_ASSERT(after->state == (captured ? HoldState::Captured : HoldState::Voided));
    read_allocations(hold.key, hold.tokens, charge);
}

core::Result<SettleOutcome> SqliteLedger::capture(const std::string& key,
                                                  std::optional<core::Tokens> tokens) {
    if (tokens.has_value() && tokens->value <= 0)
        return core::make_error("invalid_tokens", "a capture charges at least one token");
    SettleOutcome outcome = SettleOutcome::UnknownHold;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        std::optional<Hold> hold = read_hold(key);
        if (!hold.has_value()) return {};
        core::Tokens charge = tokens.value_or(hold->tokens);
        if (charge > hold->tokens) {
            return core::make_error("capture_exceeds_hold", "capture of " +
                                                                std::to_string(charge.value) +
                                                                " tokens exceeds the hold of " +
                                                                std::to_string(hold->tokens.value));
        }
        if (hold->state == HoldState::Captured) {
            outcome =
                hold->captured == charge ? SettleOutcome::AlreadySettled : SettleOutcome::Conflict;
            return {};
        }
        if (hold->state == HoldState::Voided) {
            outcome = SettleOutcome::Conflict;
            return {};
        }
        std::string reason;
        if (charge < hold->tokens)
            reason = "released " + std::to_string((hold->tokens - charge).value);
        end_hold(*hold, charge, reason, clock_.now_ms());
        outcome = SettleOutcome::Settled;
        return {};
    });
    if (!s.ok()) return s.error();
    return outcome;
}

core::Result<SettleOutcome> SqliteLedger::void_hold(const std::string& key,
                                                    const std::string& reason) {
    SettleOutcome outcome = SettleOutcome::UnknownHold;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        std::optional<Hold> hold = read_hold(key);
        if (!hold.has_value()) return {};
        if (hold->state != HoldState::Open) {
            outcome = hold->state == HoldState::Voided ? SettleOutcome::AlreadySettled
                                                       : SettleOutcome::Conflict;
            return {};
        }
        end_hold(*hold, core::Tokens(0), reason, clock_.now_ms());
        outcome = SettleOutcome::Settled;
        return {};
    });
    if (!s.ok()) return s.error();
    return outcome;
}

}  // namespace tollgate::ledger
