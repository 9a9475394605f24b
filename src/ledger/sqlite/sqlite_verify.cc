// verify(): recompute the books three ways and report every disagreement.
//
// The cached figures (balances, and each grant's remaining/held/used/expired)
// are what reserve() trusts, so each is recomputed from the records nothing
// overwrites: entries (append-only), holds and hold_allocations. Per account:
// granted, held, captured and expired against the entries, the holds and the
// grants, available against (remaining of its grants - credit drawn by its
// open and captured holds), and available against -credit_limit. Per grant:
// tokens = remaining + allocated to open holds + used + expired, and each
// figure against its allocations or entries. Per hold: its slices add up to
// it, and it has one hold entry and at most one settlement entry.
//
// Each view is one grouped query rather than a query per account, so a
// verify is a few scans whatever the number of accounts.
#include "core/assert.h"
#include "ledger/sqlite/sqlite_ledger.h"

namespace tollgate::ledger {
namespace {

constexpr const char* kAccountsSql = R"sql(
WITH e AS (
  SELECT account_id,
    sum(CASE kind WHEN 'grant' THEN tokens ELSE 0 END) AS granted,
    sum(CASE kind WHEN 'hold' THEN tokens WHEN 'capture' THEN -tokens
                  WHEN 'void' THEN -tokens ELSE 0 END) AS held,
    sum(CASE kind WHEN 'capture' THEN tokens ELSE 0 END) AS captured,
    sum(CASE kind WHEN 'expiry' THEN tokens ELSE 0 END) AS expired
  FROM entries GROUP BY account_id),
h AS (
  SELECT account_id,
    sum(CASE state WHEN 'open' THEN tokens ELSE 0 END) AS open,
    sum(CASE state WHEN 'captured' THEN tokens ELSE 0 END) AS captured
  FROM holds GROUP BY account_id),
g AS (
  SELECT account_id, sum(tokens) AS tokens, sum(expired) AS expired,
    sum(remaining) AS remaining
  FROM grants GROUP BY account_id),
c AS (
  SELECT h.account_id, sum(a.tokens) AS credit
  FROM hold_allocations a JOIN holds h ON h.key = a.hold_key
  WHERE a.grant_id IS NULL AND h.state != 'voided' GROUP BY h.account_id)
SELECT b.account_id, b.granted, b.held, b.captured, b.expired, b.credit_limit,
  COALESCE(e.granted, 0), COALESCE(e.held, 0), COALESCE(e.captured, 0), COALESCE(e.expired, 0),
  COALESCE(h.open, 0), COALESCE(h.captured, 0),
  COALESCE(g.tokens, 0), COALESCE(g.expired, 0), COALESCE(g.remaining, 0), COALESCE(c.credit, 0)
FROM balances b LEFT JOIN e USING (account_id) LEFT JOIN h USING (account_id)
  LEFT JOIN g USING (account_id) LEFT JOIN c USING (account_id)
ORDER BY b.account_id)sql";

constexpr const char* kGrantsSql = R"sql(
WITH a AS (
  SELECT a.grant_id,
    sum(CASE h.state WHEN 'open' THEN a.tokens ELSE 0 END) AS open,
    sum(CASE h.state WHEN 'captured' THEN a.tokens ELSE 0 END) AS captured
  FROM hold_allocations a JOIN holds h ON h.key = a.hold_key
  WHERE a.grant_id IS NOT NULL GROUP BY a.grant_id),
e AS (
  SELECT grant_id,
    sum(CASE kind WHEN 'grant' THEN tokens ELSE 0 END) AS granted,
    sum(CASE kind WHEN 'expiry' THEN tokens ELSE 0 END) AS expired
  FROM entries WHERE grant_id IS NOT NULL GROUP BY grant_id)
SELECT g.id, g.account_id, g.tokens, g.remaining, g.held, g.used, g.expired,
  COALESCE(a.open, 0), COALESCE(a.captured, 0), COALESCE(e.granted, 0), COALESCE(e.expired, 0)
FROM grants g LEFT JOIN a ON a.grant_id = g.id LEFT JOIN e ON e.grant_id = g.id
ORDER BY g.id)sql";

