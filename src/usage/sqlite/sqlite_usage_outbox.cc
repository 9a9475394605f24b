#include "usage/sqlite/sqlite_usage_outbox.h"

#include <algorithm>
#include <utility>

#include "core/assert.h"
#include "usage/sqlite/usage_columns.h"

namespace tollgate::usage {
namespace {

constexpr const char* kOutboxSchema = R"sql(
CREATE TABLE IF NOT EXISTS usage_export_cursors (
  sink TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL CHECK (last_seq >= 0)
) STRICT;
)sql";

void check_sink_name(const std::string& sink) {
    TOLLGATE_ASSERT(!sink.empty() && sink.size() <= kSinkNameBytesMax);
}

// The one partition of this outbox.
void check_partition(int partition) { TOLLGATE_ASSERT(partition == 0); }

}  // namespace

core::Result<std::unique_ptr<SqliteUsageOutbox>> SqliteUsageOutbox::open(store::Database& db) {
    core::Status s = db.exec(kOutboxSchema);
    if (!s.ok()) return s.error();
    return std::unique_ptr<SqliteUsageOutbox>(new SqliteUsageOutbox(db));
}

core::Result<std::vector<OutboxRow>> SqliteUsageOutbox::after(int partition, std::int64_t after_seq,
                                                              std::size_t limit) {
    check_partition(partition);
    TOLLGATE_ASSERT(after_seq >= 0);
    const std::size_t page_max = std::min(limit, kOutboxPageMax);
    std::vector<OutboxRow> out;
    if (page_max == 0) return out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, std::string("SELECT ") + kUsageColumns +
                                     ", rowid FROM usage_records WHERE rowid > ?1 "
                                     "ORDER BY rowid LIMIT ?2");
        st.bind(1, after_seq).bind(2, static_cast<std::int64_t>(page_max));
        while (st.step()) {
            OutboxRow row;
            row.record = read_usage_record(st);
            row.seq = st.column_int64(kUsageColumnCount);
            TOLLGATE_ASSERT(row.seq > (out.empty() ? after_seq : out.back().seq));
            out.push_back(std::move(row));
        }
        return {};
    });
    if (!s.ok()) return s.error();
    TOLLGATE_ASSERT(out.size() <= page_max);
    return out;
}

core::Result<std::int64_t> SqliteUsageOutbox::cursor(const std::string& sink, int partition) {
    check_sink_name(sink);
    check_partition(partition);
    std::int64_t seq = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, "SELECT last_seq FROM usage_export_cursors WHERE sink = ?1");
        if (st.bind(1, sink).step()) seq = st.column_int64(0);
        return {};
    });
    if (!s.ok()) return s.error();
    return seq;
}

core::Status SqliteUsageOutbox::advance(const std::string& sink, int partition, std::int64_t seq) {
    check_sink_name(sink);
    check_partition(partition);
    TOLLGATE_ASSERT(seq >= 0);
    return store::transact(db_, [&]() -> core::Status {
        store::Statement newest(db_, "SELECT coalesce(max(rowid), 0) FROM usage_records");
        newest.step();
        if (seq > newest.column_int64(0)) {
            return core::make_error(
                "invalid_cursor", "cursor " + std::to_string(seq) + " is beyond the newest record");
        }
        // max(): a slower exporter's late acknowledgement never moves it back.
        store::Statement(
            db_,
            "INSERT INTO usage_export_cursors(sink, last_seq) VALUES (?1, ?2) "
            "ON CONFLICT(sink) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)")
            .bind(1, sink)
            .bind(2, seq)
            .run();
        return {};
    });
}

core::Result<std::int64_t> SqliteUsageOutbox::pending(const std::string& sink) {
    check_sink_name(sink);
    std::int64_t count = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT count(*) FROM usage_records WHERE rowid > coalesce("
                            "(SELECT last_seq FROM usage_export_cursors WHERE sink = ?1), 0)");
        if (st.bind(1, sink).step()) count = st.column_int64(0);
        return {};
    });
    if (!s.ok()) return s.error();
    return count;
}

}  // namespace tollgate::usage
