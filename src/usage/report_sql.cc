// The report queries in SQL (see report_sql.h).
#include "usage/report_sql.h"

#include <charconv>

#include "core/assert.h"

namespace tollgate::usage {
namespace {

bool parse_int(const std::string& text, std::int64_t* out) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, *out);
    return !text.empty() && ec == std::errc() && ptr == end;
}

core::Error unreadable(const std::string& what, const std::vector<std::string>& row) {
    std::string cells;
    for (const std::string& c : row) cells += (cells.empty() ? "" : " | ") + c.substr(0, 64);
    return core::make_error("report_error", "the usage store answered an unreadable " + what +
                                                " row: " + cells.substr(0, 300));
}

// Cells [first, row.size()) as integers, or false.
bool read_ints(const std::vector<std::string>& row, std::size_t first,
               std::initializer_list<std::int64_t*> out) {
    std::size_t i = first;
    for (std::int64_t* v : out) {
        if (i >= row.size() || !parse_int(row[i++], v)) return false;
    }
    return true;
}

// CASE expression giving each queue wait its bucket (queue_wait_bucket()).
std::string bucket_case() {
    std::string out = "CASE";
    for (std::size_t i = 0; i < kQueueWaitEdgesMs.size(); ++i) {
        out += " WHEN queue_wait_ms < " + std::to_string(kQueueWaitEdgesMs[i]) + " THEN " +
               std::to_string(i);
    }
    return out + " ELSE " + std::to_string(kQueueWaitEdgesMs.size()) + " END";
}

}  // namespace

SqlReportSource::SqlReportSource(SqlDialect dialect, std::string table, SelectRows select)
    : dialect_(dialect), table_(std::move(table)), select_(std::move(select)) {
    TOLLGATE_ASSERT(!table_.empty() && select_);
}

std::string SqlReportSource::div(const std::string& column, std::int64_t by) const {
    // Integer columns: "/" truncates in SQLite and PostgreSQL; ClickHouse's gives a float.
    if (dialect_ == SqlDialect::ClickHouse) {
        return "intDiv(" + column + ", " + std::to_string(by) + ")";
    }
    return column + " / " + std::to_string(by);
}

std::string SqlReportSource::bytewise(const std::string& column) const {
    // PostgreSQL orders text by the database's collation; the others by bytes.
    return dialect_ == SqlDialect::Postgres ? column + " COLLATE \"C\"" : column;
}

std::string SqlReportSource::from_where(const ReportRange& range) const {
    return " FROM " + table_ + (dialect_ == SqlDialect::ClickHouse ? " FINAL" : "") +
           " WHERE finished_ms >= " + std::to_string(range.from_ms) + " AND finished_ms < " +
           std::to_string(range.to_ms);
}

core::Result<TextRows> SqlReportSource::select(const std::string& sql, std::size_t columns,
                                               std::size_t rows_max) {
    std::lock_guard lock(mu_);
    auto rows = select_(sql, rows_max);
    if (!rows.ok()) return rows.error();
    if (rows->size() > rows_max) {
        return core::make_error("report_too_large", "the report has more than " +
                                                        std::to_string(rows_max) +
                                                        " rows; ask for a shorter range");
    }
    for (const auto& row : *rows) {
        if (row.size() != columns) return unreadable("(wrong width)", row);
    }
    return rows;
}

core::Result<std::vector<HourCell>> SqlReportSource::hourly(const ReportRange& range) {
    if (core::Status s = check_report_range(range); !s.ok()) return s.error();
    const std::string sql =
        "SELECT workflow, " + div("finished_ms", kMsPerHour) +
        " AS h, count(*), sum(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN dedupe_kind <> '' THEN 1 ELSE 0 END), sum(tokens), sum(execution_ms), "
        "sum(queue_wait_ms)" +
        from_where(range) + " GROUP BY workflow, h ORDER BY " + bytewise("workflow") +
        ", h LIMIT " + std::to_string(kReportRowsMax + 1);
    auto rows = select(sql, 8, kReportRowsMax);
    if (!rows.ok()) return rows.error();
    std::vector<HourCell> out;
    out.reserve(rows->size());
    for (const auto& row : *rows) {
        HourCell c{.workflow = row[0]};
        if (!read_ints(row, 1,
                       {&c.hour, &c.jobs, &c.failures, &c.duplicates, &c.tokens, &c.execution_ms,
                        &c.queue_wait_ms})) {
            return unreadable("hourly", row);
        }
        out.push_back(std::move(c));
    }
    return out;
}

