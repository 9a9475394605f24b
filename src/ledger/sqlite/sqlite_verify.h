// The parts of SqliteLedger::verify() that live in their own files, and the
// one way they word a disagreement. Internal to the SQLite ledger backend.
//
// Each check runs inside the transaction verify() opened and appends one
// Mismatch per disagreement it finds; none of them writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "store/sqlite.h"

namespace tollgate::ledger {

// "<what>: cached <cached>, from records <derived>".
std::string verify_figures(const char* what, std::int64_t cached, std::int64_t derived);

// Every entry's balance_after against the one before it plus the entry's own
// movement (sqlite_verify_entries.cc).
void verify_running_balances(store::Database& db, std::vector<Mismatch>& out);

// Every negative adjustment against its debits, and every debit against its
// entry and grant (sqlite_verify_entries.cc).
void verify_debits(store::Database& db, std::vector<Mismatch>& out);

}  // namespace tollgate::ledger
