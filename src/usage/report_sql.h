// The report queries (usage/reports.h) in SQL, for each store that speaks it:
// SQLite (the embedded file), PostgreSQL and ClickHouse 18.16. The three
// dialects differ only in integer division and in ClickHouse's FINAL (one row
// per job id however often it was shipped); every figure is an integer sum or
// count, so all three answer the same.
//
// The store runs the text and hands back rows of text cells; this parses them
// strictly and refuses anything else as "report_error". Nothing from a
// request reaches the SQL text but integers and a workflow name checked
// against kReportNameChars.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "usage/reports.h"

namespace tollgate::usage {

enum class SqlDialect { Sqlite, Postgres, ClickHouse };

using TextRows = std::vector<std::vector<std::string>>;
// Runs one SELECT (whose LIMIT bounds it at rows_max + 1 rows) and returns
// its rows of cells as text; it may refuse more than rows_max + 1 rows itself.
using SelectRows =
    std::function<core::Result<TextRows>(const std::string& sql, std::size_t rows_max)>;

// The characters of a workflow name a report may filter on.
inline constexpr std::string_view kReportNameChars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
inline constexpr std::size_t kReportNameBytesMax = 128;

class SqlReportSource final : public UsageReportSource {
  public:
    // `table`: the usage table's name in that store.
    SqlReportSource(SqlDialect dialect, std::string table, SelectRows select);

    core::Result<std::vector<HourCell>> hourly(const ReportRange& range) override;
    core::Result<std::vector<WaitBucket>> queue_waits(const ReportRange& range) override;
    core::Result<std::vector<AccountTotal>> top_accounts(const ReportRange& range,
                                                         std::size_t limit) override;
    core::Result<std::vector<ExecutionSample>> executions(const std::string& workflow,
                                                          const ReportRange& range,
                                                          std::size_t limit) override;

  private:
    std::string div(const std::string& column, std::int64_t by) const;
    std::string from_where(const ReportRange& range) const;
    std::string bytewise(const std::string& column) const;  // ORDER BY text as bytes
    core::Result<TextRows> select(const std::string& sql, std::size_t columns,
                                  std::size_t rows_max);

    const SqlDialect dialect_;
    const std::string table_;
    SelectRows select_;
    std::mutex mu_;  // one query at a time on the store's connection
};

}  // namespace tollgate::usage
