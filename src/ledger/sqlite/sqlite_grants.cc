// Grants and their expiry.
//
// A grant carries its own books (tokens = remaining + held + used + expired +
// debited) so that reserve() can draw a hold from specific grants and expiry
// can take exactly what is left of one grant. Expiry is lazy: every call that reads or
// spends an account's grants first processes that account's due grants at
// "now", in the same transaction, so a grant is never drawn at or after its
// expires_ms even if no sweeper ran. expire_due() is the sweeper's batch.
// The alternative, a sweeper alone, would let a late sweep leave expired
// tokens spendable; checking expiry on each draw without writing it would
// leave the cached balance wrong until the sweep.
//
// A due grant with an unused rollover allowance keeps min(remaining, max) of
// its tokens until rollover_expires_ms, once; the rest expires. Tokens that a
// void returns to an already-expired grant expire at once, by the same code.
#include <algorithm>

#include "core/assert.h"
#include "core/limits.h"
#include "ledger/rules.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {
namespace {

constexpr const char* kGrantColumns =
    "id, key, reason, tokens, remaining, used, expired, starts_ms, expires_ms, priority, held, "
    "debited, source";

// The draw order: higher priority first, then the earliest expiry,
// never-expiring last, then the oldest grant.
constexpr const char* kDrawOrder = "priority DESC, expires_ms IS NULL, expires_ms, id";

void bind_optional(store::Statement& st, int index, std::optional<std::int64_t> value) {
    if (value.has_value()) {
        st.bind(index, *value);
    } else {
        st.bind_null(index);
    }
}

GrantInfo read_grant_info(const store::Statement& st) {
    GrantInfo g;
    g.id = st.column_int64(0);
    g.key = st.column_text(1);
    g.reason = st.column_text(2);
    g.tokens = core::Tokens(st.column_int64(3));
    g.remaining = core::Tokens(st.column_int64(4));
    g.used = core::Tokens(st.column_int64(5));
    g.expired = core::Tokens(st.column_int64(6));
    g.starts_ms = st.column_int64(7);
    if (!st.column_is_null(8)) g.expires_ms = st.column_int64(8);
    g.priority = st.column_int64(9);
    g.held = core::Tokens(st.column_int64(10));
    g.debited = core::Tokens(st.column_int64(11));
    g.source = st.column_text(12);
    TOLLGATE_ASSERT(g.tokens == g.remaining + g.held + g.used + g.expired + g.debited);
    return g;
}

const char* source_name(GrantSource source) {
    switch (source) {
        case GrantSource::Grant:
            return "grant";
        case GrantSource::Adjustment:
            return "adjustment";
        case GrantSource::Refund:
            return "refund";
    }
    TOLLGATE_ASSERT(false);
    return "";
}

}  // namespace

core::Result<SqliteLedger::AddedGrant> SqliteLedger::insert_grant(const GrantSpec& spec,
                                                                  std::int64_t now_ms,
                                                                  GrantSource source,
                                                                  const std::string& hold_key) {
    TOLLGATE_ASSERT(hold_key.empty() || source == GrantSource::Refund);
    if (!read_balance(spec.account_id).has_value())
        return core::make_error("unknown_account", "no such account");
    if (!spec.key.empty()) {
        store::Statement seen(db_,
                              "SELECT id, tokens FROM grants WHERE account_id = ?1 AND key = ?2");
        if (seen.bind(1, spec.account_id).bind(2, spec.key).step()) {
            if (seen.column_int64(1) != spec.tokens.value && !spec.key_keeps_first_amount) {
                return core::make_error("grant_key_conflict",
                                        "grant key '" + spec.key + "' was used with " +
                                            std::to_string(seen.column_int64(1)) + " tokens");
            }
            return AddedGrant{GrantResult{seen.column_int64(0), false}, 0};
        }
    }
    const char* kind = source_name(source);
    store::Statement insert(db_,
                            "INSERT INTO grants(account_id, key, reason, tokens, remaining, "
                            "starts_ms, expires_ms, priority, rollover_max_tokens, "
                            "rollover_expires_ms, created_ms, source) "
                            "VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?5, ?10)");
    insert.bind(1, spec.account_id).bind(2, spec.key).bind(3, spec.reason);
    insert.bind(4, spec.tokens.value).bind(5, now_ms);
    bind_optional(insert, 6, spec.expires_ms);
    insert.bind(7, spec.priority).bind(8, spec.rollover_max.value);
    bind_optional(insert, 9, spec.rollover_expires_ms);
    insert.bind(10, kind).run();
    std::int64_t grant_id = sqlite3_last_insert_rowid(db_.handle());
    store::Statement(db_, "UPDATE balances SET granted = granted + ?1 WHERE account_id = ?2")
        .bind(1, spec.tokens.value)
        .bind(2, spec.account_id)
        .run();
    std::int64_t entry_id =
        add_entry(spec.account_id, kind, spec.tokens, hold_key, spec.reason, grant_id, now_ms);
    check_grant_row(grant_id);
    return AddedGrant{GrantResult{grant_id, true}, entry_id};
}

