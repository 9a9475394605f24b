// An analytics store outside the gateway that usage records are copied to
// (PostgreSQL, ClickHouse), fed by the exporter from the outbox.
//
// Key invariant: ship() is idempotent by job id. A record shipped twice (the
// exporter crashed between the sink's answer and its cursor's commit, or two
// gateways export the same outbox) counts once in every total the sink
// reports. Threads: one exporter thread uses a sink; reconcile uses its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "usage/reports.h"
#include "usage/usage_record.h"

namespace tollgate::usage {

// The jobs of one account finished on one UTC day, as a sink counts them.
struct DayTotal {
    std::string account_id;
    std::int64_t day = 0;     // days since 1970-01-01, UTC, of finished_ms
    std::int64_t tokens = 0;  // charged: failed jobs count 0
    std::int64_t jobs = 0;    // records, failed ones included
    bool operator==(const DayTotal&) const = default;
};

class RemoteSink {
  public:
    virtual ~RemoteSink() = default;
    // How operators and the cursor table know it: its URL without a password.
    virtual const std::string& name() const = 0;
    // Connects when needed, creates the table when missing, and adds the
    // columns that a table of an earlier version lacks. Called before the
    // first ship() and again after a failure.
    virtual core::Status prepare() = 0;
    // Stores every record, or fails as a whole with a transport or server
    // error (the exporter retries the same batch).
    virtual core::Status ship(const std::vector<UsageRecord>& records) = 0;
    // Totals per account and day of the records with from_ms <= finished_ms
    // < to_ms, each job once, ordered by account then day.
    virtual core::Result<std::vector<DayTotal>> day_totals(std::int64_t from_ms,
                                                           std::int64_t to_ms) = 0;
    // The reports (usage/reports.h) answered by this sink's store, on this
    // sink's connection: it must outlive them, and serve nothing else while
    // they run (give reports a sink of their own). Null: it answers none.
    virtual std::unique_ptr<UsageReportSource> reports() { return nullptr; }
};

}  // namespace tollgate::usage
