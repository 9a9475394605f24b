#include "usage/sqlite/sqlite_usage_sink.h"

#include <utility>

#include "store/added_columns.h"
#include "usage/sqlite/usage_columns.h"

namespace tollgate::usage {
namespace {

constexpr const char* kRecordsSchema = R"sql(
CREATE TABLE IF NOT EXISTS usage_records (
  job_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  workflow TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  quoted_tokens INTEGER NOT NULL,
  book_version TEXT NOT NULL,
  md5 TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  worker TEXT NOT NULL,
  queue_wait_ms INTEGER NOT NULL,
  execution_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
  failure_reason TEXT NOT NULL,
  finished_ms INTEGER NOT NULL,
  vram_peak_bytes INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 1,
  dedupe_kind TEXT NOT NULL DEFAULT '' CHECK (dedupe_kind IN ('', 'exact', 'near')),
  dedupe_of TEXT NOT NULL DEFAULT '',
  dedupe_distance INTEGER NOT NULL DEFAULT 0,
  meter_wall_ms INTEGER NOT NULL DEFAULT -1 CHECK (meter_wall_ms >= -1),
  meter_gpu_peak_bytes INTEGER NOT NULL DEFAULT -1 CHECK (meter_gpu_peak_bytes >= -1)
) STRICT;
CREATE INDEX IF NOT EXISTS usage_by_account ON usage_records(account_id, finished_ms);
)sql";

// Columns added after the first release, with their definitions: a file
// written before them gains them on open (ALTER TABLE ADD COLUMN).
constexpr store::AddedColumn kRecordsAddedColumns[] = {
    {"vram_peak_bytes", "INTEGER NOT NULL DEFAULT 0"},
    {"attempts", "INTEGER NOT NULL DEFAULT 1"},
    {"dedupe_kind", "TEXT NOT NULL DEFAULT '' CHECK (dedupe_kind IN ('', 'exact', 'near'))"},
    {"dedupe_of", "TEXT NOT NULL DEFAULT ''"},
    {"dedupe_distance", "INTEGER NOT NULL DEFAULT 0"},
    // -1: not measured, which is what every row written before them means.
    {"meter_wall_ms", "INTEGER NOT NULL DEFAULT -1 CHECK (meter_wall_ms >= -1)"},
    {"meter_gpu_peak_bytes", "INTEGER NOT NULL DEFAULT -1 CHECK (meter_gpu_peak_bytes >= -1)"},
};

// Created once the columns it covers exist (a file made before them gains
// them on open): the duplicates of a period, for the report that finds who
// resubmits the most (docs/operations.md). Only duplicates are indexed.
constexpr const char* kDedupeIndex =
    "CREATE INDEX IF NOT EXISTS usage_duplicates ON usage_records(finished_ms, account_id) "
    "WHERE dedupe_kind <> ''";

}  // namespace

core::Result<std::unique_ptr<SqliteUsageSink>> SqliteUsageSink::open(store::Database& db) {
    core::Status s = db.exec(kRecordsSchema);
    if (!s.ok()) return s.error();
    s = store::add_missing_columns(db, "usage_records", kRecordsAddedColumns);
    if (!s.ok()) return s.error();
    s = db.exec(kDedupeIndex);
    if (!s.ok()) return s.error();
    return std::unique_ptr<SqliteUsageSink>(new SqliteUsageSink(db));
}

core::Status SqliteUsageSink::write(const UsageRecord& r) {
    return store::transact(db_, [&]() -> core::Status {
        // Idempotent by job id: a replay of the same record writes nothing.
        store::Statement(db_, std::string("INSERT INTO usage_records(") + kUsageColumns +
                                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                                  "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23) "
                                  "ON CONFLICT(job_id) DO NOTHING")
            .bind(1, r.job_id)
            .bind(2, r.account_id)
            .bind(3, r.workflow)
            .bind(4, r.width)
            .bind(5, r.height)
            .bind(6, r.tokens)
            .bind(7, r.quoted_tokens)
            .bind(8, r.book_version)
            .bind(9, r.md5_hex)
            .bind(10, r.sha256_hex)
            .bind(11, r.worker)
            .bind(12, r.queue_wait_ms)
            .bind(13, r.execution_ms)
            .bind(14, r.outcome)
            .bind(15, r.failure_reason)
            .bind(16, r.finished_ms)
            .bind(17, r.vram_peak_bytes)
            .bind(18, r.attempts)
            .bind(19, r.dedupe_kind)
            .bind(20, r.dedupe_of)
            .bind(21, r.dedupe_distance)
            .bind(22, r.meter_wall_ms)
            .bind(23, r.meter_gpu_peak_bytes)
            .run();
        return {};
    });
}

core::Result<std::optional<UsageRecord>> SqliteUsageSink::find(const std::string& job_id) {
    std::optional<UsageRecord> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(
            db_, std::string("SELECT ") + kUsageColumns + " FROM usage_records WHERE job_id = ?1");
        if (st.bind(1, job_id).step()) out = read_usage_record(st);
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::vector<UsageRecord>> SqliteUsageSink::for_account(const std::string& account_id) {
    std::vector<UsageRecord> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, std::string("SELECT ") + kUsageColumns +
                                     " FROM usage_records WHERE account_id = ?1 ORDER BY "
                                     "finished_ms");
        st.bind(1, account_id);
        while (st.step()) out.push_back(read_usage_record(st));
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::int64_t> SqliteUsageSink::execution_ms_since(const std::string& account_id,
                                                               std::int64_t since_ms) {
    std::int64_t total = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT coalesce(sum(execution_ms), 0) FROM usage_records "
                            "WHERE account_id = ?1 AND finished_ms >= ?2");
        st.bind(1, account_id);
        st.bind(2, since_ms);
        if (st.step()) total = st.column_int64(0);
        return {};
    });
    if (!s.ok()) return s.error();
    return total;
}

}  // namespace tollgate::usage
