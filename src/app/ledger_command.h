// `tollgate ledger verify`: recomputes every account from its entries and
// holds, prints each mismatch, and fails when there is any.
#pragma once

#include <string>

namespace tollgate::app {

// Returns the process exit code: 0 when every account balances, 1 on any
// mismatch, 2 when the ledger cannot be read.
int run_ledger_verify(const std::string& data_dir);

}  // namespace tollgate::app
