// verify(): recompute the books three ways and report every disagreement.
//
// The cached figures (balances, each grant's remaining/held/used/expired/
// debited, each hold's captured/refunded) are what reserve() trusts, so each
// is recomputed from the records nothing overwrites: entries (append-only),
// holds, hold_allocations and debits. Per account: granted, held, captured,
// expired and debited against the entries, the holds and the grants,
// available against (remaining of its grants - credit drawn by its open
// holds and the captured part of its captured ones), against -credit_limit,
// and against its last entry's balance_after. Per grant: tokens = remaining +
// allocated to open holds + used + expired + debited, and each figure against
// its allocations, debits or entries. Per hold: its slices add up to it and
// their captured parts to its capture, it has one hold entry and at most one
// settlement entry, and its refunds match its refund entries. The entries'
// running balances and the debits are checked in sqlite_verify_entries.cc.
//
// Held is derived from the entries as the hold entries that no capture or
// void entry settles, because a partial capture releases the rest of its
// hold without an entry of its own (see sqlite_settle.cc).
//
// Each view is one grouped query rather than a query per account, so a
// verify is a few scans whatever the number of accounts.
#include "ledger/sqlite/sqlite_verify.h"

#include "core/assert.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {
namespace {

constexpr const char* kAccountsSql = R"sql(
WITH e AS (
  SELECT account_id,
    sum(CASE WHEN kind IN ('grant', 'refund') OR (kind = 'adjustment' AND tokens > 0)
             THEN tokens ELSE 0 END) AS granted,
    sum(CASE WHEN kind = 'hold' AND NOT EXISTS (
               SELECT 1 FROM entries s WHERE s.hold_key = entries.hold_key
                 AND s.hold_key != '' AND s.kind IN ('capture', 'void'))
             THEN tokens ELSE 0 END) AS held,
    sum(CASE kind WHEN 'capture' THEN tokens ELSE 0 END) AS captured,
    sum(CASE kind WHEN 'expiry' THEN tokens ELSE 0 END) AS expired,
    sum(CASE WHEN kind = 'adjustment' AND tokens < 0 THEN -tokens ELSE 0 END) AS debited
  FROM entries GROUP BY account_id),
h AS (
  SELECT account_id,
    sum(CASE state WHEN 'open' THEN tokens ELSE 0 END) AS open,
    sum(captured) AS captured
  FROM holds GROUP BY account_id),
g AS (
  SELECT account_id, sum(tokens) AS tokens, sum(expired) AS expired,
    sum(remaining) AS remaining, sum(debited) AS debited
  FROM grants GROUP BY account_id),
c AS (
  SELECT h.account_id,
    sum(CASE h.state WHEN 'open' THEN a.tokens WHEN 'captured' THEN a.captured ELSE 0 END)
      AS credit
  FROM hold_allocations a JOIN holds h ON h.key = a.hold_key
  WHERE a.grant_id IS NULL GROUP BY h.account_id),
l AS (
  SELECT account_id, balance_after FROM entries
  WHERE id IN (SELECT max(id) FROM entries GROUP BY account_id))
SELECT b.account_id, b.granted, b.held, b.captured, b.expired, b.debited, b.credit_limit,
  COALESCE(e.granted, 0), COALESCE(e.held, 0), COALESCE(e.captured, 0), COALESCE(e.expired, 0),
  COALESCE(e.debited, 0), COALESCE(h.open, 0), COALESCE(h.captured, 0),
  COALESCE(g.tokens, 0), COALESCE(g.expired, 0), COALESCE(g.remaining, 0),
  COALESCE(g.debited, 0), COALESCE(c.credit, 0), COALESCE(l.balance_after, 0)
FROM balances b LEFT JOIN e USING (account_id) LEFT JOIN h USING (account_id)
  LEFT JOIN g USING (account_id) LEFT JOIN c USING (account_id) LEFT JOIN l USING (account_id)
ORDER BY b.account_id)sql";