core::Result<GrantResult> SqliteLedger::add_grant(const GrantSpec& spec) {
    std::int64_t now_ms = clock_.now_ms();
    core::Status valid = check_grant(spec, now_ms);
    if (!valid.ok()) return valid.error();
    std::optional<AddedGrant> added;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        expire_account(spec.account_id, now_ms);
        auto r = insert_grant(spec, now_ms);
        if (!r.ok()) return r.error();
        added = *r;
        return {};
    });
    if (!s.ok()) return s.error();
    return added->result;
}

core::Result<std::int64_t> SqliteLedger::grant(const std::string& account_id, core::Tokens tokens,
                                               const std::string& reason) {
    GrantSpec spec;
    spec.account_id = account_id;
    spec.tokens = tokens;
    spec.reason = reason;
    std::int64_t now_ms = clock_.now_ms();
    core::Status valid = check_grant(spec, now_ms);
    if (!valid.ok()) return valid.error();
    std::int64_t entry_id = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        auto r = insert_grant(spec, now_ms);
        if (!r.ok()) return r.error();
        TOLLGATE_ASSERT(r->result.created);  // no key, so always a new grant
        entry_id = r->entry_id;
        return {};
    });
    if (!s.ok()) return s.error();
    return entry_id;
}

core::Result<std::vector<GrantInfo>> SqliteLedger::grants(const std::string& account_id) {
    std::vector<GrantInfo> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        if (!read_balance(account_id).has_value())
            return core::make_error("unknown_account", "no such account");
        expire_account(account_id, clock_.now_ms());
        store::Statement st(db_, std::string("SELECT ") + kGrantColumns +
                                     " FROM grants WHERE account_id = ?1 ORDER BY " + kDrawOrder +
                                     " LIMIT ?2");
        st.bind(1, account_id).bind(2, kGrantsListMax);
        while (st.step()) out.push_back(read_grant_info(st));
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

SqliteLedger::Draw SqliteLedger::plan_draw(const std::string& account_id, core::Tokens tokens,
                                           std::int64_t now_ms) {
    TOLLGATE_ASSERT(tokens.value > 0);
    Draw draw;
    store::Statement st(db_, std::string("SELECT id, remaining, starts_ms, expires_ms FROM grants "
                                         "WHERE account_id = ?1 AND remaining > 0 ORDER BY ") +
                                 kDrawOrder);
    st.bind(1, account_id);
    while (st.step()) {
        core::Tokens remaining(st.column_int64(1));
        draw.unspent += remaining;
        bool active =
            st.column_int64(2) <= now_ms && (st.column_is_null(3) || now_ms < st.column_int64(3));
        core::Tokens wanted = tokens - draw.from_grants;
        if (!active || wanted.value == 0) continue;
        core::Tokens take = std::min(remaining, wanted);
        draw.allocations.push_back(Allocation{st.column_int64(0), take, 0, core::Tokens(0)});
        draw.from_grants += take;
    }
    TOLLGATE_ASSERT(draw.from_grants <= tokens && draw.from_grants <= draw.unspent);
    return draw;
}

bool SqliteLedger::expire_grant(std::int64_t grant_id, std::int64_t now_ms,
                                const std::string& hold_key) {
    store::Statement st(db_,
                        "SELECT account_id, remaining, expires_ms, rollover_max_tokens, "
                        "rollover_expires_ms FROM grants WHERE id = ?1");
    TOLLGATE_ASSERT(st.bind(1, grant_id).step());
    std::string account_id = st.column_text(0);
    std::int64_t remaining = st.column_int64(1);
    if (remaining == 0 || st.column_is_null(2) || st.column_int64(2) > now_ms) return false;
    std::int64_t rollover_max = st.column_int64(3);
    std::optional<std::int64_t> rollover_expires_ms;
    if (!st.column_is_null(4)) rollover_expires_ms = st.column_int64(4);
    TOLLGATE_ASSERT(remaining > 0 && rollover_max >= 0);

    std::int64_t kept = 0;
    if (rollover_max > 0 && rollover_expires_ms.has_value())
        kept = std::min(remaining, rollover_max);
    std::int64_t lost = remaining - kept;
    TOLLGATE_ASSERT(kept >= 0 && lost >= 0 && kept + lost == remaining);
    if (kept > 0) {
        // The rollover is used up here, so a grant rolls over at most once.
        store::Statement(db_,
                         "UPDATE grants SET remaining = ?1, expired = expired + ?2, "
                         "expires_ms = rollover_expires_ms, rollover_max_tokens = 0, "
                         "rollover_expires_ms = NULL WHERE id = ?3")
            .bind(1, kept)
            .bind(2, lost)
            .bind(3, grant_id)
            .run();
        add_entry(account_id, "rollover", core::Tokens(kept), hold_key, "", grant_id, now_ms);
    } else {
        store::Statement(db_,
                         "UPDATE grants SET remaining = 0, expired = expired + ?1, "
                         "rollover_max_tokens = 0, rollover_expires_ms = NULL WHERE id = ?2")
            .bind(1, lost)
            .bind(2, grant_id)
            .run();
    }
    if (lost > 0) {
        store::Statement(db_, "UPDATE balances SET expired = expired + ?1 WHERE account_id = ?2")
            .bind(1, lost)
            .bind(2, account_id)
            .run();
        add_entry(account_id, "expiry", core::Tokens(lost), hold_key, "", grant_id, now_ms);
    }
    check_grant_row(grant_id);
    // Rolled over to a time that has also passed (a long-idle account): the
    // kept tokens are due too. The rollover is gone, so this recursion ends.
    if (kept > 0 && *rollover_expires_ms <= now_ms) expire_grant(grant_id, now_ms, hold_key);
    return true;
}

std::int64_t SqliteLedger::expire_account(const std::string& account_id, std::int64_t now_ms) {
    std::vector<std::int64_t> due;
    {
        store::Statement st(db_,
                            "SELECT id FROM grants WHERE account_id = ?1 AND remaining > 0 AND "
                            "expires_ms <= ?2 ORDER BY expires_ms, id");
        st.bind(1, account_id).bind(2, now_ms);
        while (st.step()) due.push_back(st.column_int64(0));
    }
    std::int64_t processed = 0;
    for (std::int64_t id : due) processed += expire_grant(id, now_ms, "") ? 1 : 0;
    return processed;
}

core::Result<std::int64_t> SqliteLedger::expire_due() {
    std::int64_t processed = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        std::int64_t now_ms = clock_.now_ms();
        std::vector<std::int64_t> due;
        {
            store::Statement st(db_,
                                "SELECT id FROM grants WHERE remaining > 0 AND expires_ms IS NOT "
                                "NULL AND expires_ms <= ?1 ORDER BY expires_ms, id LIMIT ?2");
            st.bind(1, now_ms).bind(2, kExpireBatchGrantsMax);
            while (st.step()) due.push_back(st.column_int64(0));
        }
        for (std::int64_t id : due) processed += expire_grant(id, now_ms, "") ? 1 : 0;
        return {};
    });
    if (!s.ok()) return s.error();
    return processed;
}

}  // namespace tollgate::ledger
