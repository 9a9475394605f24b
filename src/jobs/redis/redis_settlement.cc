// The two scripts of RedisSettlement (see redis_settlement.h). Each checks
// everything that can refuse it before its first write; the ledger's own
// functions (ledger_reserve, ledger_capture, ledger_void) refuse without
// writing, so a refusal leaves nothing behind.
#include "jobs/redis/redis_settlement.h"

#include "core/assert.h"
#include "jobs/redis/redis_job_lua.h"
#include "jobs/redis/redis_webhook_outbox.h"
#include "ledger/redis/redis_ledger.h"
#include "ledger/redis/redis_scripts.h"
#include "store/redis/redis_keys.h"
#include "usage/redis/redis_usage_lua.h"
#include "usage/usage_record_codec.h"

namespace tollgate::jobs {

using store::redis::Reply;

namespace {

const store::redis::Script& admit_script() {
    static const store::redis::Script script(std::string(ledger::redis_lua::books_prelude()) +
                                             redis_lua::jobs_prelude() + R"lua(
local abase, sbase, account, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local tokens, now, limit, ttl, memo = arg_num(5), arg_num(6), arg_num(7), arg_num(8), ARGV[9]
local idem_key, jobs_max, placeholder, nf = ARGV[10], arg_num(11), ARGV[12], arg_num(13)
local fields, idem = {}, {}
for i = 14, 13 + nf do fields[#fields + 1] = ARGV[i] end
for i = 14 + nf, #ARGV do idem[#idem + 1] = ARGV[i] end
if not account_exists() then return {'unknown_account', 0} end
local idem_record = abase .. 'idem:' .. idem_key
if idem_key ~= '' and redis.call('EXISTS', idem_record) == 1 then return {'replayed', 0} end
if jobs_max > 0 and redis.call('SCARD', abase .. 'unfinished') >= jobs_max then
  return {'too_many', 0}
end
check(redis.call('EXISTS', abase .. 'job:' .. id) == 0, 'a new job id is unused')
local outcome, avail = ledger_reserve(tokens, id, now, limit, ttl, memo)
if outcome ~= 'held' then return {outcome, avail} end
check(job_insert(abase, sbase, account, id, fields) == 'ok', 'the job is stored once')
local response = ''
if idem_key ~= '' then
  for i = 1, #idem, 2 do
    if idem[i] == 'response_json' then
      local at = string.find(idem[i + 1], placeholder, 1, true)
      check(at ~= nil, 'the stored response has a place for the balance')
      idem[i + 1] = string.sub(idem[i + 1], 1, at - 1) .. d(avail) ..
                    string.sub(idem[i + 1], at + string.len(placeholder))
      response = idem[i + 1]
    end
  end
  redis.call('HSET', idem_record, unpack(idem))
end
return {'held', avail, response}
)lua");
    return script;
}

const store::redis::Script& end_script() {
    static const store::redis::Script script(std::string(ledger::redis_lua::books_prelude()) +
                                             redis_lua::jobs_prelude() +
                                             usage::usage_lua_prelude() + R"lua(
local abase, sbase, account, id, to = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local has_hold, reason, now, record = ARGV[6] == '1', ARGV[7], arg_num(8), ARGV[9]
local finished_ms, execution_ms, shard, nf = arg_num(10), arg_num(11), arg_num(12), arg_num(13)
local fields, webhook = {}, {}
for i = 14, 13 + nf do fields[#fields + 1] = ARGV[i] end
for i = 14 + nf, #ARGV do webhook[#webhook + 1] = ARGV[i] end
local state = redis.call('HGET', abase .. 'job:' .. id, 'state')
if state == false or JOB_NEXT[state] == nil or not JOB_NEXT[state][to] then
  return {'job_not_open'}
end
if has_hold then
  local h = get_hold(id)
  if h == nil or h.state ~= 'open' then return {'hold_not_open'} end
  local settled
  if to == 'succeeded' then settled = ledger_capture(id, nil, now)
  else settled = ledger_void(id, reason, now) end
  check(settled == 'settled', 'an open hold settles')
end
check(job_transition(abase, sbase, account, id, to, fields) == 'ok', 'the job ends once')
usage_append(sbase, abase, id, record, finished_ms, execution_ms)
if #webhook > 0 then
  check(webhook_enqueue(abase, sbase, account, shard, id, webhook) == 'ok', 'a job ends with one delivery')
end
return {'ended'}
)lua");
    return script;
}

}  // namespace

core::Result<AdmitDone> RedisSettlement::admit(const AdmitStep& step) {
    const Job& job = step.job;
    TOLLGATE_ASSERT(job.state == JobState::Admitted && job.tokens > 0 && !job.dedupe_reused);
    // Also the hold's index: both are the job id's owner.
    if (core::Status s = jobs_.index_new_job(job); !s.ok()) return s.error();
    Job stored = job;
    stored.state = JobState::Dispatched;  // dispatched in the same step, as on SQLite
    const std::vector<std::string> fields = job_fields(stored);
    std::vector<std::string> args = {store::redis::account_base(prefix_, job.account_id),
                                     jobs_.shard_base(job.account_id),
                                     job.account_id,
                                     job.id,
                                     std::to_string(job.tokens),
                                     std::to_string(step.now_ms),
                                     std::to_string(step.credit_limit_tokens),
                                     std::to_string(step.hold_ttl_ms),
                                     step.hold_memo,
                                     step.idempotency ? step.idempotency->key : "",
                                     std::to_string(step.account_jobs_max),
                                     std::to_string(kAvailablePlaceholder),
                                     std::to_string(fields.size())};
    args.insert(args.end(), fields.begin(), fields.end());
    if (step.idempotency) {
        TOLLGATE_ASSERT(step.idempotency->job_id == job.id);
        for (std::string& f : idempotency_fields(*step.idempotency)) args.push_back(std::move(f));
    }
    auto r =
        client_.eval(admit_script(), ledger::redis_account_keys(prefix_, job.account_id), args);
    if (!r.ok()) return r.error();
    TOLLGATE_ASSERT(r->type == Reply::Type::Array && r->elements.size() >= 2);
    const std::string& outcome = r->elements[0].text;
    AdmitDone done;
    done.available = r->elements[1].integer;
    if (outcome == "held") {
        done.outcome = AdmitOutcome::Admitted;
        TOLLGATE_ASSERT(r->elements.size() == 3);
        done.response_json = r->elements[2].text;
    } else if (outcome == "replayed") {
        auto earlier = jobs_.find_idempotency(job.account_id, step.idempotency->key);
        if (!earlier.ok()) return earlier.error();
        TOLLGATE_ASSERT(earlier->has_value());  // records are only deleted for a refused job
        done.outcome = AdmitOutcome::Replayed;
        done.earlier = std::move(*earlier);
    } else if (outcome == "too_many") {
        done.outcome = AdmitOutcome::TooManyJobs;
    } else if (outcome == "insufficient") {
        done.outcome = AdmitOutcome::InsufficientBalance;
    } else {
        TOLLGATE_ASSERT(outcome == "unknown_account");
        done.outcome = AdmitOutcome::UnknownAccount;
    }
    return done;
}

core::Result<EndOutcome> RedisSettlement::end(const EndStep& step) {
    const Job& job = step.job;
    TOLLGATE_ASSERT(is_final(job.state));
    if (core::Status s = usage::check_usage_record(step.usage); !s.ok()) return s.error();
    const std::string record = usage::encode_usage_record(step.usage);
    if (record.size() > usage::kUsageRecordBytesMax)
        return core::make_error("invalid_usage_record",
                                "the usage record of " + job.id + " is too large");
    // The record's index is the job id's owner, set when the job was stored.
    std::vector<std::string> args = {store::redis::account_base(prefix_, job.account_id),
                                     jobs_.shard_base(job.account_id),
                                     job.account_id,
                                     job.id,
                                     std::string(to_string(job.state)),
                                     step.has_hold ? "1" : "0",
                                     job.failure_reason,
                                     std::to_string(job.finished_ms),
                                     record,
                                     std::to_string(step.usage.finished_ms),
                                     std::to_string(step.usage.execution_ms),
                                     std::to_string(store::redis::shard_of(job.account_id))};
    std::vector<std::string> fields = transition_fields(job);
    args.push_back(std::to_string(fields.size()));
    for (std::string& f : fields) args.push_back(std::move(f));
    if (step.webhook) {
        TOLLGATE_ASSERT(step.webhook->job_id == job.id &&
                        step.webhook->account_id == job.account_id);
        for (std::string& f : webhook_fields(*step.webhook)) args.push_back(std::move(f));
    }
    // Every key the script touches, all in the account's slot.
    std::vector<std::string> keys = ledger::redis_account_keys(prefix_, job.account_id);
    keys.push_back(store::redis::account_base(prefix_, job.account_id) + "job:" + job.id);
    if (step.webhook) {
        keys.push_back(store::redis::account_base(prefix_, job.account_id) + "webhook:" + job.id);
    }
    for (std::string& k : usage::usage_append_keys(prefix_, job.account_id))
        keys.push_back(std::move(k));
    auto r = client_.eval(end_script(), keys, args);
    if (!r.ok()) return r.error();
    TOLLGATE_ASSERT(r->type == Reply::Type::Array && !r->elements.empty());
    const std::string& outcome = r->elements[0].text;
    if (outcome == "job_not_open") return EndOutcome::JobNotOpen;
    if (outcome == "hold_not_open") return EndOutcome::HoldNotOpen;
    TOLLGATE_ASSERT(outcome == "ended");
    return EndOutcome::Ended;
}

}  // namespace tollgate::jobs
