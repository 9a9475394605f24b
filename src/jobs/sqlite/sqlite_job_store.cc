#include "jobs/sqlite/sqlite_job_store.h"

#include "core/assert.h"

namespace tollgate::jobs {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  workflow TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('admitted', 'dispatched', 'succeeded', 'failed')),
  tokens INTEGER NOT NULL CHECK (tokens >= 0),
  book_version TEXT NOT NULL,
  quote_json TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  format TEXT NOT NULL,
  md5 TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  worker TEXT NOT NULL DEFAULT '',
  prompt_id TEXT NOT NULL DEFAULT '',
  result_path TEXT NOT NULL DEFAULT '',
  failure_reason TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  webhook_url TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs(state) WHERE state IN ('admitted', 'dispatched');
CREATE INDEX IF NOT EXISTS jobs_by_account ON jobs(account_id, created_ms);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  account_id TEXT NOT NULL,
  key TEXT NOT NULL,
  request_sha256 TEXT NOT NULL,
  job_id TEXT NOT NULL REFERENCES jobs(id),
  status INTEGER NOT NULL,
  response_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, key)
) STRICT;
)sql";

constexpr const char* kColumns =
    "id, account_id, workflow, state, tokens, book_version, quote_json, width, height, format, "
    "md5, sha256, worker, prompt_id, result_path, failure_reason, created_ms, finished_ms, "
    "webhook_url";

Job read_job(const store::Statement& st) {
    Job j;
    j.id = st.column_text(0);
    j.account_id = st.column_text(1);
    j.workflow = st.column_text(2);
    auto state = parse_job_state(st.column_text(3));
    TOLLGATE_ASSERT(state.has_value());  // the CHECK constraint guarantees it
    j.state = *state;
    j.tokens = st.column_int64(4);
    j.book_version = st.column_text(5);
    j.quote_json = st.column_text(6);
    j.width = st.column_int64(7);
    j.height = st.column_int64(8);
    j.format = st.column_text(9);
    j.md5_hex = st.column_text(10);
    j.sha256_hex = st.column_text(11);
    j.worker = st.column_text(12);
    j.prompt_id = st.column_text(13);
    j.result_path = st.column_text(14);
    j.failure_reason = st.column_text(15);
    j.created_ms = st.column_int64(16);
    j.finished_ms = st.column_int64(17);
    j.webhook_url = st.column_text(18);
    return j;
}

// Columns added after the jobs table first shipped, with what ALTER TABLE
// adds them as. A file made before one was added gains it when opened; its
// default is what every earlier job had (no webhook).
constexpr std::pair<const char*, const char*> kAddedColumns[] = {
    {"webhook_url", "TEXT NOT NULL DEFAULT ''"},
};

core::Status add_missing_columns(store::Database& db) {
    return store::transact(db, [&]() -> core::Status {
        for (const auto& [name, type] : kAddedColumns) {
            store::Statement has(db, "SELECT 1 FROM pragma_table_info('jobs') WHERE name = ?1");
            if (has.bind(1, name).step()) continue;
            core::Status s =
                db.exec(std::string("ALTER TABLE jobs ADD COLUMN ") + name + " " + type);
            if (!s.ok()) return s;
        }
        return {};
    });
}

}  // namespace

core::Result<std::unique_ptr<SqliteJobStore>> SqliteJobStore::open(store::Database& db) {
    core::Status s = db.exec(kSchema);
    if (!s.ok()) return s.error();
    s = add_missing_columns(db);
    if (!s.ok()) return s.error();
    return std::unique_ptr<SqliteJobStore>(new SqliteJobStore(db));
}

core::Status SqliteJobStore::insert(const Job& j) {
    TOLLGATE_ASSERT(j.state == JobState::Admitted);
    return store::transact(db_, [&]() -> core::Status {
        store::Statement(db_, std::string("INSERT INTO jobs(") + kColumns +
                                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                                  "?13, ?14, ?15, ?16, ?17, ?18, ?19)")
            .bind(1, j.id)
            .bind(2, j.account_id)
            .bind(3, j.workflow)
            .bind(4, to_string(j.state))
            .bind(5, j.tokens)
            .bind(6, j.book_version)
            .bind(7, j.quote_json)
            .bind(8, j.width)
            .bind(9, j.height)
            .bind(10, j.format)
            .bind(11, j.md5_hex)
            .bind(12, j.sha256_hex)
            .bind(13, j.worker)
            .bind(14, j.prompt_id)
            .bind(15, j.result_path)
            .bind(16, j.failure_reason)
            .bind(17, j.created_ms)
            .bind(18, j.finished_ms)
            .bind(19, j.webhook_url)
            .run();
        return {};
    });
}

