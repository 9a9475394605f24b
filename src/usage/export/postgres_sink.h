// Usage records in PostgreSQL (table tollgate_usage), through libpq.
//
// One connection, opened by prepare() and reopened after any failure. Each
// ship() is one transaction of multi-row INSERT … ON CONFLICT (job_id) DO
// NOTHING (2,800 rows per statement), so a replayed batch changes nothing
// and a batch lands whole or not at all.
// Every call is bounded: connect_timeout (5 s) and statement_timeout (30 s)
// are set unless the URL sets its own. prepare() creates the table, and adds
// to a table an earlier version created the columns it lacks (ALTER TABLE …
// ADD COLUMN IF NOT EXISTS, with the default its old rows mean).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "usage/export/remote_sink.h"
#include "usage/export/sink_url.h"

struct pg_conn;

namespace tollgate::usage {

class PostgresSink final : public RemoteSink {
  public:
    // Rows per INSERT: 23 bind parameters each, at most 65,535 per statement.
    static constexpr std::size_t kRowsPerStatementMax = 2'800;

    explicit PostgresSink(SinkUrl url);
    ~PostgresSink() override;
    PostgresSink(const PostgresSink&) = delete;
    PostgresSink& operator=(const PostgresSink&) = delete;

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
    void disconnect();
    // One statement without parameters or rows; false on any failure.
    bool command(const char* sql);
    // One multi-row INSERT of `count` records; false on any failure.
    bool insert_rows(const UsageRecord* records, std::size_t count);
    core::Status connect();

    SinkUrl url_;
    pg_conn* conn_ = nullptr;
};

}  // namespace tollgate::usage
