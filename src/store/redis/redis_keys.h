// How the shared (Redis) backends name their keys: by shard, so that one
// script reaches every record of an account and its shard's queues in one
// hash slot (see ledger/redis/redis_ledger.h for the ledger's keys,
// jobs/redis and usage/redis for theirs).
//
// An account belongs to one of kRedisShards shards by a stable hash of its
// id. Every key of the account starts with "P{sN}:a:" (prefix P, shard N,
// account a); every key of the shard itself with "P{sN}:". The first brace
// pair of a key is the shard tag, since a prefix holds no brace.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace tollgate::store::redis {

// Fixed: a store written with another count would put accounts in other slots.
inline constexpr int kRedisShards = 64;
inline constexpr const char* kRedisPrefixDefault = "tg:";
inline constexpr std::size_t kRedisPrefixBytesMax = 64;

// Error "invalid_prefix" for an empty or long prefix, or one with a brace.
core::Status check_prefix(std::string_view prefix);
// The shard (0 .. kRedisShards - 1) of an account: FNV-1a of its id, stable
// across builds and machines (std::hash is not).
int shard_of(std::string_view account_id);
// "P{sN}:".
std::string shard_base(std::string_view prefix, int shard);
// "P{sN}:a:" for account a of shard N.
std::string account_base(std::string_view prefix, std::string_view account_id);
// "Powner:<id>": the account that a job id, and the hold, usage record and
// webhook delivery keyed by it, belong to. One index for all of them, in a
// slot of its own: written (SET NX) before the first record it leads to,
// never changed, and checked against the record when read.
std::string owner_key(std::string_view prefix, std::string_view id);

}  // namespace tollgate::store::redis