// A grant's creating entry is the one of its own kind (grant, adjustment or
// refund) that names it.
constexpr const char* kGrantsSql = R"sql(
WITH a AS (
  SELECT a.grant_id,
    sum(CASE h.state WHEN 'open' THEN a.tokens ELSE 0 END) AS open,
    sum(a.captured) AS captured
  FROM hold_allocations a JOIN holds h ON h.key = a.hold_key
  WHERE a.grant_id IS NOT NULL GROUP BY a.grant_id),
e AS (
  SELECT en.grant_id,
    sum(CASE WHEN en.kind = g.source THEN en.tokens ELSE 0 END) AS granted,
    sum(CASE en.kind WHEN 'expiry' THEN en.tokens ELSE 0 END) AS expired
  FROM entries en JOIN grants g ON g.id = en.grant_id GROUP BY en.grant_id),
d AS (SELECT grant_id, sum(tokens) AS debited FROM debits GROUP BY grant_id)
SELECT g.id, g.account_id, g.tokens, g.remaining, g.held, g.used, g.expired, g.debited,
  COALESCE(a.open, 0), COALESCE(a.captured, 0), COALESCE(e.granted, 0), COALESCE(e.expired, 0),
  COALESCE(d.debited, 0)
FROM grants g LEFT JOIN a ON a.grant_id = g.id LEFT JOIN e ON e.grant_id = g.id
  LEFT JOIN d ON d.grant_id = g.id
ORDER BY g.id)sql";

constexpr const char* kHoldsSql = R"sql(
WITH e AS (
  SELECT hold_key,
    sum(kind = 'hold') AS holds,
    sum(kind IN ('capture', 'void')) AS settlements,
    sum(CASE kind WHEN 'hold' THEN tokens ELSE 0 END) AS held,
    sum(CASE kind WHEN 'capture' THEN tokens ELSE 0 END) AS captured,
    sum(CASE kind WHEN 'refund' THEN tokens ELSE 0 END) AS refunded
  FROM entries WHERE hold_key != '' GROUP BY hold_key),
a AS (
  SELECT hold_key, sum(tokens) AS tokens, sum(captured) AS captured
  FROM hold_allocations GROUP BY hold_key)
SELECT h.key, h.account_id, h.state, h.tokens, h.captured, h.refunded,
  COALESCE(e.holds, 0), COALESCE(e.settlements, 0), COALESCE(a.tokens, 0),
  COALESCE(a.captured, 0), COALESCE(e.held, 0), COALESCE(e.captured, 0),
  COALESCE(e.refunded, 0)
FROM holds h LEFT JOIN e ON e.hold_key = h.key LEFT JOIN a ON a.hold_key = h.key
ORDER BY h.key)sql";

}  // namespace

std::string verify_figures(const char* what, std::int64_t cached, std::int64_t derived) {
    return std::string(what) + ": cached " + std::to_string(cached) + ", from records " +
           std::to_string(derived);
}

