// The Redis job store (see redis_job_store.h for its keys).
//
// A job is a hash with one field per Job member, written whole by
// job_insert and in part by job_transition (redis_job_lua.cc). Reads that
// cross accounts (a tenant's jobs, the jobs attached to another, every
// shard's unfinished jobs) go through indexes and read each job back from
// its account, keeping only those that still match: an index entry of a job
// whose insert never ran is skipped.
#include "jobs/redis/redis_job_store.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "core/assert.h"
#include "jobs/redis/redis_job_lua.h"
#include "store/redis/redis_text.h"

namespace tollgate::jobs {

using store::redis::Reply;

namespace {

// Index entries read per cross-account query at most, stale ones included.
constexpr std::size_t kIndexScanMax = 4'096;

using store::redis::stored_int64;
using store::redis::stored_member;

std::string phash_text(const std::optional<std::uint64_t>& h) {
    return h.has_value() ? std::to_string(*h) : std::string();
}

std::optional<std::uint64_t> parse_phash(const std::string& text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    TOLLGATE_ASSERT(r.ec == std::errc() && r.ptr == text.data() + text.size());
    return v;
}

// The script of one store operation: the jobs prelude and a body.
store::redis::Script with_prelude(const char* body) {
    return store::redis::Script(std::string(redis_lua::jobs_prelude()) + body);
}

using Fields = std::map<std::string, std::string>;

Fields to_fields(const Reply& flat) {
    Fields out;
    TOLLGATE_ASSERT(flat.type == Reply::Type::Array && flat.elements.size() % 2 == 0);
    for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
        out[flat.elements[i].text] = flat.elements[i + 1].text;
    return out;
}

const std::string& field(const Fields& f, const char* name) {
    static const std::string kEmpty;
    auto it = f.find(name);
    return it == f.end() ? kEmpty : it->second;
}

Job job_from(const Fields& f) {
    Job j;
    j.id = field(f, "id");
    j.account_id = field(f, "account_id");
    j.workflow = field(f, "workflow");
    auto state = parse_job_state(field(f, "state"));
    TOLLGATE_ASSERT(state.has_value());  // written by job_fields() and job_transition only
    j.state = *state;
    j.tokens = stored_int64(field(f, "tokens"));
    j.book_version = field(f, "book_version");
    j.quote_json = field(f, "quote_json");
    j.width = stored_int64(field(f, "width"));
    j.height = stored_int64(field(f, "height"));
    j.format = field(f, "format");
    j.md5_hex = field(f, "md5");
    j.sha256_hex = field(f, "sha256");
    j.worker = field(f, "worker");
    j.prompt_id = field(f, "prompt_id");
    j.result_path = field(f, "result_path");
    j.failure_reason = field(f, "failure_reason");
    j.created_ms = stored_int64(field(f, "created_ms"));
    j.finished_ms = stored_int64(field(f, "finished_ms"));
    j.webhook_url = field(f, "webhook_url");
    j.tenant = field(f, "tenant");
    j.dedupe_key = field(f, "dedupe_key");
    j.phash = parse_phash(field(f, "phash"));
    auto kind = parse_dedupe_kind(field(f, "dedupe_kind"));
    TOLLGATE_ASSERT(kind.has_value());
    j.dedupe_kind = *kind;
    j.dedupe_of = field(f, "dedupe_of");
    j.dedupe_distance = stored_int64(field(f, "dedupe_distance"));
    j.dedupe_reused = field(f, "dedupe_reused") == "1";
    return j;
}

DedupeCandidate candidate_from(const Job& j) {
    DedupeCandidate c;
    c.job_id = j.id;
    c.account_id = j.account_id;
    c.tenant = j.tenant;
    c.workflow = j.workflow;
    c.dedupe_key = j.dedupe_key;
    c.state = j.state;
    c.reused = j.dedupe_reused;
    c.phash = j.phash;
    c.created_ms = j.created_ms;
    return c;
}

}  // namespace

std::vector<std::string> job_fields(const Job& j) {
    return {"id",
            j.id,
            "account_id",
            j.account_id,
            "workflow",
            j.workflow,
            "state",
            std::string(to_string(j.state)),
            "tokens",
            std::to_string(j.tokens),
            "book_version",
            j.book_version,
            "quote_json",
            j.quote_json,
            "width",
            std::to_string(j.width),
            "height",
            std::to_string(j.height),
            "format",
            j.format,
            "md5",
            j.md5_hex,
            "sha256",
            j.sha256_hex,
            "worker",
            j.worker,
            "prompt_id",
            j.prompt_id,
            "result_path",
            j.result_path,
            "failure_reason",
            j.failure_reason,
            "created_ms",
            std::to_string(j.created_ms),
            "finished_ms",
            std::to_string(j.finished_ms),
            "webhook_url",
            j.webhook_url,
            "tenant",
            j.tenant,
            "dedupe_key",
            j.dedupe_key,
            "phash",
            phash_text(j.phash),
            "dedupe_kind",
            std::string(to_string(j.dedupe_kind)),
            "dedupe_of",
            j.dedupe_of,
            "dedupe_distance",
            std::to_string(j.dedupe_distance),
            "dedupe_reused",
            j.dedupe_reused ? "1" : "0"};
}

std::vector<std::string> transition_fields(const Job& u) {
    return {"worker",         u.worker,
            "prompt_id",      u.prompt_id,
            "result_path",    u.result_path,
            "failure_reason", u.failure_reason,
            "finished_ms",    std::to_string(u.finished_ms)};
}

core::Result<std::unique_ptr<RedisJobStore>> RedisJobStore::open(store::redis::Client& client,
                                                                 std::string prefix) {
    if (core::Status s = store::redis::check_prefix(prefix); !s.ok()) return s.error();
    return std::unique_ptr<RedisJobStore>(new RedisJobStore(client, std::move(prefix)));
}

core::Status RedisJobStore::index_new_job(const Job& j) {
    const std::string member = j.account_id + "\t" + j.id;
    const std::string created = std::to_string(j.created_ms);
    const std::string index = store::redis::owner_key(prefix_, j.id);
    auto claimed = client_.command(index, {"SET", index, j.account_id, "NX", "GET"});
    if (!claimed.ok()) return claimed.error();
    if (!claimed->is_nil() && claimed->text != j.account_id)
        return core::make_error("job_exists", "job " + j.id + " belongs to another account");
    if (!j.tenant.empty()) {
        const std::string jobs = prefix_ + "tenant:" + j.tenant + ":jobs";
        if (auto r = client_.command(jobs, {"ZADD", jobs, created, member}); !r.ok())
            return r.error();
        if (!j.dedupe_key.empty()) {
            const std::string dk = prefix_ + "tenant:" + j.tenant + ":dk:" + j.dedupe_key;
            if (auto r = client_.command(dk, {"ZADD", dk, created, member}); !r.ok())
                return r.error();
        }
    }
    if (j.dedupe_reused && !j.dedupe_of.empty()) {
        const std::string attached = prefix_ + "attached:" + j.dedupe_of;
        if (auto r = client_.command(attached, {"ZADD", attached, created, member}); !r.ok())
            return r.error();
    }
    return {};
}

core::Status RedisJobStore::insert(const Job& j) {
    TOLLGATE_ASSERT(j.state == JobState::Admitted);
    TOLLGATE_ASSERT((j.dedupe_kind == DedupeKind::None) == j.dedupe_of.empty());
    TOLLGATE_ASSERT(!j.dedupe_reused || (j.dedupe_kind != DedupeKind::None && j.tokens == 0));
    if (core::Status s = index_new_job(j); !s.ok()) return s;
    static const store::redis::Script script = with_prelude(R"lua(
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
return job_insert(ARGV[1], ARGV[2], ARGV[3], fields[2], fields)
)lua");
    std::vector<std::string> args = {store::redis::account_base(prefix_, j.account_id),
                                     shard_base(j.account_id), j.account_id};
    for (std::string& f : job_fields(j)) args.push_back(std::move(f));
    auto r =
        client_.eval(script, {store::redis::account_base(prefix_, j.account_id) + "jobs"}, args);
    if (!r.ok()) return r.error();
    if (r->text == "exists") return core::make_error("job_exists", "job " + j.id + " exists");
    return {};
}

std::string RedisJobStore::shard_base(const std::string& account_id) const {
    return store::redis::shard_base(prefix_, store::redis::shard_of(account_id));
}

core::Result<std::optional<std::string>> RedisJobStore::job_account(const std::string& job_id) {
    const std::string index = store::redis::owner_key(prefix_, job_id);
    auto r = client_.command(index, {"GET", index});
    if (!r.ok()) return r.error();
    if (r->is_nil()) return std::optional<std::string>();
    return std::optional<std::string>(r->text);
}

core::Status RedisJobStore::transition(const std::string& job_id, JobState to, const Job& u) {
    auto account = job_account(job_id);
    if (!account.ok()) return account.error();
    if (!account->has_value()) return core::make_error("unknown_job", job_id);
    static const store::redis::Script script = with_prelude(R"lua(
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
local outcome, from = job_transition(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], fields)
return {outcome, from}
)lua");
    const std::string abase = store::redis::account_base(prefix_, **account);
    std::vector<std::string> args = {abase, shard_base(**account), **account, job_id,
                                     std::string(to_string(to))};
    for (std::string& f : transition_fields(u)) args.push_back(std::move(f));
    auto r = client_.eval(script, {abase + "job:" + job_id}, args);
    if (!r.ok()) return r.error();
    TOLLGATE_ASSERT(r->elements.size() == 2);
    const std::string& outcome = r->elements[0].text;
    if (outcome == "unknown_job") return core::make_error("unknown_job", job_id);
    if (outcome == "illegal") {
        return core::make_error("illegal_transition",
                                r->elements[1].text + " -> " + std::string(to_string(to)));
    }
    TOLLGATE_ASSERT(outcome == "ok");
    return {};
}

