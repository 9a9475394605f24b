// The durable outbox of usage records, read by the exporter.
//
// The outbox is the usage_records table itself: a job's record commits in the
// same SQLite transaction as its capture or void (jobs/), so it exists
// exactly when the money moved. Rows are read in commit order by rowid, which
// only grows: a writer takes max(rowid) + 1 inside its write transaction,
// writers are serialized, and records are never deleted. Each external sink
// has a cursor, the last rowid it has durably received, in the table
// usage_export_cursors; it only moves forward.
//
// Key invariant: every record with seq > cursor(sink) has yet to be shipped
// to that sink, or was shipped and not yet acknowledged (a replay, which the
// sinks absorb by job id). Threads: any; every call is one transaction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/sqlite.h"
#include "usage/usage_record.h"

namespace tollgate::usage {

// One record and its place in the outbox.
struct OutboxRow {
    std::int64_t seq = 0;  // the record's rowid: increases in commit order
    UsageRecord record;
};

// after() returns at most this many rows.
inline constexpr std::size_t kOutboxPageMax = 5'000;
// Longest sink name kept as a cursor key.
inline constexpr std::size_t kSinkNameBytesMax = 200;

class UsageOutbox {
  public:
    // Creates usage_export_cursors when missing. usage_records must exist
    // (SqliteUsageSink::open() creates it).
    static core::Result<std::unique_ptr<UsageOutbox>> open(store::Database& db);

    // Records with seq > after_seq in seq order, at most min(limit, kOutboxPageMax).
    core::Result<std::vector<OutboxRow>> after(std::int64_t after_seq, std::size_t limit);
    // The last seq the sink acknowledged; 0 for a sink never shipped to.
    core::Result<std::int64_t> cursor(const std::string& sink);
    // Records the sink's acknowledgement of every record up to `seq`. A seq
    // at or below the stored cursor changes nothing (a late duplicate);
    // beyond the newest record is error "invalid_cursor".
    core::Status advance(const std::string& sink, std::int64_t seq);
    // How many records wait for the sink (seq > its cursor).
    core::Result<std::int64_t> pending(const std::string& sink);

  private:
    explicit UsageOutbox(store::Database& db) : db_(db) {}
    store::Database& db_;
};

}  // namespace tollgate::usage
