// Holds: reserve, and reading holds back.
//
// reserve() splits a hold across the account's active grants in draw order
// and records the split in hold_allocations; a part no grant covers comes
// from credit (an allocation without a grant) when the terms allow it. The
// split is fixed when the hold is made, so capture and void
// (sqlite_settle.cc) touch exactly the grants the hold drew on. Re-drawing at
// capture time was rejected: the grants could have expired or been spent by
// then, and the charge would no longer follow what was checked at admission.
//
// A hold may carry a TTL. The ledger only lists the holds whose TTL ran out
// (expired_open_holds); voiding them is left to their owner, which ends the
// job and its hold in one transaction. A ledger that voided them itself could
// void the hold of a job that is completing at that moment.
//
// Credit. available = (remaining of all grants) - (credit drawn by open
// holds and charged by captured ones). Credit is drawn only when no active
// grant has tokens left, so the outstanding credit grows only up to the limit
// in force at that reserve. balances.credit_limit stores max(limit,
// outstanding credit): an expiry lowers available but never below
// -outstanding credit, so the CHECK on balances holds through every later
// expiry, even after the account moved to stricter terms.
#include <algorithm>

#include "core/assert.h"
#include "core/limits.h"
#include "ledger/rules.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {

std::vector<SqliteLedger::Allocation> SqliteLedger::read_allocations(const std::string& hold_key,
                                                                     core::Tokens tokens,
                                                                     core::Tokens captured) {
    std::vector<Allocation> out;
    store::Statement st(db_,
                        "SELECT slice, grant_id, tokens, captured FROM hold_allocations "
                        "WHERE hold_key = ?1 ORDER BY slice");
    st.bind(1, hold_key);
    core::Tokens sum, captured_sum;
    bool charge_ended = false;  // a slice was charged less than all of it
    while (st.step()) {
        Allocation a;
        a.slice = st.column_int64(0);
        TOLLGATE_ASSERT(a.slice == static_cast<std::int64_t>(out.size()));  // 0, 1, ... in order
        if (!st.column_is_null(1)) a.grant_id = st.column_int64(1);
        a.tokens = core::Tokens(st.column_int64(2));
        a.captured = core::Tokens(st.column_int64(3));
        TOLLGATE_ASSERT(a.tokens.value > 0);
        TOLLGATE_ASSERT(a.captured.value >= 0 && a.captured <= a.tokens);
        // A capture charges the slices in draw order: after the first slice
        // charged less than in full, no slice is charged at all.
        TOLLGATE_ASSERT(!charge_ended || a.captured.value == 0);
        charge_ended = a.captured < a.tokens;
        sum += a.tokens;
        captured_sum += a.captured;
        out.push_back(a);
    }
    TOLLGATE_ASSERT(sum == tokens);  // a hold is exactly the sum of its slices
    TOLLGATE_ASSERT(captured_sum == captured);
    return out;
}

std::optional<Hold> SqliteLedger::read_hold(const std::string& key) {
    store::Statement st(db_,
                        "SELECT account_id, tokens, state, created_ms, expires_ms, captured, "
                        "refunded FROM holds WHERE key = ?1");
    if (!st.bind(1, key).step()) return std::nullopt;
    Hold h;
    h.key = key;
    h.account_id = st.column_text(0);
    h.tokens = core::Tokens(st.column_int64(1));
    h.state = parse_hold_state(st.column_text(2));
    h.created_ms = st.column_int64(3);
    if (!st.column_is_null(4)) h.expires_ms = st.column_int64(4);
    h.captured = core::Tokens(st.column_int64(5));
    h.refunded = core::Tokens(st.column_int64(6));
    TOLLGATE_ASSERT(h.tokens.value > 0);
    TOLLGATE_ASSERT(h.captured.value >= 0 && h.captured <= h.tokens);
    TOLLGATE_ASSERT((h.state == HoldState::Captured) == (h.captured.value > 0));
    TOLLGATE_ASSERT(h.refunded.value >= 0 && h.refunded <= h.captured);
    TOLLGATE_ASSERT(!h.expires_ms.has_value() || *h.expires_ms > h.created_ms);
    return h;
}

