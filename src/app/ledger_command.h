// `tollgate ledger verify`: recomputes every account from its entries and
// holds, prints each mismatch, and fails when there is any. It reads the store
// the configuration names (app/store_open.h): the SQLite file, where it reads
// inside one write transaction, or Redis, where it runs one read-only script
// per account.
#pragma once

#include "app/store_open.h"

namespace tollgate::app {

// Returns the process exit code: 0 when every account balances, 1 on any
// mismatch, 2 when the ledger cannot be read.
int run_ledger_verify(const StoreLocation& store);

}  // namespace tollgate::app