core::Result<std::optional<Job>> RedisJobStore::read_job(const std::string& account_id,
                                                         const std::string& job_id) {
    const std::string key = store::redis::account_base(prefix_, account_id) + "job:" + job_id;
    auto r = client_.command(key, {"HGETALL", key});
    if (!r.ok()) return r.error();
    if (r->elements.empty()) return std::optional<Job>();
    Job j = job_from(to_fields(*r));
    TOLLGATE_ASSERT(j.id == job_id && j.account_id == account_id);
    return std::optional<Job>(std::move(j));
}

core::Result<std::optional<Job>> RedisJobStore::get(const std::string& job_id) {
    auto account = job_account(job_id);
    if (!account.ok()) return account.error();
    if (!account->has_value()) return std::optional<Job>();
    return read_job(**account, job_id);
}

core::Result<std::vector<Job>> RedisJobStore::unfinished() {
    std::vector<Job> out;
    for (int shard = 0; shard < store::redis::kRedisShards; ++shard) {
        const std::string key = store::redis::shard_base(prefix_, shard) + "unfinished";
        auto members =
            client_.command(key, {"ZRANGE", key, "0", std::to_string(kRedisUnfinishedMax - 1)});
        if (!members.ok()) return members.error();
        for (const Reply& m : members->elements) {
            auto [account, id] = stored_member(m.text);
            auto job = read_job(account, id);
            if (!job.ok()) return job.error();
            if (job->has_value() && !is_final((*job)->state)) out.push_back(std::move(**job));
        }
    }
    std::sort(out.begin(), out.end(), [](const Job& a, const Job& b) {
        return std::tie(a.created_ms, a.id) < std::tie(b.created_ms, b.id);
    });
    if (out.size() > kRedisUnfinishedMax) out.resize(kRedisUnfinishedMax);
    return out;
}

