// verify(), entry by entry: the running balance_after sequence and the
// debits of negative adjustments.
//
// Each entry's movement of the available balance follows from the entry
// alone (plus, for a capture, the hold it settles): grants, refunds, voids
// and adjustments add their tokens (a negative adjustment's are negative),
// holds and expiries subtract theirs, a capture gives back the part of its
// hold it did not charge, and a rollover moves nothing. So balance_after must
// equal the previous entry's balance_after (0 before an account's first
// entry) plus that movement. A tampered balance_after breaks the equation at
// its own entry and at the next one; a tampered amount breaks it at its own.
// The account's last balance_after is compared with the cached available in
// sqlite_verify.cc, which closes the chain.
//
// The report lists at most kRunningMismatchesMax broken links: one bad entry
// early in a long history should not flood the report.
#include "core/assert.h"
#include "ledger/sqlite/sqlite_verify.h"

namespace tollgate::ledger {
namespace {

constexpr std::int64_t kRunningMismatchesMax = 1'000;

constexpr const char* kRunningSql = R"sql(
WITH d AS (
  SELECT e.id, e.account_id, e.kind, e.balance_after,
    LAG(e.balance_after, 1, 0) OVER (PARTITION BY e.account_id ORDER BY e.id) AS before,
    CASE e.kind
      WHEN 'grant' THEN e.tokens WHEN 'refund' THEN e.tokens WHEN 'adjustment' THEN e.tokens
      WHEN 'void' THEN e.tokens WHEN 'hold' THEN -e.tokens WHEN 'expiry' THEN -e.tokens
      WHEN 'capture' THEN COALESCE(h.tokens, e.tokens) - e.tokens
      ELSE 0 END AS movement
  FROM entries e LEFT JOIN holds h ON e.kind = 'capture' AND h.key = e.hold_key)
SELECT id, account_id, kind, balance_after, before + movement FROM d
WHERE balance_after != before + movement ORDER BY id LIMIT ?1)sql";

// Negative adjustments whose debits do not add up to them, and debits that
// belong to no negative adjustment of their grant's account.
constexpr const char* kAdjustmentsSql = R"sql(
SELECT e.id, e.account_id, -e.tokens, COALESCE(sum(d.tokens), 0)
FROM entries e LEFT JOIN debits d ON d.entry_id = e.id
WHERE e.kind = 'adjustment' AND e.tokens < 0
GROUP BY e.id HAVING -e.tokens != COALESCE(sum(d.tokens), 0)
ORDER BY e.id)sql";

constexpr const char* kStrayDebitsSql = R"sql(
SELECT d.entry_id, g.account_id, d.grant_id
FROM debits d JOIN grants g ON g.id = d.grant_id LEFT JOIN entries e ON e.id = d.entry_id
WHERE e.id IS NULL OR e.kind != 'adjustment' OR e.tokens >= 0 OR e.account_id != g.account_id
ORDER BY d.entry_id)sql";

}  // namespace

void verify_running_balances(store::Database& db, std::vector<Mismatch>& out) {
    store::Statement st(db, kRunningSql);
    st.bind(1, kRunningMismatchesMax);
    std::int64_t reported = 0;
    while (st.step()) {
        ++reported;
        std::string entry =
            "entry " + std::to_string(st.column_int64(0)) + " (" + st.column_text(2) + ") ";
        out.push_back({st.column_text(1),
                       entry + verify_figures("balance_after vs previous balance_after + movement",
                                              st.column_int64(3), st.column_int64(4))});
    }
    TOLLGATE_ASSERT(reported <= kRunningMismatchesMax);
}

void verify_debits(store::Database& db, std::vector<Mismatch>& out) {
    {
        store::Statement st(db, kAdjustmentsSql);
        while (st.step()) {
            std::string entry = "adjustment entry " + std::to_string(st.column_int64(0)) + " ";
            out.push_back({st.column_text(1),
                           entry + verify_figures("tokens removed vs debits", st.column_int64(2),
                                                  st.column_int64(3))});
        }
    }
    store::Statement st(db, kStrayDebitsSql);
    while (st.step()) {
        out.push_back({st.column_text(1), "debit of grant " + std::to_string(st.column_int64(2)) +
                                              " names entry " + std::to_string(st.column_int64(0)) +
                                              ", which is no negative adjustment of its account"});
    }
}

}  // namespace tollgate::ledger