void SqliteLedger::write_hold(const std::string& account_id, const std::string& key,
                              core::Tokens tokens, const std::vector<Allocation>& allocations,
                              std::int64_t credit_limit, std::int64_t ttl_ms, std::int64_t now_ms) {
    TOLLGATE_ASSERT(ttl_ms >= 0 && ttl_ms <= kHoldTtlMsMax);
    store::Statement hold(db_,
                          "INSERT INTO holds(key, account_id, tokens, state, created_ms, "
                          "expires_ms) VALUES (?1, ?2, ?3, 'open', ?4, ?5)");
    hold.bind(1, key).bind(2, account_id).bind(3, tokens.value).bind(4, now_ms);
    if (ttl_ms > 0) {
        hold.bind(5, now_ms + ttl_ms);
    } else {
        hold.bind_null(5);
    }
    hold.run();
    std::int64_t slice = 0;
    for (const Allocation& a : allocations) {
        store::Statement insert(db_,
                                "INSERT INTO hold_allocations(hold_key, slice, grant_id, tokens) "
                                "VALUES (?1, ?4, ?2, ?3)");
        insert.bind(1, key).bind(3, a.tokens.value).bind(4, slice++);
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
    auto checked_limit = check_terms(terms);
    if (!checked_limit.ok()) return checked_limit.error();
    const std::int64_t limit = *checked_limit;
    ReserveResult result{ReserveOutcome::UnknownAccount, core::Tokens(0)};
    core::Status s = store::transact(db_, [&]() -> core::Status {
        std::int64_t now_ms = clock_.now_ms();
        expire_account(account_id, now_ms);  // a no-op for an unknown account
        std::optional<StoredBalance> before = read_balance(account_id);
        if (!before.has_value()) return {};
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

        // Refuse before planning the draw when the balance alone rules the
        // hold out: the common refusal then costs no scan of the grants.
        core::Tokens after = available - tokens;
        if (after.value < -limit) {
            result.outcome = ReserveOutcome::InsufficientBalance;
            return {};
        }
        Draw draw = plan_draw(account_id, tokens, now_ms);
        core::Tokens credit = tokens - draw.from_grants;
        if (credit.value > 0 && limit == 0) {
            result.outcome = ReserveOutcome::InsufficientBalance;
            return {};
        }
        std::int64_t credit_outstanding =
            std::max<std::int64_t>(0, (draw.unspent - available).value) + credit.value;
        std::int64_t stored_limit = std::max(limit, credit_outstanding);

        if (credit.value > 0)
            draw.allocations.push_back(Allocation{std::nullopt, credit, 0, core::Tokens(0)});
        write_hold(account_id, key, tokens, draw.allocations, stored_limit, terms.ttl_ms, now_ms);
        add_entry(account_id, "hold", tokens, key,
                  terms.memo.substr(0, static_cast<std::size_t>(core::limits::kReasonBytesMax)),
                  std::nullopt, now_ms);
        // Read the hold back: its slices add up, and the balance moved by it.
        read_allocations(key, tokens, core::Tokens(0));
        TOLLGATE_ASSERT(read_hold(key).has_value());
        std::optional<StoredBalance> now_balance = read_balance(account_id);
        TOLLGATE_ASSERT(now_balance.has_value() && now_balance->balance.available() == after);
        result.outcome = ReserveOutcome::Held;
        result.available = after;
        return {};
    });
    if (!s.ok()) return s.error();
    return result;
}

core::Result<std::optional<Hold>> SqliteLedger::find_hold(const std::string& key) {
    std::optional<Hold> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        out = read_hold(key);
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::optional<Ledger::OpenHolds>> SqliteLedger::open_holds() {
    OpenHolds out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        // Through the partial index of open holds with a TTL: as many rows as holds open.
        store::Statement st(db_,
                            "SELECT count(*), coalesce(sum(tokens), 0) FROM holds INDEXED BY "
                            "holds_expiring WHERE state = 'open' AND expires_ms IS NOT NULL");
        if (st.step()) {
            out.holds = st.column_int64(0);
            out.tokens = st.column_int64(1);
        }
        return {};
    });
    if (!s.ok()) return s.error();
    return std::optional<OpenHolds>(out);
}

core::Result<std::vector<Hold>> SqliteLedger::expired_open_holds(std::int64_t now_ms,
                                                                 std::size_t limit) {
    std::size_t page_max = std::min(limit, kExpiredHoldsPageMax);
    std::vector<Hold> out;
    if (page_max == 0) return out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        std::vector<std::string> keys;
        {
            // The conditions of the partial index holds_expiring, so it serves.
            store::Statement st(db_,
                                "SELECT key FROM holds WHERE state = 'open' AND expires_ms IS "
                                "NOT NULL AND expires_ms <= ?1 "
                                "ORDER BY expires_ms, created_ms, key LIMIT ?2");
            st.bind(1, now_ms).bind(2, static_cast<std::int64_t>(page_max));
            while (st.step()) keys.push_back(st.column_text(0));
        }
        for (const std::string& key : keys) {
            std::optional<Hold> hold = read_hold(key);
            TOLLGATE_ASSERT(hold.has_value() && hold->state == HoldState::Open);
            TOLLGATE_ASSERT(hold->expires_ms.has_value() && *hold->expires_ms <= now_ms);
            out.push_back(std::move(*hold));
        }
        return {};
    });
    if (!s.ok()) return s.error();
    TOLLGATE_ASSERT(out.size() <= page_max);
    return out;
}

}  // namespace tollgate::ledger