core::Result<JobStore::RecentJobs> RedisJobStore::recent(const std::string& account_id,
                                                         std::int64_t since_ms) {
    const std::string key = store::redis::account_base(prefix_, account_id) + "jobs";
    const std::string since = std::to_string(since_ms);
    RecentJobs out;
    auto count = client_.command(key, {"ZCOUNT", key, since, "+inf"});
    if (!count.ok()) return count.error();
    out.count = count->integer;
    if (out.count == 0) return out;
    auto oldest = client_.command(
        key, {"ZRANGE", key, since, "+inf", "BYSCORE", "LIMIT", "0", "1", "WITHSCORES"});
    if (!oldest.ok()) return oldest.error();
    if (oldest->elements.size() == 2) out.oldest_ms = stored_int64(oldest->elements[1].text);
    return out;
}

core::Result<std::int64_t> RedisJobStore::count_unfinished(const std::string& account_id) {
    const std::string key = store::redis::account_base(prefix_, account_id) + "unfinished";
    auto r = client_.command(key, {"SCARD", key});
    if (!r.ok()) return r.error();
    return r->integer;
}

core::Status RedisJobStore::set_prompt(const std::string& job_id, const std::string& worker,
                                       const std::string& prompt_id) {
    auto account = job_account(job_id);
    if (!account.ok()) return account.error();
    if (!account->has_value()) return {};
    static const store::redis::Script script(R"lua(
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'admitted' or state == 'dispatched' then
  redis.call('HSET', KEYS[1], 'worker', ARGV[1], 'prompt_id', ARGV[2])
end
return 0
)lua");
    const std::string key = store::redis::account_base(prefix_, **account) + "job:" + job_id;
    auto r = client_.eval(script, {key}, {worker, prompt_id});
    if (!r.ok()) return r.error();
    return {};
}

