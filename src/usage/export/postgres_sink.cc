#include "usage/export/postgres_sink.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>

#include "core/assert.h"
#include "usage/report_sql.h"

namespace tollgate::usage {
namespace {

constexpr const char* kPostgresSchema = R"sql(
CREATE TABLE IF NOT EXISTS tollgate_usage (
  job_id text PRIMARY KEY,
  account_id text NOT NULL,
  workflow text NOT NULL,
  width bigint NOT NULL,
  height bigint NOT NULL,
  tokens bigint NOT NULL,
  quoted_tokens bigint NOT NULL,
  book_version text NOT NULL,
  md5 text NOT NULL,
  sha256 text NOT NULL,
  worker text NOT NULL,
  queue_wait_ms bigint NOT NULL,
  execution_ms bigint NOT NULL,
  outcome text NOT NULL,
  failure_reason text NOT NULL,
  finished_ms bigint NOT NULL,
  vram_peak_bytes bigint NOT NULL,
  attempts bigint NOT NULL,
  dedupe_kind text NOT NULL,
  dedupe_of text NOT NULL,
  dedupe_distance bigint NOT NULL,
  meter_wall_ms bigint NOT NULL DEFAULT -1,
  meter_gpu_peak_bytes bigint NOT NULL DEFAULT -1
);
CREATE INDEX IF NOT EXISTS tollgate_usage_by_account ON tollgate_usage (account_id, finished_ms);
)sql";

// Columns added after the table first shipped: a table an earlier version
// created gains them, and its rows read the default, -1 (not measured). Runs
// after kPostgresSchema, and again on its own when kPostgresSchema failed (see prepare()).
// ADD COLUMN IF NOT EXISTS is PostgreSQL 9.6 and later; a constant default
// adds the column without rewriting the table (11 and later).
constexpr const char* kPostgresAddedColumns =
    "ALTER TABLE tollgate_usage "
    "ADD COLUMN IF NOT EXISTS meter_wall_ms bigint NOT NULL DEFAULT -1, "
    "ADD COLUMN IF NOT EXISTS meter_gpu_peak_bytes bigint NOT NULL DEFAULT -1";

constexpr const char* kColumns =
    "job_id, account_id, workflow, width, height, tokens, quoted_tokens, book_version, md5, "
    "sha256, worker, queue_wait_ms, execution_ms, outcome, failure_reason, finished_ms, "
    "vram_peak_bytes, attempts, dedupe_kind, dedupe_of, dedupe_distance, meter_wall_ms, "
    "meter_gpu_peak_bytes";
constexpr int kColumnCount = 23;
static_assert(PostgresSink::kRowsPerStatementMax * kColumnCount <= 65'535);

// `text` as valid UTF-8 without NUL, which PostgreSQL's text requires: each
// byte that does not start a well-formed sequence, and each NUL, becomes
// U+FFFD. A record the server refused would block every later one.
std::string postgres_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t len = 0;
        if (c >= 0x01 && c <= 0x7f) {
            len = 1;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
        }
        bool ok = len > 0 && i + len <= text.size();
        for (std::size_t k = 1; ok && k < len; ++k) {
            ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
        }
        if (ok && len >= 3) {
            // No overlong forms, no surrogates, nothing beyond U+10FFFF.
            const auto c1 = static_cast<unsigned char>(text[i + 1]);
            ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0) &&
                 !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
        }
        if (ok) {
            out.append(text.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

// The record's values as text parameters, in kColumns order.
void append_values(const UsageRecord& r, std::vector<std::string>& out) {
    const std::size_t before = out.size();
    out.push_back(postgres_text(r.job_id));
    out.push_back(postgres_text(r.account_id));
    out.push_back(postgres_text(r.workflow));
    out.push_back(std::to_string(r.width));
    out.push_back(std::to_string(r.height));
    out.push_back(std::to_string(r.tokens));
    out.push_back(std::to_string(r.quoted_tokens));
    out.push_back(postgres_text(r.book_version));
    out.push_back(postgres_text(r.md5_hex));
    out.push_back(postgres_text(r.sha256_hex));
    out.push_back(postgres_text(r.worker));
    out.push_back(std::to_string(r.queue_wait_ms));
    out.push_back(std::to_string(r.execution_ms));
    out.push_back(postgres_text(r.outcome));
    out.push_back(postgres_text(r.failure_reason));
    out.push_back(std::to_string(r.finished_ms));
    out.push_back(std::to_string(r.vram_peak_bytes));
    out.push_back(std::to_string(r.attempts));
    out.push_back(postgres_text(r.dedupe_kind));
    out.push_back(postgres_text(r.dedupe_of));
    out.push_back(std::to_string(r.dedupe_distance));
    out.push_back(std::to_string(r.meter_wall_ms));
    out.push_back(std::to_string(r.meter_gpu_peak_bytes));
    TOLLGATE_ASSERT(out.size() - before == kColumnCount);
}

std::int64_t to_int64(const char* text) {
    std::int64_t value = 0;
    std::string_view s(text);
    std::from_chars(s.data(), s.data() + s.size(), value);
    return value;
}

// PostgreSQL's own message, one line.
std::string server_message(pg_conn* conn) {
    std::string m = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    for (char& c : m) {
        if (c == '\n') c = ' ';
    }
    return m;
}

}  // namespace

PostgresSink::PostgresSink(SinkUrl url) : url_(std::move(url)) {
    TOLLGATE_ASSERT(url_.kind == SinkKind::Postgres);
}

PostgresSink::~PostgresSink() { disconnect(); }

void PostgresSink::disconnect() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
}

core::Status PostgresSink::connect() {
    disconnect();
    // The defaults first: libpq lets the URL (expanded from dbname) override them.
    const char* keys[] = {"connect_timeout", "options", "application_name", "dbname", nullptr};
    // client_min_messages: no NOTICE ("relation already exists") on stderr.
    const char* values[] = {"5", "-c statement_timeout=30000 -c client_min_messages=warning",
                            "tollgate", url_.url.c_str(), nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
        core::Error e = core::make_error(
            "sink_unavailable", "cannot connect to " + url_.name + ": " + server_message(conn_));
        disconnect();
        return e;
    }
    return {};
}

core::Status PostgresSink::prepare() {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
        if (auto s = connect(); !s.ok()) return s;
    }
    if (command(kPostgresSchema) && command(kPostgresAddedColumns)) return {};
    // Two gateways creating the table at once: one of them gets a unique
    // violation on the catalog. The table exists either way; add what it
    // lacks (kPostgresAddedColumns is idempotent) and check that every column is there.
    (void)command(kPostgresAddedColumns);
    const std::string check = std::string("SELECT ") + kColumns + " FROM tollgate_usage LIMIT 0";
    PGresult* res = PQexec(conn_, check.c_str());
    const bool exists = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (exists) return {};
    core::Error e = core::make_error(
        "sink_error", "cannot create the table in " + url_.name + ": " + server_message(conn_));
    disconnect();
    return e;
}

