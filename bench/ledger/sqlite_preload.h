// Bulk preload of a SQLite ledger for the scale test of bench_ledger.
//
// Fills an empty ledger (schema already created by SqliteLedger::open) with
// `accounts` funded accounts and about `entries` entries, by INSERT ... SELECT
// statements that generate exactly the rows the ledger itself would write:
// per account one never-expiring grant of kAccountTokens with its grant
// entry, then a share of the (entries - accounts) / 2 holds of one token,
// each captured, with its allocation and its hold and capture entries,
// balances and grant books updated to match. SqliteLedger::verify() finds no
// mismatch in the result (bench_ledger --verify checks it).
//
// Threads: call on the main thread before any client connects.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"
#include "store/sqlite.h"

namespace tollgate::bench {

// The id of the index-th preloaded account (index from 0). Ids are fixed-width
// and ascend with the index, so the bulk INSERTs append to every index.
std::string preloaded_account_id(std::int64_t index);

// True when the file already holds a preload of at least `accounts` accounts.
core::Result<bool> preload_present(store::Database& db, std::int64_t accounts);

struct PreloadCount {
    std::int64_t accounts = 0;
    std::int64_t entries = 0;
    std::int64_t holds = 0;
};

// Writes the preload in transactions of 10,000 accounts each and
// returns what it wrote. `entries` below `accounts` is raised to one entry per
// account; an odd remainder loses one entry (holds come in pairs of entries).
core::Result<PreloadCount> preload(store::Database& db, std::int64_t accounts, std::int64_t entries,
                                   std::int64_t now_ms);

}  // namespace tollgate::bench