namespace {

std::int64_t verify_accounts(store::Database& db, std::vector<Mismatch>& out) {
    std::int64_t checked = 0;
    store::Statement st(db, kAccountsSql);
    while (st.step()) {
        ++checked;
        std::string id = st.column_text(0);
        auto report = [&](const char* what, std::int64_t cached, std::int64_t derived) {
            if (cached != derived) out.push_back({id, verify_figures(what, cached, derived)});
        };
        auto compare = [&](const char* what, int cached, int derived) {
            report(what, st.column_int64(cached), st.column_int64(derived));
        };
        compare("granted vs grant entries", 1, 7);
        compare("granted vs grants", 1, 14);
        compare("held vs unsettled hold entries", 2, 8);
        compare("held vs open holds", 2, 12);
        compare("captured vs capture entries", 3, 9);
        compare("captured vs captured holds", 3, 13);
        compare("expired vs expiry entries", 4, 10);
        compare("expired vs grants' expired", 4, 15);
        compare("debited vs adjustment entries", 5, 11);
        compare("debited vs grants' debited", 5, 17);
        std::int64_t available = st.column_int64(1) - st.column_int64(4) - st.column_int64(2) -
                                 st.column_int64(3) - st.column_int64(5);
        report("available vs grants' remaining - credit drawn", available,
               st.column_int64(16) - st.column_int64(18));
        report("available vs last entry's balance_after", available, st.column_int64(19));
        if (available < -st.column_int64(6)) {
            out.push_back({id, "available " + std::to_string(available) + " is below -" +
                                   std::to_string(st.column_int64(6)) + " (credit limit)"});
        }
    }
    return checked;
}

void verify_grants(store::Database& db, std::vector<Mismatch>& out) {
    store::Statement st(db, kGrantsSql);
    while (st.step()) {
        std::string account_id = st.column_text(1);
        std::string grant = "grant " + std::to_string(st.column_int64(0)) + " ";
        auto compare = [&](const char* what, int cached, int derived) {
            if (st.column_int64(cached) != st.column_int64(derived)) {
                out.push_back({account_id, grant + verify_figures(what, st.column_int64(cached),
                                                                  st.column_int64(derived))});
            }
        };
        std::int64_t tokens = st.column_int64(2);
        std::int64_t accounted = st.column_int64(3) + st.column_int64(8) + st.column_int64(5) +
                                 st.column_int64(6) + st.column_int64(7);
        if (tokens != accounted) {
            out.push_back(
                {account_id, grant + "tokens " + std::to_string(tokens) +
                                 " != remaining + open allocations + used + expired + debited " +
                                 std::to_string(accounted)});
        }
        compare("held vs open allocations", 4, 8);
        compare("used vs captured allocations", 5, 9);
        compare("tokens vs grant entry", 2, 10);
        compare("expired vs expiry entries", 6, 11);
        compare("debited vs debits", 7, 12);
    }
}

void verify_holds(store::Database& db, std::vector<Mismatch>& out) {
    // Every hold has exactly one hold entry and, once settled, exactly one
    // capture or void entry; its slices add up to it.
    store::Statement st(db, kHoldsSql);
    while (st.step()) {
        std::string account_id = st.column_text(1);
        std::string hold = "hold " + st.column_text(0) + " (" + st.column_text(2) + ")";
        bool open = st.column_text(2) == "open";
        if (st.column_int64(6) != 1 || st.column_int64(7) != (open ? 0 : 1)) {
            out.push_back({account_id, hold + " has " + std::to_string(st.column_int64(6)) +
                                           " hold and " + std::to_string(st.column_int64(7)) +
                                           " settlement entries"});
        }
        auto compare = [&](const char* what, int cached, int derived) {
            if (st.column_int64(cached) != st.column_int64(derived)) {
                out.push_back({account_id, hold + " " +
                                               verify_figures(what, st.column_int64(cached),
                                                              st.column_int64(derived))});
            }
        };
        compare("tokens vs allocations", 3, 8);
        compare("tokens vs hold entry", 3, 10);
        compare("captured vs allocations' captured", 4, 9);
        compare("captured vs capture entry", 4, 11);
        compare("refunded vs refund entries", 5, 12);
    }
}

}  // namespace

core::Result<std::vector<Mismatch>> SqliteLedger::verify(std::int64_t* accounts_checked) {
    std::vector<Mismatch> out;
    std::int64_t checked = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        checked = verify_accounts(db_, out);
        verify_grants(db_, out);
        verify_holds(db_, out);
        verify_running_balances(db_, out);
        verify_debits(db_, out);
        return {};
    });
    if (!s.ok()) return s.error();
    if (accounts_checked != nullptr) *accounts_checked = checked;
    return out;
}

}  // namespace tollgate::ledger
