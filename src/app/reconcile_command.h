// `tollgate reconcile`: checks, per account and UTC day, that the ledger, the
// gateway's own usage records and every sink of [usage] export_to agree.
//
// Three comparisons, each a list of totals per (account, day) where the day
// is the UTC day the job finished (usage_records.finished_ms):
// - ledger: the tokens of the capture entries of jobs, against the usage
//   records' charged tokens (a capture without a record, or the other way
//   round, shows as a difference);
// - each sink: its totals (tokens and job count, each job once) against the
//   usage records'.
// Every difference is printed on stdout, one line each. The exit code is 0
// when everything agrees, 1 on any difference, 2 when something could not be
// read (a sink down, a bad option).
//
// The ledger and the usage records are read from the store the configuration
// names (app/store_open.h). The SQLite file is read in one transaction, by
// SQL. Redis is read account by account (Ledger::account_ids()): each
// account's usage records, then its capture entries, each capture dated by
// its job's record. That is no snapshot across accounts; within an account, a
// job that ends between the two reads shows its capture and its record both
// (the record is looked up by job id), so a job ending meanwhile is no
// difference. An account with more than usage::kUsageScanRecordsMax records
// cannot be read this way (exit 2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/store_open.h"
#include "usage/export/remote_sink.h"

namespace tollgate::app {

struct ReconcileOptions {
    StoreLocation store;
    std::vector<std::string> sinks;  // [usage] export_to
    std::string from, to;            // "YYYY-MM-DD", UTC days; to is exclusive
};

int run_reconcile(const ReconcileOptions& options);

// One line per (account, day) on which `left` and `right` differ: tokens,
// and jobs too when `compare_jobs`. Both lists are ordered by account, then
// day (as the sinks return them). A pair missing on one side counts as zero.
std::vector<std::string> compare_day_totals(const std::string& left_name,
                                            const std::vector<usage::DayTotal>& left,
                                            const std::string& right_name,
                                            const std::vector<usage::DayTotal>& right,
                                            bool compare_jobs);

// "YYYY-MM-DD" to days since 1970-01-01; nullopt-like error "invalid_date".
core::Result<std::int64_t> parse_utc_day(const std::string& text);

}  // namespace tollgate::app