bool PostgresSink::command(const char* sql) {
    PGresult* res = PQexec(conn_, sql);
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

bool PostgresSink::insert_rows(const UsageRecord* records, std::size_t count) {
    TOLLGATE_ASSERT(count >= 1 && count <= kRowsPerStatementMax);
    std::vector<std::string> values;
    values.reserve(count * kColumnCount);
    std::string sql = std::string("INSERT INTO tollgate_usage (") + kColumns + ") VALUES ";
    int param = 1;
    for (std::size_t i = 0; i < count; ++i) {
        append_values(records[i], values);
        sql += i == 0 ? "(" : ", (";
        for (int c = 0; c < kColumnCount; ++c) {
            if (c > 0) sql += ", ";
            // Appended piecewise: "$" + std::to_string() trips GCC 12's -Wrestrict at -O2.
            sql += '$';
            sql += std::to_string(param++);
        }
        sql += ")";
    }
    sql += " ON CONFLICT (job_id) DO NOTHING";
    std::vector<const char*> pointers;
    pointers.reserve(values.size());
    for (const std::string& v : values) pointers.push_back(v.c_str());
    PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(pointers.size()), nullptr,
                                 pointers.data(), nullptr, nullptr, 0);
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

core::Status PostgresSink::ship(const std::vector<UsageRecord>& records) {
    if (records.empty()) return {};
    if (conn_ == nullptr) {
        if (auto s = prepare(); !s.ok()) return s;
    }
    // A statement binds at most 65,535 parameters, so a large batch is several
    // INSERTs, in one transaction: the batch lands whole or not at all.
    bool ok = command("BEGIN");
    for (std::size_t at = 0; ok && at < records.size(); at += kRowsPerStatementMax) {
        ok = insert_rows(records.data() + at, std::min(kRowsPerStatementMax, records.size() - at));
    }
    ok = ok && command("COMMIT");
    if (ok) return {};
    const bool lost = PQstatus(conn_) != CONNECTION_OK;
    core::Error e = core::make_error(lost ? "sink_unavailable" : "sink_error",
                                     "insert into " + url_.name + ": " + server_message(conn_));
    disconnect();  // a transaction left open goes with the connection
    return e;
}

core::Result<std::vector<DayTotal>> PostgresSink::day_totals(std::int64_t from_ms,
                                                             std::int64_t to_ms) {
    if (conn_ == nullptr) {
        if (auto s = prepare(); !s.ok()) return s.error();
    }
    const std::string from = std::to_string(from_ms);
    const std::string to = std::to_string(to_ms);
    const char* params[] = {from.c_str(), to.c_str()};
    PGresult* res = PQexecParams(
        conn_,
        "SELECT account_id, finished_ms / 86400000 AS day, sum(tokens), count(*) "
        "FROM tollgate_usage WHERE finished_ms >= $1::bigint AND finished_ms < $2::bigint "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        2, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        core::Error e = core::make_error("sink_error",
                                         "totals from " + url_.name + ": " + server_message(conn_));
        disconnect();
        return e;
    }
    std::vector<DayTotal> out;
    const int rows = PQntuples(res);
    for (int i = 0; i < rows; ++i) {
        DayTotal t;
        t.account_id = PQgetvalue(res, i, 0);
        t.day = to_int64(PQgetvalue(res, i, 1));
        t.tokens = to_int64(PQgetvalue(res, i, 2));
        t.jobs = to_int64(PQgetvalue(res, i, 3));
        out.push_back(std::move(t));
    }
    PQclear(res);
    return out;
}

core::Result<std::vector<std::vector<std::string>>> PostgresSink::select_rows(
    const std::string& sql, std::size_t rows_max) {
    if (conn_ == nullptr) {
        if (auto s = prepare(); !s.ok()) return s.error();
    }
    PGresult* res = PQexec(conn_, sql.c_str());
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        core::Error e = core::make_error("sink_error",
                                         "report from " + url_.name + ": " + server_message(conn_));
        disconnect();
        return e;
    }
    const int rows = PQntuples(res);
    const int columns = PQnfields(res);
    if (static_cast<std::size_t>(rows) > rows_max + 1) {
        PQclear(res);
        return core::make_error("report_too_large",
                                "the report has more than " + std::to_string(rows_max) + " rows");
    }
    std::vector<std::vector<std::string>> out(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < columns; ++j) {
            out[static_cast<std::size_t>(i)].emplace_back(
                PQgetvalue(res, i, j), static_cast<std::size_t>(PQgetlength(res, i, j)));
        }
    }
    PQclear(res);
    return out;
}

std::unique_ptr<UsageReportSource> PostgresSink::reports() {
    return std::make_unique<SqlReportSource>(SqlDialect::Postgres, "tollgate_usage",
                                             [this](const std::string& sql, std::size_t rows_max) {
                                                 return select_rows(sql, rows_max);
                                             });
}

}  // namespace tollgate::usage