core::Result<std::vector<Job>> RedisJobStore::read_members(const std::string& index,
                                                           const std::vector<std::string>& range,
                                                           std::size_t scan_max) {
    std::vector<std::string> argv = {"ZRANGE", index};
    argv.insert(argv.end(), range.begin(), range.end());
    argv.insert(argv.end(), {"LIMIT", "0", std::to_string(scan_max)});
    auto members = client_.command(index, argv);
    if (!members.ok()) return members.error();
    std::vector<Job> out;
    for (const Reply& m : members->elements) {
        auto parts = store::redis::split_member(m.text);
        if (!parts) return store::redis::malformed_record(index + " member " + m.text);
        auto job = read_job(parts->first, parts->second);
        if (!job.ok()) return job.error();
        if (job->has_value()) out.push_back(std::move(**job));
    }
    return out;
}

core::Result<std::vector<DedupeCandidate>> RedisJobStore::dedupe_key_matches(
    const DedupeScopeKey& scope, const std::string& dedupe_key, std::int64_t since_ms,
    std::size_t limit) {
    std::vector<DedupeCandidate> out;
    if (dedupe_key.empty() || limit == 0) return out;
    std::vector<Job> jobs;
    const std::vector<std::string> range = {std::to_string(since_ms), "+inf", "BYSCORE"};
    if (scope.whole_tenant()) {
        auto found = read_members(prefix_ + "tenant:" + scope.tenant + ":dk:" + dedupe_key, range,
                                  kIndexScanMax);
        if (!found.ok()) return found.error();
        jobs = std::move(found).value();
    } else {
        const std::string abase = store::redis::account_base(prefix_, scope.account_id);
        const std::string index = abase + "dk:" + dedupe_key;
        std::vector<std::string> argv = {"ZRANGE", index};
        argv.insert(argv.end(), range.begin(), range.end());
        argv.insert(argv.end(), {"LIMIT", "0", std::to_string(kIndexScanMax)});
        auto ids = client_.command(index, argv);
        if (!ids.ok()) return ids.error();
        for (const Reply& id : ids->elements) {
            auto job = read_job(scope.account_id, id.text);
            if (!job.ok()) return job.error();
            if (job->has_value()) jobs.push_back(std::move(**job));
        }
    }
    for (const Job& j : jobs) {
        if (out.size() == limit) break;
        // The filters of SqliteJobStore::dedupe_key_matches.
        if (j.dedupe_key != dedupe_key || j.tenant != scope.tenant || j.created_ms < since_ms ||
            j.state == JobState::Failed || j.dedupe_reused) {
            continue;
        }
        if (!scope.whole_tenant() && j.account_id != scope.account_id) continue;
        out.push_back(candidate_from(j));
    }
    return out;
}

