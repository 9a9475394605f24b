#include "jobs/sqlite/sqlite_job_store.h"

#include <bit>

#include "core/assert.h"
#include "store/added_columns.h"

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
  webhook_url TEXT NOT NULL DEFAULT '',
  tenant TEXT NOT NULL DEFAULT '',
  dedupe_key TEXT NOT NULL DEFAULT '',
  phash INTEGER,
  dedupe_kind TEXT NOT NULL DEFAULT '' CHECK (dedupe_kind IN ('', 'exact', 'near')),
  dedupe_of TEXT NOT NULL DEFAULT '',
  dedupe_distance INTEGER NOT NULL DEFAULT 0,
  dedupe_reused INTEGER NOT NULL DEFAULT 0 CHECK (dedupe_reused IN (0, 1))
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

// Indexes on columns that a file made before them gains only when opened
// (kAddedColumns), so they are created after those columns exist. The exact
// duplicate lookup goes by key, then scope; the near one reads a tenant's
// latest jobs (an account's come from jobs_by_account); a settling job finds
// the duplicates attached to it.
constexpr const char* kDedupeIndexes = R"sql(
CREATE INDEX IF NOT EXISTS jobs_by_dedupe_key ON jobs(dedupe_key, tenant, account_id, created_ms)
  WHERE dedupe_key <> '';
CREATE INDEX IF NOT EXISTS jobs_by_tenant ON jobs(tenant, created_ms) WHERE tenant <> '';
CREATE INDEX IF NOT EXISTS jobs_attached ON jobs(dedupe_of, created_ms)
  WHERE dedupe_reused = 1 AND state IN ('admitted', 'dispatched');
)sql";

constexpr const char* kColumns =
    "id, account_id, workflow, state, tokens, book_version, quote_json, width, height, format, "
    "md5, sha256, worker, prompt_id, result_path, failure_reason, created_ms, finished_ms, "
    "webhook_url, tenant, dedupe_key, phash, dedupe_kind, dedupe_of, dedupe_distance, "
    "dedupe_reused";

// What decide() needs of an earlier job (jobs/dedupe.h).
constexpr const char* kCandidateColumns =
    "id, account_id, tenant, workflow, dedupe_key, state, dedupe_reused, phash, created_ms";

// A 64-bit hash is stored as the signed integer with the same bits.
std::int64_t stored_hash(std::uint64_t hash) { return std::bit_cast<std::int64_t>(hash); }
std::optional<std::uint64_t> read_hash(const store::Statement& st, int column) {
    if (st.column_is_null(column)) return std::nullopt;
    return std::bit_cast<std::uint64_t>(st.column_int64(column));
}

DedupeCandidate read_candidate(const store::Statement& st) {
    DedupeCandidate c;
    c.job_id = st.column_text(0);
    c.account_id = st.column_text(1);
    c.tenant = st.column_text(2);
    c.workflow = st.column_text(3);
    c.dedupe_key = st.column_text(4);
    auto state = parse_job_state(st.column_text(5));
    TOLLGATE_ASSERT(state.has_value());  // the CHECK constraint guarantees it
    c.state = *state;
    c.reused = st.column_int64(6) != 0;
    c.phash = read_hash(st, 7);
    c.created_ms = st.column_int64(8);
    return c;
}

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
    j.tenant = st.column_text(19);
    j.dedupe_key = st.column_text(20);
    j.phash = read_hash(st, 21);
    auto kind = parse_dedupe_kind(st.column_text(22));
    TOLLGATE_ASSERT(kind.has_value());  // the CHECK constraint guarantees it
    j.dedupe_kind = *kind;
    j.dedupe_of = st.column_text(23);
    j.dedupe_distance = st.column_int64(24);
    j.dedupe_reused = st.column_int64(25) != 0;
    return j;
}

// Columns added after the jobs table first shipped, with what ALTER TABLE
// adds them as. A file made before one was added gains it when opened; its
// default is what every earlier job had (no webhook, no tenant recorded, no
// dedupe key or hash, not a duplicate).
constexpr store::AddedColumn kAddedColumns[] = {
    {"webhook_url", "TEXT NOT NULL DEFAULT ''"},
    {"tenant", "TEXT NOT NULL DEFAULT ''"},
    {"dedupe_key", "TEXT NOT NULL DEFAULT ''"},
    {"phash", "INTEGER"},
    {"dedupe_kind", "TEXT NOT NULL DEFAULT '' CHECK (dedupe_kind IN ('', 'exact', 'near'))"},
    {"dedupe_of", "TEXT NOT NULL DEFAULT ''"},
    {"dedupe_distance", "INTEGER NOT NULL DEFAULT 0"},
    {"dedupe_reused", "INTEGER NOT NULL DEFAULT 0 CHECK (dedupe_reused IN (0, 1))"},
};

}  // namespace

