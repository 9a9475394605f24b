// Subscriptions: which accounts are on which plans, stored for renewal.
//
// One row per (account, plan), kept after cancellation so that the history of
// an account stays readable; re-subscribing re-activates the row with a new
// subscribed_ms. The ledger only stores them: the renewal sweep (elsewhere)
// pages through active_subscriptions() and calls add_grant() with a key per
// period, which makes a repeated sweep harmless.
#include "core/assert.h"
#include "ledger/rules.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {
namespace {

constexpr const char* kColumns = "account_id, plan, subscribed_ms, cancelled_ms";

Subscription read_subscription(const store::Statement& st) {
    Subscription sub{st.column_text(0), st.column_text(1), st.column_int64(2), std::nullopt};
    if (!st.column_is_null(3)) sub.cancelled_ms = st.column_int64(3);
    return sub;
}

}  // namespace

core::Result<Subscription> SqliteLedger::subscribe(const std::string& account_id,
                                                   const std::string& plan) {
    if (core::Status valid = check_plan(plan); !valid.ok()) return valid.error();
    std::optional<Subscription> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        if (!read_balance(account_id).has_value())
            return core::make_error("unknown_account", "no such account");
        std::int64_t now_ms = clock_.now_ms();
        // Insert, or re-activate a cancelled row; an active row is untouched.
        store::Statement(db_,
                         "INSERT INTO subscriptions(account_id, plan, subscribed_ms) "
                         "VALUES (?1, ?2, ?3) ON CONFLICT (account_id, plan) DO UPDATE SET "
                         "subscribed_ms = excluded.subscribed_ms, cancelled_ms = NULL "
                         "WHERE cancelled_ms IS NOT NULL")
            .bind(1, account_id)
            .bind(2, plan)
            .bind(3, now_ms)
            .run();
        store::Statement st(db_, std::string("SELECT ") + kColumns +
                                     " FROM subscriptions WHERE account_id = ?1 AND plan = ?2");
        TOLLGATE_ASSERT(st.bind(1, account_id).bind(2, plan).step());
        out = read_subscription(st);
        TOLLGATE_ASSERT(!out->cancelled_ms.has_value());
        return {};
    });
    if (!s.ok()) return s.error();
    return *out;
}

core::Result<bool> SqliteLedger::unsubscribe(const std::string& account_id,
                                             const std::string& plan) {
    bool cancelled = false;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement(db_,
                         "UPDATE subscriptions SET cancelled_ms = ?1 WHERE account_id = ?2 AND "
                         "plan = ?3 AND cancelled_ms IS NULL")
            .bind(1, clock_.now_ms())
            .bind(2, account_id)
            .bind(3, plan)
            .run();
        cancelled = sqlite3_changes(db_.handle()) == 1;
        return {};
    });
    if (!s.ok()) return s.error();
    return cancelled;
}

core::Result<std::vector<Subscription>> SqliteLedger::subscriptions(const std::string& account_id) {
    std::vector<Subscription> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, std::string("SELECT ") + kColumns +
                                     " FROM subscriptions WHERE account_id = ?1 ORDER BY plan");
        st.bind(1, account_id);
        while (st.step()) out.push_back(read_subscription(st));
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::vector<Subscription>> SqliteLedger::active_subscriptions(
    const std::string& after_account_id, const std::string& after_plan) {
    std::vector<Subscription> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, std::string("SELECT ") + kColumns +
                                     " FROM subscriptions WHERE cancelled_ms IS NULL AND "
                                     "(account_id, plan) > (?1, ?2) ORDER BY account_id, plan "
                                     "LIMIT ?3");
        st.bind(1, after_account_id).bind(2, after_plan).bind(3, kSubscriptionsPageMax);
        while (st.step()) out.push_back(read_subscription(st));
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

}  // namespace tollgate::ledger
