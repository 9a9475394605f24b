// PostgreSQL under bench_ledger: reserve and capture as two transactions of
// prepared statements, one synchronous libpq connection per client thread.
//
// Reserve: BEGIN; a conditional UPDATE of the balance (available >= tokens)
// that returns the balance after it; INSERT of the hold; INSERT of the hold
// entry; COMMIT. Capture: BEGIN; UPDATE of the hold from open to captured;
// UPDATE of the balance from held to captured; INSERT of the capture entry;
// COMMIT. The tables carry the constraints and indexes of the embedded
// ledger's equivalents (CHECKs, foreign keys, entries by account and by hold
// key). Durability is the server's: the setup reads back synchronous_commit
// and fsync and reports them on the RESULT line.
//
// The setup drops and recreates the schema bench_ledger, and touches nothing
// else in the database.
#include <libpq-fe.h>

#include <memory>

#include "bench/ledger/workload.h"
#include "core/clock.h"

namespace tollgate::bench {
namespace {

constexpr const char* kSchema = R"sql(
DROP SCHEMA IF EXISTS bench_ledger CASCADE;
CREATE SCHEMA bench_ledger;
CREATE TABLE bench_ledger.balances (
  account_id text PRIMARY KEY,
  available bigint NOT NULL CHECK (available >= 0),
  held bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
  captured bigint NOT NULL DEFAULT 0 CHECK (captured >= 0)
);
CREATE TABLE bench_ledger.holds (
  key text PRIMARY KEY,
  account_id text NOT NULL REFERENCES bench_ledger.balances(account_id),
  tokens bigint NOT NULL CHECK (tokens > 0),
  state text NOT NULL CHECK (state IN ('open', 'captured', 'voided')),
  created_ms bigint NOT NULL,
  settled_ms bigint
);
CREATE TABLE bench_ledger.entries (
  id bigserial PRIMARY KEY,
  account_id text NOT NULL REFERENCES bench_ledger.balances(account_id),
  kind text NOT NULL CHECK (kind IN ('hold', 'capture', 'void')),
  tokens bigint NOT NULL CHECK (tokens > 0),
  hold_key text NOT NULL,
  created_ms bigint NOT NULL,
  balance_after bigint NOT NULL
);
CREATE INDEX entries_by_account ON bench_ledger.entries(account_id, id);
CREATE INDEX entries_by_hold ON bench_ledger.entries(hold_key);
)sql";

struct Statement {
    const char* name;
    const char* sql;
};

constexpr Statement kStatements[] = {
    {"reserve_balance",
     "UPDATE bench_ledger.balances SET available = available - $2, held = held + $2 "
     "WHERE account_id = $1 AND available >= $2 RETURNING available"},
    {"insert_hold",
     "INSERT INTO bench_ledger.holds(key, account_id, tokens, state, created_ms) "
     "VALUES ($1, $2, $3, 'open', $4)"},
    {"insert_entry",
     "INSERT INTO bench_ledger.entries(account_id, kind, tokens, hold_key, created_ms, "
     "balance_after) VALUES ($1, $2, $3, $4, $5, $6)"},
    {"capture_hold",
     "UPDATE bench_ledger.holds SET state = 'captured', settled_ms = $3 "
     "WHERE key = $1 AND account_id = $2 AND state = 'open' RETURNING tokens"},
    {"capture_balance",
     "UPDATE bench_ledger.balances SET held = held - $2, captured = captured + $2 "
     "WHERE account_id = $1 RETURNING available"},
};

struct ResultClear {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultClear>;

struct ConnFinish {
    void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, ConnFinish>;

core::Error pg_error(PGconn* c, const std::string& what) {
    return core::make_error("postgres_error", what + ": " + PQerrorMessage(c));
}

core::Result<PgConn> dial(const std::string& conninfo) {
    PgConn c(PQconnectdb(conninfo.c_str()));
    if (!c) return core::make_error("postgres_error", "cannot allocate a connection");
    if (PQstatus(c.get()) != CONNECTION_OK) return pg_error(c.get(), "connect");
    return c;
}

core::Status exec(PGconn* c, const char* sql) {
    PgResult r(PQexec(c, sql));
    ExecStatusType st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return pg_error(c, sql);
    return {};
}

core::Result<std::string> show(PGconn* c, const char* setting) {
    PgResult r(PQexec(c, (std::string("SHOW ") + setting).c_str()));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1)
        return pg_error(c, std::string("SHOW ") + setting);
    return std::string(PQgetvalue(r.get(), 0, 0));
}

class PostgresClient final : public LedgerClient {
  public:
    explicit PostgresClient(PgConn c) : c_(std::move(c)) {}

    core::Status reserve_capture(const std::string& account_id, const std::string& key) override {
        core::Status held =
            in_transaction([&]() -> core::Status { return reserve(account_id, key); });
        if (!held.ok()) return held;
        return in_transaction([&]() -> core::Status { return capture(account_id, key); });
    }