core::Status SqliteJobStore::transition(const std::string& job_id, JobState to, const Job& u) {
    return store::transact(db_, [&]() -> core::Status {
        store::Statement cur(db_, "SELECT state FROM jobs WHERE id = ?1");
        if (!cur.bind(1, job_id).step()) return core::make_error("unknown_job", job_id);
        JobState from = *parse_job_state(cur.column_text(0));
        if (!can_transition(from, to)) {
            return core::make_error("illegal_transition", std::string(to_string(from)) + " -> " +
                                                              std::string(to_string(to)));
        }
        store::Statement(db_,
                         "UPDATE jobs SET state = ?1, worker = ?2, prompt_id = ?3, "
                         "result_path = ?4, failure_reason = ?5, finished_ms = ?6 WHERE id = ?7")
            .bind(1, to_string(to))
            .bind(2, u.worker)
            .bind(3, u.prompt_id)
            .bind(4, u.result_path)
            .bind(5, u.failure_reason)
            .bind(6, u.finished_ms)
            .bind(7, job_id)
            .run();
        return {};
    });
}

core::Result<std::optional<Job>> SqliteJobStore::get(const std::string& job_id) {
    std::optional<Job> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, std::string("SELECT ") + kColumns + " FROM jobs WHERE id = ?1");
        if (st.bind(1, job_id).step()) out = read_job(st);
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::vector<Job>> SqliteJobStore::unfinished() {
    std::vector<Job> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, std::string("SELECT ") + kColumns +
                                     " FROM jobs WHERE state IN ('admitted', 'dispatched') "
                                     "ORDER BY created_ms");
        while (st.step()) out.push_back(read_job(st));
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<JobStore::RecentJobs> SqliteJobStore::recent(const std::string& account_id,
                                                          std::int64_t since_ms) {
    RecentJobs out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT count(*), coalesce(min(created_ms), 0) FROM jobs "
                            "WHERE account_id = ?1 AND created_ms >= ?2");
        st.bind(1, account_id);
        st.bind(2, since_ms);
        if (st.step()) {
            out.count = st.column_int64(0);
            out.oldest_ms = st.column_int64(1);
        }
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::int64_t> SqliteJobStore::count_unfinished(const std::string& account_id) {
    std::int64_t count = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT count(*) FROM jobs WHERE account_id = ?1 "
                            "AND state IN ('admitted', 'dispatched')");
        st.bind(1, account_id);
        if (st.step()) count = st.column_int64(0);
        return {};
    });
    if (!s.ok()) return s.error();
    return count;
}

core::Status SqliteJobStore::set_prompt(const std::string& job_id, const std::string& worker,
                                        const std::string& prompt_id) {
    return store::transact(db_, [&]() -> core::Status {
        store::Statement(db_,
                         "UPDATE jobs SET worker = ?1, prompt_id = ?2 WHERE id = ?3 "
                         "AND state IN ('admitted', 'dispatched')")
            .bind(1, worker)
            .bind(2, prompt_id)
            .bind(3, job_id)
            .run();
        return {};
    });
}

core::Result<std::optional<IdempotencyRecord>> SqliteJobStore::find_idempotency(
    const std::string& account_id, const std::string& key) {
    std::optional<IdempotencyRecord> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT request_sha256, job_id, status, response_json, created_ms "
                            "FROM idempotency_keys WHERE account_id = ?1 AND key = ?2");
        st.bind(1, account_id).bind(2, key);
        if (st.step()) {
            out = IdempotencyRecord{account_id,
                                    key,
                                    st.column_text(0),
                                    st.column_text(1),
                                    static_cast<int>(st.column_int64(2)),
                                    st.column_text(3),
                                    st.column_int64(4)};
        }
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Status SqliteJobStore::insert_idempotency(const IdempotencyRecord& r) {
    TOLLGATE_ASSERT(!r.key.empty() && !r.job_id.empty() && r.status > 0);
    return store::transact(db_, [&]() -> core::Status {
        store::Statement exists(
            db_, "SELECT 1 FROM idempotency_keys WHERE account_id = ?1 AND key = ?2");
        if (exists.bind(1, r.account_id).bind(2, r.key).step()) {
            return core::make_error("idempotency_key_exists", "key " + r.key + " is recorded");
        }
        store::Statement(db_,
                         "INSERT INTO idempotency_keys(account_id, key, request_sha256, job_id, "
                         "status, response_json, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .bind(1, r.account_id)
            .bind(2, r.key)
            .bind(3, r.request_sha256)
            .bind(4, r.job_id)
            .bind(5, static_cast<std::int64_t>(r.status))
            .bind(6, r.response_json)
            .bind(7, r.created_ms)
            .run();
        return {};
    });
}

core::Status SqliteJobStore::delete_idempotency(const std::string& account_id,
                                                const std::string& key) {
    return store::transact(db_, [&]() -> core::Status {
        store::Statement(db_, "DELETE FROM idempotency_keys WHERE account_id = ?1 AND key = ?2")
            .bind(1, account_id)
            .bind(2, key)
            .run();
        return {};
    });
}

}  // namespace tollgate::jobs
