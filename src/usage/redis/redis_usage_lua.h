// The usage records of the shared (Redis) backend: their keys, and the Lua
// that appends one, which every script that ends a job includes (the settle
// script of jobs/redis, and RedisUsageSink::write()).
//
// Keys. With the prefix P, the account a of shard N (store/redis/redis_keys.h)
// and their shard tag {sN}:
//   P{sN}:a:usage          hash: job id -> the record (usage_record_codec.h)
//   P{sN}:a:usage_by_time  sorted set: job ids by finished_ms
//   P{sN}:a:usage_exec     hash: job id -> execution_ms (decimal)
//   P{sN}:usage_seq        string: the shard's last outbox seq (INCR)
//   P{sN}:usage            stream: the shard's outbox; entry id "<seq>-1",
//                          fields job (the job id) and r (the record)
//   P{sN}:usage_cursors    hash: sink name -> last seq it acknowledged
//   P{sN}:usage_sinks      set: every sink that read or advanced a cursor
//   Powner:<job id>        string: the job's account (SET NX, immutable;
//                          store::redis::owner_key, shared with its job and hold)
// A record and its entries are written by one script in the account's shard
// slot, so they exist together or not at all. The job index lives in a slot
// of its own, so no script can write it: each writer sets it (SET NX) before
// running the script, and a reader that finds it checks the record, so a
// crash in between leaves an index entry that leads nowhere, never a record
// that find() cannot reach.
//
// Seqs are dense: the script takes a seq with INCR and adds the stream entry
// in the same atomic step, so stream ids grow by one per record in each shard.
//
// Threads: pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tollgate::usage {

// Lua defining one local function and nothing else (no global, no other
// local; its locals all start with usage_, so it sits beside the other
// preludes of a script):
//
//   usage_append(shard_base, account_base, job_id, record, finished_ms, execution_ms)
//
// shard_base is "P{sN}:" and account_base "P{sN}:a:" (store::redis::shard_base
// and account_base) of the record's account; record is its encoded text
// (encode_usage_record, at most kUsageRecordBytesMax bytes, checked by the
// caller); finished_ms and execution_ms are Lua integers. Idempotent by job
// id: when the account's usage hash holds job_id it writes nothing and
// returns 0. Otherwise it takes seq = INCR usage_seq, adds the stream entry
// "<seq>-1", sets the record in the usage hash, its finished_ms in
// usage_by_time and its execution_ms in usage_exec, and returns 1. It raises
// an error before any write when an argument has the wrong type. The keys it
// touches are usage_append_keys(); a script must declare them (all in the
// account's slot) and set store::redis::owner_key() before it runs.
const char* usage_lua_prelude();

// The keys usage_append() touches for an account, in this order: P{sN}:a:usage,
// P{sN}:a:usage_by_time, P{sN}:a:usage_exec, P{sN}:usage_seq, P{sN}:usage.
std::vector<std::string> usage_append_keys(std::string_view prefix, std::string_view account_id);

// The shard-level keys of partition (shard) `shard`.
std::string usage_seq_key(std::string_view prefix, int shard);
std::string usage_stream_key(std::string_view prefix, int shard);
std::string usage_cursors_key(std::string_view prefix, int shard);
std::string usage_sinks_key(std::string_view prefix, int shard);

}  // namespace tollgate::usage