  private:
    // Runs one prepared statement with text parameters. `rows` is the number
    // of rows it must return (or affect, for a statement returning none).
    core::Result<PgResult> run(const char* name, const std::vector<std::string>& params, int rows) {
        std::vector<const char*> values;
        for (const std::string& p : params) values.push_back(p.c_str());
        PgResult r(PQexecPrepared(c_.get(), name, static_cast<int>(values.size()), values.data(),
                                  nullptr, nullptr, 0));
        ExecStatusType st = PQresultStatus(r.get());
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return pg_error(c_.get(), name);
        const char* affected = PQcmdTuples(r.get());
        if (std::to_string(rows) != affected)
            return core::make_error("not_applied", std::string(name) + " affected " + affected +
                                                       " rows, not " + std::to_string(rows));
        return r;
    }

    core::Status reserve(const std::string& account_id, const std::string& key) {
        const std::string now = std::to_string(core::SystemClock::instance().now_ms());
        auto balance = run("reserve_balance", {account_id, "1"}, 1);
        if (!balance.ok()) return balance.error();
        const std::string available = PQgetvalue(balance->get(), 0, 0);
        auto hold = run("insert_hold", {key, account_id, "1", now}, 1);
        if (!hold.ok()) return hold.error();
        auto entry = run("insert_entry", {account_id, "hold", "1", key, now, available}, 1);
        if (!entry.ok()) return entry.error();
        return {};
    }

    core::Status capture(const std::string& account_id, const std::string& key) {
        const std::string now = std::to_string(core::SystemClock::instance().now_ms());
        auto hold = run("capture_hold", {key, account_id, now}, 1);
        if (!hold.ok()) return hold.error();
        const std::string tokens = PQgetvalue(hold->get(), 0, 0);
        auto balance = run("capture_balance", {account_id, tokens}, 1);
        if (!balance.ok()) return balance.error();
        const std::string available = PQgetvalue(balance->get(), 0, 0);
        auto entry = run("insert_entry", {account_id, "capture", tokens, key, now, available}, 1);
        if (!entry.ok()) return entry.error();
        return {};
    }

    // BEGIN, fn, COMMIT; ROLLBACK when fn fails.
    template <typename Fn>
    core::Status in_transaction(Fn&& fn) {
        core::Status begun = exec(c_.get(), "BEGIN");
        if (!begun.ok()) return begun;
        core::Status s = fn();
        if (!s.ok()) {
            (void)exec(c_.get(), "ROLLBACK");
            return s;
        }
        return exec(c_.get(), "COMMIT");
    }

    PgConn c_;
};

class PostgresBackend final : public Backend {
  public:
    PostgresBackend(std::string conninfo, std::vector<std::string> accounts, std::string settings)
        : conninfo_(std::move(conninfo)),
          accounts_(std::move(accounts)),
          settings_(std::move(settings)) {}

    const std::vector<std::string>& accounts() const override { return accounts_; }

    core::Result<std::unique_ptr<LedgerClient>> connect() override {
        auto c = dial(conninfo_);
        if (!c.ok()) return c.error();
        for (const Statement& s : kStatements) {
            PgResult r(PQprepare(c->get(), s.name, s.sql, 0, nullptr));
            if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
                return pg_error(c->get(), std::string("prepare ") + s.name);
        }
        return std::unique_ptr<LedgerClient>(std::make_unique<PostgresClient>(std::move(*c)));
    }

    std::string stats() const override { return settings_; }

  private:
    std::string conninfo_;
    std::vector<std::string> accounts_;
    std::string settings_;
};

}  // namespace

core::Result<std::unique_ptr<Backend>> open_postgres(const Options& o) {
    auto c = dial(o.pg);
    if (!c.ok()) return c.error();
    // The setup's DROP ... IF EXISTS notices say nothing worth printing.
    PQsetNoticeProcessor(
        c->get(), [](void*, const char*) {}, nullptr);
    core::Status created = exec(c->get(), kSchema);
    if (!created.ok()) return created.error();
    const std::string fill =
        "INSERT INTO bench_ledger.balances(account_id, available) "
        "SELECT 'acct_bench_' || i, " +
        std::to_string(kAccountTokens) + " FROM generate_series(0, " +
        std::to_string(o.accounts - 1) + ") AS i";
    core::Status filled = exec(c->get(), fill.c_str());
    if (!filled.ok()) return filled.error();
    std::string settings;
    for (const char* setting : {"synchronous_commit", "fsync"}) {
        auto value = show(c->get(), setting);
        if (!value.ok()) return value.error();
        settings += std::string(" ") + setting + "=" + *value;
    }
    std::vector<std::string> accounts;
    for (std::int64_t i = 0; i < o.accounts; ++i)
        accounts.push_back("acct_bench_" + std::to_string(i));
    return std::unique_ptr<Backend>(
        std::make_unique<PostgresBackend>(o.pg, std::move(accounts), std::move(settings)));
}

}  // namespace tollgate::bench
