#include "usage/export/postgres_sink.h"

#include <libpq-fe.h>

#include <charconv>

#include "core/assert.h"

namespace tollgate::usage {
namespace {

constexpr const char* kSchema = R"sql(
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
  dedupe_distance bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS tollgate_usage_by_account ON tollgate_usage (account_id, finished_ms);
)sql";

constexpr const char* kColumns =
    "job_id, account_id, workflow, width, height, tokens, quoted_tokens, book_version, md5, "
    "sha256, worker, queue_wait_ms, execution_ms, outcome, failure_reason, finished_ms, "
    "vram_peak_bytes, attempts, dedupe_kind, dedupe_of, dedupe_distance";
constexpr int kColumnCount = 21;

// The record's values as text parameters, in kColumns order.
void append_values(const UsageRecord& r, std::vector<std::string>& out) {
    const std::size_t before = out.size();
    out.push_back(r.job_id);
    out.push_back(r.account_id);
    out.push_back(r.workflow);
    out.push_back(std::to_string(r.width));
    out.push_back(std::to_string(r.height));
    out.push_back(std::to_string(r.tokens));
    out.push_back(std::to_string(r.quoted_tokens));
    out.push_back(r.book_version);
    out.push_back(r.md5_hex);
    out.push_back(r.sha256_hex);
    out.push_back(r.worker);
    out.push_back(std::to_string(r.queue_wait_ms));
    out.push_back(std::to_string(r.execution_ms));
    out.push_back(r.outcome);
    out.push_back(r.failure_reason);
    out.push_back(std::to_string(r.finished_ms));
    out.push_back(std::to_string(r.vram_peak_bytes));
    out.push_back(std::to_string(r.attempts));
    out.push_back(r.dedupe_kind);
    out.push_back(r.dedupe_of);
    out.push_back(std::to_string(r.dedupe_distance));
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
    const char* values[] = {"5", "-c statement_timeout=30000", "tollgate", url_.url.c_str(),
                            nullptr};
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
    PGresult* res = PQexec(conn_, kSchema);
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (ok) return {};
    // Two gateways creating the table at once: one of them gets a unique
    // violation on the catalog. The table exists either way; check it.
    res = PQexec(conn_, "SELECT 1 FROM tollgate_usage LIMIT 0");
    const bool exists = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (exists) return {};
    core::Error e = core::make_error(
        "sink_error", "cannot create the table in " + url_.name + ": " + server_message(conn_));
    disconnect();
    return e;
}

core::Status PostgresSink::ship(const std::vector<UsageRecord>& records) {
    if (records.empty()) return {};
    if (conn_ == nullptr) {
        if (auto s = prepare(); !s.ok()) return s;
    }
    // 65,535 bind parameters per statement at most.
    TOLLGATE_ASSERT(records.size() * kColumnCount <= 65'535);
    std::vector<std::string> values;
    values.reserve(records.size() * kColumnCount);
    std::string sql = std::string("INSERT INTO tollgate_usage (") + kColumns + ") VALUES ";
    int param = 1;
    for (std::size_t i = 0; i < records.size(); ++i) {
        append_values(records[i], values);
        sql += i == 0 ? "(" : ", (";
        for (int c = 0; c < kColumnCount; ++c) {
            if (c > 0) sql += ", ";
            sql += "$" + std::to_string(param++);
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
    if (ok) return {};
    const bool lost = PQstatus(conn_) != CONNECTION_OK;
    core::Error e = core::make_error(lost ? "sink_unavailable" : "sink_error",
                                     "insert into " + url_.name + ": " + server_message(conn_));
    disconnect();
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

}  // namespace tollgate::usage