constexpr const char* kHoldsSql = R"sql(
SELECT h.key, h.account_id, h.state, h.tokens,
  (SELECT count(*) FROM entries e WHERE e.hold_key = h.key AND kind = 'hold'),
  (SELECT count(*) FROM entries e WHERE e.hold_key = h.key AND kind IN ('capture', 'void')),
  COALESCE((SELECT sum(tokens) FROM hold_allocations a WHERE a.hold_key = h.key), 0)
FROM holds h ORDER BY h.key)sql";

std::string figures(const char* what, std::int64_t cached, std::int64_t derived) {
    return std::string(what) + ": cached " + std::to_string(cached) + ", from records " +
           std::to_string(derived);
}

std::int64_t verify_accounts(store::Database& db, std::vector<Mismatch>& out) {
    std::int64_t checked = 0;
    store::Statement st(db, kAccountsSql);
    while (st.step()) {
        ++checked;
        std::string id = st.column_text(0);
        auto compare = [&](const char* what, int cached, int derived) {
            if (st.column_int64(cached) != st.column_int64(derived))
                out.push_back(
                    {id, figures(what, st.column_int64(cached), st.column_int64(derived))});
        };
        compare("granted vs grant entries", 1, 6);
        compare("granted vs grants", 1, 12);
        compare("held vs hold/capture/void entries", 2, 7);
        compare("held vs open holds", 2, 10);
        compare("captured vs capture entries", 3, 8);
        compare("captured vs captured holds", 3, 11);
        compare("expired vs expiry entries", 4, 9);
        compare("expired vs grants' expired", 4, 13);
        std::int64_t available =
            st.column_int64(1) - st.column_int64(4) - st.column_int64(2) - st.column_int64(3);
        std::int64_t from_grants = st.column_int64(14) - st.column_int64(15);
        if (available != from_grants) {
            out.push_back({id, figures("available vs grants' remaining - credit drawn", available,
                                       from_grants)});
        }
        if (available < -st.column_int64(5)) {
            out.push_back({id, "available " + std::to_string(available) + " is below -" +
                                   std::to_string(st.column_int64(5)) + " (credit limit)"});
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
                out.push_back({account_id, grant + figures(what, st.column_int64(cached),
                                                           st.column_int64(derived))});
            }
        };
        std::int64_t tokens = st.column_int64(2);
        std::int64_t accounted =
            st.column_int64(3) + st.column_int64(7) + st.column_int64(5) + st.column_int64(6);
        if (tokens != accounted) {
            out.push_back({account_id, grant + "tokens " + std::to_string(tokens) +
                                           " != remaining + open allocations + used + expired " +
                                           std::to_string(accounted)});
        }
        compare("held vs open allocations", 4, 7);
        compare("used vs captured allocations", 5, 8);
        compare("tokens vs grant entry", 2, 9);
        compare("expired vs expiry entries", 6, 10);
    }
}

void verify_holds(store::Database& db, std::vector<Mismatch>& out) {
    // Every hold has exactly one hold entry and, once settled, exactly one
    // capture or void entry; its slices add up to it.
    store::Statement st(db, kHoldsSql);
    while (st.step()) {
        std::string hold = "hold " + st.column_text(0) + " (" + st.column_text(2) + ")";
        bool open = st.column_text(2) == "open";
        if (st.column_int64(4) != 1 || st.column_int64(5) != (open ? 0 : 1)) {
            out.push_back({st.column_text(1),
                           hold + " has " + std::to_string(st.column_int64(4)) + " hold and " +
                               std::to_string(st.column_int64(5)) + " settlement entries"});
        }
        if (st.column_int64(3) != st.column_int64(6)) {
            out.push_back({st.column_text(1), hold + " " +
                                                  figures("tokens vs allocations",
                                                          st.column_int64(3), st.column_int64(6))});
        }
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
        return {};
    });
    if (!s.ok()) return s.error();
    if (accounts_checked != nullptr) *accounts_checked = checked;
    return out;
}

}  // namespace tollgate::ledger