core::Result<std::vector<DedupeCandidate>> RedisJobStore::recent_in_scope(
    const DedupeScopeKey& scope, std::int64_t since_ms, std::size_t limit) {
    std::vector<DedupeCandidate> out;
    if (limit == 0) return out;
    const std::vector<std::string> range = {"+inf", std::to_string(since_ms), "BYSCORE", "REV"};
    std::vector<Job> jobs;
    if (scope.whole_tenant()) {
        auto found = read_members(prefix_ + "tenant:" + scope.tenant + ":jobs", range, limit);
        if (!found.ok()) return found.error();
        jobs = std::move(found).value();
    } else {
        const std::string index = store::redis::account_base(prefix_, scope.account_id) + "jobs";
        auto ids = client_.command(index, {"ZRANGE", index, "+inf", std::to_string(since_ms),
                                           "BYSCORE", "REV", "LIMIT", "0", std::to_string(limit)});
        if (!ids.ok()) return ids.error();
        for (const Reply& id : ids->elements) {
            auto job = read_job(scope.account_id, id.text);
            if (!job.ok()) return job.error();
            if (job->has_value()) jobs.push_back(std::move(**job));
        }
    }
    for (const Job& j : jobs) {
        if (scope.whole_tenant() && j.tenant != scope.tenant) continue;
        out.push_back(candidate_from(j));
    }
    // Newest first, as SQLite orders them (created_ms DESC).
    std::stable_sort(out.begin(), out.end(),
                     [](const DedupeCandidate& a, const DedupeCandidate& b) {
                         return a.created_ms > b.created_ms;
                     });
    return out;
}

core::Result<std::vector<Job>> RedisJobStore::attached_jobs(const std::string& job_id,
                                                            std::size_t limit) {
    auto found =
        read_members(prefix_ + "attached:" + job_id, {"-inf", "+inf", "BYSCORE"}, kIndexScanMax);
    if (!found.ok()) return found.error();
    std::vector<Job> out;
    for (Job& j : *found) {
        if (out.size() == limit) break;
        if (j.dedupe_reused && j.dedupe_of == job_id && !is_final(j.state))
            out.push_back(std::move(j));
    }
    return out;
}

core::Result<std::vector<Job>> RedisJobStore::attached(const std::string& job_id,
                                                       std::size_t limit) {
    if (limit == 0) return std::vector<Job>();
    return attached_jobs(job_id, limit);
}

core::Result<std::int64_t> RedisJobStore::count_attached(const std::string& job_id) {
    auto jobs = attached_jobs(job_id, kIndexScanMax);
    if (!jobs.ok()) return jobs.error();
    return static_cast<std::int64_t>(jobs->size());
}

core::Result<std::optional<IdempotencyRecord>> RedisJobStore::find_idempotency(
    const std::string& account_id, const std::string& key) {
    const std::string k = store::redis::account_base(prefix_, account_id) + "idem:" + key;
    auto r = client_.command(k, {"HGETALL", k});
    if (!r.ok()) return r.error();
    if (r->elements.empty()) return std::optional<IdempotencyRecord>();
    const Fields f = to_fields(*r);
    return std::optional<IdempotencyRecord>(
        IdempotencyRecord{account_id, key, field(f, "request_sha256"), field(f, "job_id"),
                          static_cast<int>(stored_int64(field(f, "status"))),
                          field(f, "response_json"), stored_int64(field(f, "created_ms"))});
}

std::vector<std::string> idempotency_fields(const IdempotencyRecord& r) {
    return {"request_sha256", r.request_sha256,
            "job_id",         r.job_id,
            "status",         std::to_string(r.status),
            "response_json",  r.response_json,
            "created_ms",     std::to_string(r.created_ms)};
}

core::Status RedisJobStore::insert_idempotency(const IdempotencyRecord& r) {
    TOLLGATE_ASSERT(!r.key.empty() && !r.job_id.empty() && r.status > 0);
    static const store::redis::Script script(R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
)lua");
    const std::string k = store::redis::account_base(prefix_, r.account_id) + "idem:" + r.key;
    auto done = client_.eval(script, {k}, idempotency_fields(r));
    if (!done.ok()) return done.error();
    if (done->integer == 0)
        return core::make_error("idempotency_key_exists", "key " + r.key + " is recorded");
    return {};
}

core::Status RedisJobStore::delete_idempotency(const std::string& account_id,
                                               const std::string& key) {
    const std::string k = store::redis::account_base(prefix_, account_id) + "idem:" + key;
    auto r = client_.command(k, {"DEL", k});
    if (!r.ok()) return r.error();
    return {};
}

}  // namespace tollgate::jobs
