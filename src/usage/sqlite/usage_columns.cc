#include "usage/sqlite/usage_columns.h"

namespace tollgate::usage {

UsageRecord read_usage_record(const store::Statement& st) {
    UsageRecord r;
    r.job_id = st.column_text(0);
    r.account_id = st.column_text(1);
    r.workflow = st.column_text(2);
    r.width = st.column_int64(3);
    r.height = st.column_int64(4);
    r.tokens = st.column_int64(5);
    r.quoted_tokens = st.column_int64(6);
    r.book_version = st.column_text(7);
    r.md5_hex = st.column_text(8);
    r.sha256_hex = st.column_text(9);
    r.worker = st.column_text(10);
    r.queue_wait_ms = st.column_int64(11);
    r.execution_ms = st.column_int64(12);
    r.outcome = st.column_text(13);
    r.failure_reason = st.column_text(14);
    r.finished_ms = st.column_int64(15);
    r.vram_peak_bytes = st.column_int64(16);
    r.attempts = st.column_int64(17);
    r.dedupe_kind = st.column_text(18);
    r.dedupe_of = st.column_text(19);
    r.dedupe_distance = st.column_int64(20);
    r.meter_wall_ms = st.column_int64(21);
    r.meter_gpu_peak_bytes = st.column_int64(22);
    return r;
}

}  // namespace tollgate::usage
