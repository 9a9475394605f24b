// `tollgate account statement`: one account's ledger entries between two
// instants, as CSV on stdout (one header row, then one row per entry, oldest
// first), paged through the ledger so any length of history streams in
// bounded memory. It reads the store the configuration names
// (app/store_open.h): the SQLite file or Redis.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/store_open.h"
#include "core/time_zone.h"
#include "ledger/ledger.h"

namespace tollgate::app {

struct StatementOptions {
    StoreLocation store;
    std::string account_id;
    std::string from;  // "YYYY-MM-DD[ HH:MM[:SS]]" on the book's clock; empty = the beginning
    std::string to;    // exclusive; empty = now
    core::TimeZone zone = core::TimeZone::utc();
};

// Returns the exit code: 0 on success, 2 when the ledger cannot be read or
// an option is invalid.
int run_statement(const StatementOptions& options);

// The CSV header row and one row per entry (RFC 4180 quoting), each ending in "\r\n".
std::string statement_header();
std::string statement_row(const ledger::Entry& entry, const core::TimeZone& zone);

}  // namespace tollgate::app