core::Result<std::unique_ptr<SqliteJobStore>> SqliteJobStore::open(store::Database& db) {
    core::Status s = db.exec(kSchema);
    if (!s.ok()) return s.error();
    s = store::add_missing_columns(db, "jobs", kAddedColumns);
    if (!s.ok()) return s.error();
    s = db.exec(kDedupeIndexes);
    if (!s.ok()) return s.error();
    return std::unique_ptr<SqliteJobStore>(new SqliteJobStore(db));
}

core::Status SqliteJobStore::insert(const Job& j) {
    TOLLGATE_ASSERT(j.state == JobState::Admitted);
    // A duplicate names its earlier job; a reused one was never charged.
    TOLLGATE_ASSERT((j.dedupe_kind == DedupeKind::None) == j.dedupe_of.empty());
    TOLLGATE_ASSERT(!j.dedupe_reused || (j.dedupe_kind != DedupeKind::None && j.tokens == 0));
    return store::transact(db_, [&]() -> core::Status {
        store::Statement insert(db_,
                                std::string("INSERT INTO jobs(") + kColumns +
                                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                                    "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
                                    "?25, ?26)");
        insert.bind(1, j.id)
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
            .bind(20, j.tenant)
            .bind(21, j.dedupe_key);
        if (j.phash) {
            insert.bind(22, stored_hash(*j.phash));
        } else {
            insert.bind_null(22);
        }
        insert.bind(23, to_string(j.dedupe_kind))
            .bind(24, j.dedupe_of)
            .bind(25, j.dedupe_distance)
            .bind(26, static_cast<std::int64_t>(j.dedupe_reused ? 1 : 0))
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

core::Result<std::vector<DedupeCandidate>> SqliteJobStore::dedupe_key_matches(
    const DedupeScopeKey& scope, const std::string& dedupe_key, std::int64_t since_ms,
    std::size_t limit) {
    std::vector<DedupeCandidate> out;
    if (dedupe_key.empty() || limit == 0) return out;
    // Both forms walk jobs_by_dedupe_key: key and tenant, then the account.
    const std::string sql =
        std::string("SELECT ") + kCandidateColumns +
        " FROM jobs WHERE dedupe_key = ?1 AND dedupe_key <> '' AND tenant = ?2" +
        (scope.whole_tenant() ? "" : " AND account_id = ?5") +
        " AND created_ms >= ?3 AND state <> 'failed' AND dedupe_reused = 0"
        " ORDER BY created_ms LIMIT ?4";
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, sql);
        st.bind(1, dedupe_key).bind(2, scope.tenant).bind(3, since_ms);
        st.bind(4, static_cast<std::int64_t>(limit));
        if (!scope.whole_tenant()) st.bind(5, scope.account_id);
        while (st.step()) out.push_back(read_candidate(st));
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::vector<DedupeCandidate>> SqliteJobStore::recent_in_scope(
    const DedupeScopeKey& scope, std::int64_t since_ms, std::size_t limit) {
    std::vector<DedupeCandidate> out;
    if (limit == 0) return out;
    // An account's jobs come from jobs_by_account, a tenant's from
    // jobs_by_tenant; other filters are left to the caller, so that LIMIT
    // bounds the rows read.
    const std::string sql =
        std::string("SELECT ") + kCandidateColumns + " FROM jobs WHERE " +
        (scope.whole_tenant() ? "tenant = ?1 AND tenant <> ''" : "account_id = ?1") +
        " AND created_ms >= ?2 ORDER BY created_ms DESC LIMIT ?3";
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, sql);
        st.bind(1, scope.whole_tenant() ? scope.tenant : scope.account_id);
        st.bind(2, since_ms).bind(3, static_cast<std::int64_t>(limit));
        while (st.step()) out.push_back(read_candidate(st));
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::vector<Job>> SqliteJobStore::attached(const std::string& job_id,
                                                        std::size_t limit) {
    std::vector<Job> out;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_, std::string("SELECT ") + kColumns +
                                     " FROM jobs WHERE dedupe_of = ?1 AND dedupe_reused = 1 "
                                     "AND state IN ('admitted', 'dispatched') "
                                     "ORDER BY created_ms LIMIT ?2");
        st.bind(1, job_id).bind(2, static_cast<std::int64_t>(limit));
        while (st.step()) out.push_back(read_job(st));
        return {};
    });
    if (!s.ok()) return s.error();
    return out;
}

core::Result<std::int64_t> SqliteJobStore::count_attached(const std::string& job_id) {
    std::int64_t count = 0;
    core::Status s = store::transact(db_, [&]() -> core::Status {
        store::Statement st(db_,
                            "SELECT count(*) FROM jobs WHERE dedupe_of = ?1 AND dedupe_reused = 1 "
                            "AND state IN ('admitted', 'dispatched')");
        if (st.bind(1, job_id).step()) count = st.column_int64(0);
        return {};
    });
    if (!s.ok()) return s.error();
    return count;
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
