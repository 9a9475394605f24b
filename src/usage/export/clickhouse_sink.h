// Usage records in ClickHouse (table <database>.tollgate_usage), over its HTTP
// interface, written for the 18.16 server Debian ships.
//
// The table is a ReplacingMergeTree ordered by job_id and partitioned by the
// month of the day each job finished on, so a replayed record (same job id,
// same day) merges away, and totals read with FINAL count it once from the
// start. prepare() creates the table, and adds to a table an earlier version
// created the columns it lacks (18.16 has no ADD COLUMN IF NOT EXISTS, so it
// reads system.columns first). Each ship() is one INSERT … FORMAT
// JSONEachRow of the whole batch, every column given: 18.16 fills a column
// a row omits with its type's zero, not its DEFAULT.
// Totals come back as TabSeparated, whose 64-bit integers are plain numbers
// (18.16 quotes them in JSON formats). The HTTP
// exchange itself is injected (usage/ knows no HTTP library): app/ passes one
// that posts to the server the URL names.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "usage/export/remote_sink.h"
#include "usage/export/sink_url.h"

namespace tollgate::usage {

// Where a clickhouse:// URL points.
struct ClickHouseAddress {
    std::string host;                  // a name or an address, IPv6 without brackets
    std::uint16_t port = 8123;         // the HTTP interface
    std::string database = "default";  // letters, digits and '_' only
    std::string user, password;        // from "user:password@", both optional
};

// Error "invalid_sink_url" for anything but clickhouse://[user[:password]@]host[:port][/database].
core::Result<ClickHouseAddress> parse_clickhouse_url(std::string_view url);

struct ClickHouseAnswer {
    int status = 0;
    std::string body;
};
// POSTs `body` to `target` (path and query) on the server with the given
// extra headers, and returns the answer, or a transport error.
using ClickHousePost = std::function<core::Result<ClickHouseAnswer>(
    const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers)>;

// The rows of a TabSeparated answer, its escapes (\t, \n, \\ ...) undone;
// nullopt for a malformed one (a dangling or unknown escape) or past rows_max + 1 rows.
std::optional<std::vector<std::vector<std::string>>> parse_tab_separated(std::string_view body,
                                                                         std::size_t rows_max);

// The JSONEachRow line of one record (no newline).
std::string clickhouse_row(const UsageRecord& record);

class ClickHouseSink final : public RemoteSink {
  public:
    ClickHouseSink(SinkUrl url, ClickHouseAddress address, ClickHousePost post);

    const std::string& name() const override { return url_.name; }
    core::Status prepare() override;
    core::Status ship(const std::vector<UsageRecord>& records) override;
    core::Result<std::vector<DayTotal>> day_totals(std::int64_t from_ms,
                                                   std::int64_t to_ms) override;
    std::unique_ptr<UsageReportSource> reports() override;
    // One SELECT's rows as text (the reports' SelectRows, usage/report_sql.h).
    core::Result<std::vector<std::vector<std::string>>> select_rows(const std::string& sql,
                                                                    std::size_t rows_max);

  private:
    // Runs one statement (in the URL's database unless in_database is
    // false); its answer body, or "sink_unavailable" (transport) or
    // "sink_error" (the server refused it, with its message).
    core::Result<std::string> run(const std::string& query, const std::string& body,
                                  bool in_database = true);
    // The names of the table's columns, from system.columns.
    core::Result<std::set<std::string>> column_names();
    // Adds the columns that a table of an earlier version lacks.
    core::Status add_missing_columns();

    SinkUrl url_;
    ClickHouseAddress address_;
    ClickHousePost post_;
};

}  // namespace tollgate::usage
