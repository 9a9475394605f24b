// Adjustments and refunds: money an operator adds, removes or gives back.
//
// Both keep conservation exact without new kinds of books. Money added (a
// positive adjustment, a refund) is a new never-expiring grant, so it counts
// in `granted` and is drawn like any other grant; its one entry (kind
// "adjustment" or "refund") is the grant's creating entry. Money removed (a
// negative adjustment) is debited from the account's active grants in draw
// order: each grant's `debited` grows, the split goes to the debits table,
// and the balance's `debited` grows, so that granted = available + held +
// captured + expired + debited still holds. Its one entry carries the
// negative amount. A refund does not lower `captured`: the capture happened,
// and the refund is a later movement of its own, bounded by the hold's
// capture through holds.refunded.
//
// Rejected: a negative adjustment drawing on credit. An adjustment is a
// correction, not a purchase, and letting it create debt would make the
// credit outstanding depend on who corrected what.
#include <algorithm>

#include "core/assert.h"
#include "core/limits.h"
#include "ledger/rules.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {

std::optional<std::int64_t> SqliteLedger::debit(const std::string& account_id, core::Tokens tokens,
                                                const std::string& reason, std::int64_t now_ms) {
    TOLLGATE_ASSERT(tokens.value > 0);
    std::optional<StoredBalance> before = read_balance(account_id);
    TOLLGATE_ASSERT(before.has_value());
    if (before->balance.available() < tokens) return std::nullopt;
    Draw draw = plan_draw(account_id, tokens, now_ms);
    if (draw.from_grants != tokens) return std::nullopt;  // grants not yet active
    for (const Allocation& a : draw.allocations) {
        TOLLGATE_ASSERT(a.grant_id.has_value() && a.tokens.value > 0);
        store::Statement(db_,
                         "UPDATE grants SET remaining = remaining - ?1, debited = debited + ?1 "
                         "WHERE id = ?2")
            .bind(1, a.tokens.value)
            .bind(2, *a.grant_id)
            .run();
        check_grant_row(*a.grant_id);
    }
    store::Statement(db_, "UPDATE balances SET debited = debited + ?1 WHERE account_id = ?2")
        .bind(1, tokens.value)
        .bind(2, account_id)
        .run();
    std::int64_t entry_id = add_entry(account_id, "adjustment", core::Tokens(-tokens.value), "",
                                      reason, std::nullopt, now_ms);
    for (const Allocation& a : draw.allocations) {
        store::Statement(db_, "INSERT INTO debits(entry_id, grant_id, tokens) VALUES (?1, ?2, ?3)")
            .bind(1, entry_id)
            .bind(2, *a.grant_id)
            .bind(3, a.tokens.value)
            .run();
    }
    std::optional<StoredBalance> after = read_balance(account_id);
    TOLLGATE_ASSERT(after.has_value() && after->balance.available().value >= 0);
    TOLLGATE_ASSERT(after->balance.available() == before->balance.available() - tokens);
    return entry_id;
}

core::Result<std::int64_t> SqliteLedger::adjust(const std::string& account_id, std::int64_t tokens,
                                                const std::string& reason, const std::string& key) {
    if (core::Status valid = check_adjustment(tokens, reason, key); !valid.ok())
        return valid.error();
    std::int64_t entry_id = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        std::int64_t now_ms = clock_.now_ms();
        if (!read_balance(account_id).has_value())
            return core::make_error("unknown_account", "no such account");
        if (!key.empty()) {
            store::Statement seen(db_,
                                  "SELECT e.id, e.tokens FROM adjustment_keys k JOIN entries e "
                                  "ON e.id = k.entry_id WHERE k.account_id = ?1 AND k.key = ?2");
            if (seen.bind(1, account_id).bind(2, key).step()) {
                if (seen.column_int64(1) != tokens) {
                    return core::make_error("adjustment_key_conflict",
                                            "adjustment key '" + key + "' was used with " +
                                                std::to_string(seen.column_int64(1)) + " tokens");
                }
                entry_id = seen.column_int64(0);
                return {};
            }
        }
        expire_account(account_id, now_ms);
        if (tokens > 0) {
            GrantSpec spec;
            spec.account_id = account_id;
            spec.tokens = core::Tokens(tokens);
            spec.reason = reason;
            auto added = insert_grant(spec, now_ms, GrantSource::Adjustment);
            if (!added.ok()) return added.error();
            TOLLGATE_ASSERT(added->result.created);  // no grant key, so always new
            entry_id = added->entry_id;
        } else {
            std::optional<std::int64_t> debited =
                debit(account_id, core::Tokens(-tokens), reason, now_ms);
            if (!debited.has_value()) {
                return core::make_error(
                    "insufficient_balance",
                    "the account's available balance is below " + std::to_string(-tokens));
            }
            entry_id = *debited;
        }
        if (!key.empty()) {
            store::Statement(db_,
                             "INSERT INTO adjustment_keys(account_id, key, entry_id) "
                             "VALUES (?1, ?2, ?3)")
                .bind(1, account_id)
                .bind(2, key)
                .bind(3, entry_id)
                .run();
        }
        return {};
    });
    if (!s.ok()) return s.error();
    TOLLGATE_ASSERT(entry_id > 0);
    return entry_id;
}

core::Result<std::int64_t> SqliteLedger::refund(const std::string& hold_key, core::Tokens tokens,
                                                const std::string& reason) {
    if (core::Status valid = check_refund(tokens, reason); !valid.ok()) return valid.error();
    std::int64_t entry_id = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        std::int64_t now_ms = clock_.now_ms();
        std::optional<Hold> hold = read_hold(hold_key);
        if (!hold.has_value()) return core::make_error("unknown_hold", "no such hold");
        if (hold->state != HoldState::Captured)
            return core::make_error("hold_not_captured", "only a captured hold can be refunded");
        if (hold->refunded + tokens > hold->captured) {
            return core::make_error(
                "refund_exceeds_capture",
                "refunds of " + std::to_string((hold->refunded + tokens).value) +
                    " tokens would exceed the capture of " + std::to_string(hold->captured.value));
        }
        expire_account(hold->account_id, now_ms);
        GrantSpec spec;
        spec.account_id = hold->account_id;
        spec.tokens = tokens;
        spec.reason = reason;
        auto added = insert_grant(spec, now_ms, GrantSource::Refund, hold_key);
        if (!added.ok()) return added.error();
        TOLLGATE_ASSERT(added->result.created);
        entry_id = added->entry_id;
        store::Statement(db_,
                         "UPDATE holds SET refunded = refunded + ?1 WHERE key = ?2 AND "
                         "state = 'captured'")
            .bind(1, tokens.value)
            .bind(2, hold_key)
            .run();
        TOLLGATE_ASSERT(sqlite3_changes(db_.handle()) == 1);
        std::optional<Hold> after = read_hold(hold_key);
        TOLLGATE_ASSERT(after.has_value() && after->refunded == hold->refunded + tokens);
        return {};
    });
    if (!s.ok()) return s.error();
    TOLLGATE_ASSERT(entry_id > 0);
    return entry_id;
}

}  // namespace tollgate::ledger
