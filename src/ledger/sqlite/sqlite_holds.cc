// Holds: reserve, capture and void.
//
// reserve() splits a hold across the account's active grants in draw order
// and records the split in hold_allocations; a part no grant covers comes
// from credit (an allocation without a grant) when the terms allow it. The
// split is fixed when the hold is made, so capture and void touch exactly the
// grants the hold drew on: a capture moves each slice to its grant's used, a
// void returns it to the grant's remaining (and expires it at once if the
// grant expired meanwhile). Re-drawing at capture time was rejected: the
// grants could have expired or been spent by then, and the charge would no
// longer follow what was checked at admission.
//
// Credit. available = (remaining of all grants) - (credit drawn by open and
// captured holds). Credit is drawn only when no active grant has tokens left,
// so the outstanding credit grows only up to the limit in force at that
// reserve. balances.credit_limit stores max(limit, outstanding credit): an
// expiry lowers available but never below -outstanding credit, so the CHECK
// on balances holds through every later expiry, even after the account moved
// to stricter terms.
#include <algorithm>

#include "core/assert.h"
#include "core/limits.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {

std::vector<SqliteLedger::Allocation> SqliteLedger::read_allocations(const std::string& hold_key,
                                                                     core::Tokens tokens) {
    std::vector<Allocation> out;
    store::Statement st(db_,
                        "SELECT grant_id, tokens FROM hold_allocations WHERE hold_key = ?1 "
                        "ORDER BY rowid");
    st.bind(1, hold_key);
    core::Tokens sum;
    while (st.step()) {
        Allocation a;
        if (!st.column_is_null(0)) a.grant_id = st.column_int64(0);
        a.tokens = core::Tokens(st.column_int64(1));
        TOLLGATE_ASSERT(a.tokens.value > 0);
        sum += a.tokens;
        out.push_back(a);
    }
    TOLLGATE_ASSERT(sum == tokens);  // a hold is exactly the sum of its slices
    return out;
}

void SqliteLedger::write_hold(const std::string& account_id, const std::string& key,
                              core::Tokens tokens, const std::vector<Allocation>& allocations,
                              std::int64_t credit_limit, std::int64_t now_ms) {
    store::Statement(db_,
                     "INSERT INTO holds(key, account_id, tokens, state, created_ms) "
                     "VALUES (?1, ?2, ?3, 'open', ?4)")
        .bind(1, key)
        .bind(2, account_id)
        .bind(3, tokens.value)
        .bind(4, now_ms)
        .run();
    for (const Allocation& a : allocations) {
        store::Statement insert(db_,
                                "INSERT INTO hold_allocations(hold_key, grant_id, tokens) "
                                "VALUES (?1, ?2, ?3)");
        insert.bind(1, key).bind(3, a.tokens.value);
        if (!a.grant_id.has_value()) {
            insert.bind_null(2).run();
            continue;
        }
        insert.bind(2, *a.grant_id).run();
        store::Statement(db_,
                         "UPDATE grants SET remaining = remaining - ?1, held = held + ?1 "
                         "WHERE id = ?2")
            .bind(1, a.tokens.value)
            .bind(2, *a.grant_id)
            .run();
        check_grant_row(*a.grant_id);
    }
    store::Statement(db_,
                     "UPDATE balances SET held = held + ?1, credit_limit = ?2 "
                     "WHERE account_id = ?3")
        .bind(1, tokens.value)
        .bind(2, credit_limit)
        .bind(3, account_id)
        .run();
}

