// The Redis ledger's Lua scripts. Internal to the Redis backend.
//
// Each script is the shared prelude (redis_lua_books.cc: records, grants,
// entries, expiry, the draw, ending a hold) followed by one operation. Every
// script takes the account's keys in RedisLedger::account_keys() order and
// answers an array whose first element is a status word ("ok" or the name of
// a refusal), so the C++ side never parses an error text. A broken invariant
// is a script error ("ledger invariant: ..."), raised before the script's
// first write wherever the check can come first.
#pragma once

#include "store/redis/redis_client.h"

namespace tollgate::ledger::redis_lua {

// The prelude every money script starts with.
const char* books_prelude();

// ARGV: tokens, reason, key, expires_ms|"", priority, rollover_max,
// rollover_expires_ms|"", keeps_first 0|1, now_ms, expire_first 0|1, source.
// -> {"ok", grant_id, created 0|1, entry_id} | {"unknown_account"} |
//    {"conflict", first_tokens}
const store::redis::Script& add_grant();
// ARGV: tokens, hold key, now_ms, credit limit, ttl_ms, memo.
// -> {outcome, available} with outcome held | already_held | key_reused |
//    insufficient | unknown_account
const store::redis::Script& reserve();
// ARGV: hold key, tokens|"" (all), now_ms.
// -> {"settled"} | {"already"} | {"conflict"} | {"unknown_hold"} | {"exceeds", hold tokens}
const store::redis::Script& capture();
// ARGV: hold key, reason, now_ms. -> {"settled"} | {"already"} | {"conflict"} | {"unknown_hold"}
const store::redis::Script& void_hold();
// ARGV: signed tokens, reason, key, now_ms.
// -> {"ok", entry_id} | {"unknown_account"} | {"conflict", first_tokens} | {"insufficient"}
const store::redis::Script& adjust();
// ARGV: hold key, tokens, reason, now_ms.
// -> {"ok", entry_id} | {"unknown_hold"} | {"not_captured"} | {"exceeds", refunded, captured}
const store::redis::Script& refund();
// ARGV: now_ms. Expires the account's due grants.
// -> {"ok", balance figures x5, credit_limit} | {"unknown_account"}
const store::redis::Script& balance();
// ARGV: now_ms, grant id|"" (one grant, for the sweeper; "" every due grant).
// -> {"ok", processed, next due expires_ms of that grant|false}
const store::redis::Script& expire();
// ARGV: now_ms, list max. -> {"ok", {grant fields}...} | {"unknown_account"}
const store::redis::Script& grants();
// ARGV: hold key. -> {"ok", tokens, state, created_ms, expires_ms|false, captured, refunded}
//                   | {"none"}
const store::redis::Script& read_hold();
// ARGV: after_id, from_ms, to_ms, count, scan max.
// -> {"ok", last id scanned, entries in all, {entry fields}...} | {"unknown_account"}
const store::redis::Script& entries();
// ARGV: none. -> {"ok", mismatch text...} | {"unknown_account"}
const store::redis::Script& verify();

}  // namespace tollgate::ledger::redis_lua