core::Result<std::vector<WaitBucket>> SqlReportSource::queue_waits(const ReportRange& range) {
    if (core::Status s = check_report_range(range); !s.ok()) return s.error();
    const std::string sql = "SELECT workflow, " + bucket_case() + " AS b, count(*)" +
                            from_where(range) + " GROUP BY workflow, b ORDER BY " +
                            bytewise("workflow") + ", b LIMIT " +
                            std::to_string(kReportRowsMax + 1);
    auto rows = select(sql, 3, kReportRowsMax);
    if (!rows.ok()) return rows.error();
    std::vector<WaitBucket> out;
    for (const auto& row : *rows) {
        std::int64_t bucket = 0;
        WaitBucket b{.workflow = row[0]};
        if (!read_ints(row, 1, {&bucket, &b.jobs}) || bucket < 0 ||
            bucket >= static_cast<std::int64_t>(kQueueWaitBuckets)) {
            return unreadable("queue-wait", row);
        }
        b.bucket = static_cast<std::size_t>(bucket);
        out.push_back(std::move(b));
    }
    return out;
}

core::Result<std::vector<AccountTotal>> SqlReportSource::top_accounts(const ReportRange& range,
                                                                      std::size_t limit) {
    if (core::Status s = check_report_range(range); !s.ok()) return s.error();
    TOLLGATE_ASSERT(limit <= kTopAccountsMax);
    const std::string sql =
        "SELECT account_id, count(*) AS n, sum(tokens) AS t, "
        "sum(execution_ms)" +
        from_where(range) + " GROUP BY account_id ORDER BY t DESC, n DESC, " +
        bytewise("account_id") + " LIMIT " + std::to_string(limit);
    auto rows = select(sql, 4, limit);
    if (!rows.ok()) return rows.error();
    std::vector<AccountTotal> out;
    for (const auto& row : *rows) {
        AccountTotal t{.account_id = row[0]};
        if (!read_ints(row, 1, {&t.jobs, &t.tokens, &t.execution_ms})) {
            return unreadable("account", row);
        }
        out.push_back(std::move(t));
    }
    return out;
}

core::Result<std::vector<ExecutionSample>> SqlReportSource::executions(const std::string& workflow,
                                                                       const ReportRange& range,
                                                                       std::size_t limit) {
    if (core::Status s = check_report_range(range); !s.ok()) return s.error();
    TOLLGATE_ASSERT(limit <= kExecutionSamplesMax);
    if (workflow.empty() || workflow.size() > kReportNameBytesMax ||
        workflow.find_first_not_of(kReportNameChars) != std::string::npos) {
        return core::make_error("unknown_workflow", "no workflow has that name");
    }
    const std::string sql =
        "SELECT width, height, execution_ms, account_id, finished_ms, meter_wall_ms" +
        from_where(range) + " AND workflow = '" + workflow +
        "' AND outcome = 'succeeded' AND dedupe_kind = '' "
        "AND execution_ms > 0 ORDER BY finished_ms DESC, " +
        bytewise("job_id") + " LIMIT " + std::to_string(limit);
    auto rows = select(sql, 6, limit);
    if (!rows.ok()) return rows.error();
    std::vector<ExecutionSample> out;
    out.reserve(rows->size());
    for (const auto& row : *rows) {
        ExecutionSample e{.account_id = row[3]};
        if (!read_ints(row, 0, {&e.width, &e.height, &e.execution_ms}) ||
            !read_ints(row, 4, {&e.finished_ms, &e.meter_wall_ms})) {
            return unreadable("execution", row);
        }
        out.push_back(e);
    }
    return out;
}

}  // namespace tollgate::usage
