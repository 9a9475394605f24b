// The usage outbox of a single gateway: the usage_records table itself.
//
// A job's record commits in the same SQLite transaction as its capture or
// void (jobs/), so it exists exactly when the money moved. The outbox has one
// partition (0), whose seq is the record's rowid, which only grows: a writer
// takes max(rowid) + 1 inside its write transaction, writers are serialized,
// and records are never deleted. Each external sink's cursor, the last rowid
// it has durably received, is a row of usage_export_cursors.
//
// Threads: any; every call is one transaction.
#pragma once

#include <memory>

#include "store/sqlite.h"
#include "usage/export/outbox.h"

namespace tollgate::usage {

class SqliteUsageOutbox final : public UsageOutbox {
  public:
    // Creates usage_export_cursors when missing. usage_records must exist
    // (SqliteUsageSink::open() creates it).
    static core::Result<std::unique_ptr<SqliteUsageOutbox>> open(store::Database& db);

    int partitions() const override { return 1; }
    core::Result<std::vector<OutboxRow>> after(int partition, std::int64_t after_seq,
                                               std::size_t limit) override;
    core::Result<std::int64_t> cursor(const std::string& sink, int partition) override;
    core::Status advance(const std::string& sink, int partition, std::int64_t seq) override;
    core::Result<std::int64_t> pending(const std::string& sink) override;

  private:
    explicit SqliteUsageOutbox(store::Database& db) : db_(db) {}
    store::Database& db_;
};

}  // namespace tollgate::usage