core::Result<ReserveResult> SqliteLedger::reserve(const std::string& account_id,
                                                  core::Tokens tokens, const std::string& key,
                                                  const ReserveTerms& terms) {
    TOLLGATE_ASSERT(tokens.value > 0);
    TOLLGATE_ASSERT(!key.empty());
    if (terms.credit_limit_tokens < 0 || terms.credit_limit_tokens > kUnlimitedCreditTokens)
        return core::make_error("invalid_terms", "credit limit must be between 0 and 10^15");
    std::int64_t limit = terms.unlimited ? kUnlimitedCreditTokens : terms.credit_limit_tokens;
    ReserveResult result{ReserveOutcome::UnknownAccount, core::Tokens(0)};
    core::Status s = store::transact(db_, [&]() -> core::Status {
        std::int64_t now_ms = clock_.now_ms();
        if (!read_balance(account_id).has_value()) return {};
        expire_account(account_id, now_ms);
        std::optional<StoredBalance> before = read_balance(account_id);
        TOLLGATE_ASSERT(before.has_value());
        core::Tokens available = before->balance.available();
        result.available = available;

        store::Statement existing(db_, "SELECT account_id, tokens FROM holds WHERE key = ?1");
        if (existing.bind(1, key).step()) {
            bool same =
                existing.column_text(0) == account_id && existing.column_int64(1) == tokens.value;
            result.outcome =
                same ? ReserveOutcome::AlreadyHeld : ReserveOutcome::KeyReusedWithDifferentRequest;
            return {};
        }

        Draw draw = plan_draw(account_id, tokens, now_ms);
        core::Tokens credit = tokens - draw.from_grants;
        core::Tokens after = available - tokens;
        if ((credit.value > 0 && limit == 0) || after.value < -limit) {
            result.outcome = ReserveOutcome::InsufficientBalance;
            return {};
        }
        std::int64_t credit_outstanding =
            std::max<std::int64_t>(0, (draw.unspent - available).value) + credit.value;
        std::int64_t stored_limit = std::max(limit, credit_outstanding);

        if (credit.value > 0) draw.allocations.push_back(Allocation{std::nullopt, credit});
        write_hold(account_id, key, tokens, draw.allocations, stored_limit, now_ms);
        add_entry(account_id, "hold", tokens, key,
                  terms.memo.substr(0, static_cast<std::size_t>(core::limits::kReasonBytesMax)),
                  std::nullopt, now_ms);
        // Read the hold back: its slices add up, and the balance moved by it.
        read_allocations(key, tokens);
        std::optional<StoredBalance> now_balance = read_balance(account_id);
        TOLLGATE_ASSERT(now_balance.has_value() && now_balance->balance.available() == after);
        result.outcome = ReserveOutcome::Held;
        result.available = after;
        return {};
    });
    if (!s.ok()) return s.error();
    return result;
}

core::Result<SettleOutcome> SqliteLedger::settle(const std::string& key, HoldState to,
                                                 const std::string& reason) {
    TOLLGATE_ASSERT(to != HoldState::Open);
    SettleOutcome outcome = SettleOutcome::UnknownHold;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        std::int64_t now_ms = clock_.now_ms();
        store::Statement hold(db_, "SELECT account_id, tokens, state FROM holds WHERE key = ?1");
        if (!hold.bind(1, key).step()) return {};
        std::string account_id = hold.column_text(0);
        core::Tokens tokens(hold.column_int64(1));
        HoldState state = parse_hold_state(hold.column_text(2));
        if (state != HoldState::Open) {
            outcome = state == to ? SettleOutcome::AlreadySettled : SettleOutcome::Conflict;
            return {};
        }
        bool captured = to == HoldState::Captured;
        std::vector<Allocation> allocations = read_allocations(key, tokens);
        for (const Allocation& a : allocations) {
            if (!a.grant_id.has_value()) continue;  // credit: only the balance moves
            store::Statement(db_, captured ? "UPDATE grants SET held = held - ?1, used = used + ?1 "
                                             "WHERE id = ?2"
                                           : "UPDATE grants SET held = held - ?1, "
                                             "remaining = remaining + ?1 WHERE id = ?2")
                .bind(1, a.tokens.value)
                .bind(2, *a.grant_id)
                .run();
        }
        store::Statement(db_, captured
                                  ? "UPDATE balances SET held = held - ?1, captured = captured + "
                                    "?1 WHERE account_id = ?2"
                                  : "UPDATE balances SET held = held - ?1 WHERE account_id = ?2")
            .bind(1, tokens.value)
            .bind(2, account_id)
            .run();
        store::Statement(db_,
                         "UPDATE holds SET state = ?1, settled_ms = ?2 WHERE key = ?3 AND "
                         "state = 'open'")
            .bind(1, captured ? "captured" : "voided")
            .bind(2, now_ms)
            .bind(3, key)
            .run();
        TOLLGATE_ASSERT(sqlite3_changes(db_.handle()) == 1);  // exactly one outcome per hold
        add_entry(account_id, captured ? "capture" : "void", tokens, key, reason, std::nullopt,
                  now_ms);
        for (const Allocation& a : allocations) {
            if (!a.grant_id.has_value()) continue;
            // Tokens returned to a grant that expired while they were held
            // expire now (or roll over, if the grant still may).
            if (!captured) expire_grant(*a.grant_id, now_ms, key);
            check_grant_row(*a.grant_id);
        }
        outcome = SettleOutcome::Settled;
        return {};
    });
    if (!s.ok()) return s.error();
    return outcome;
}

core::Result<SettleOutcome> SqliteLedger::capture(const std::string& key) {
    return settle(key, HoldState::Captured, "");
}

core::Result<SettleOutcome> SqliteLedger::void_hold(const std::string& key,
                                                    const std::string& reason) {
    return settle(key, HoldState::Voided, reason);
}

}  // namespace tollgate::ledger
