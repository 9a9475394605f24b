// The Lua of the Redis job store, shared with the settlement scripts
// (redis_settlement.cc), which prepend it to theirs. Internal to jobs/redis.
//
// It defines local functions whose names start with job_, so it can follow
// the ledger's prelude in one script:
//   job_insert(abase, sbase, account, id, fields) -> 'ok' | 'exists'
//     fields: a flat Lua array {name, value, ...} of every Job field
//     (job_fields() in redis_job_store.cc); writes the job and the shard's
//     and account's indexes.
//   job_transition(abase, sbase, account, id, to, fields) -> 'ok', from |
//     'unknown_job' | 'illegal', from
//     fields: the new state's fields (worker, prompt_id, result_path,
//     failure_reason, finished_ms), flat; checks the state machine
//     (jobs/job.h can_transition) and leaves the unfinished indexes when
//     `to` is final.
//   webhook_enqueue(abase, sbase, account, shard, id, fields) -> 'ok' |
//     'exists': queues job `id`'s webhook delivery (redis_webhook_outbox.h;
//     fields from webhook_fields()), numbered in its shard.
// abase is the account's key base "P{sN}:a:", sbase the shard's "P{sN}:".
#pragma once

namespace tollgate::jobs::redis_lua {

const char* jobs_prelude();

}  // namespace tollgate::jobs::redis_lua
