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
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "usage/export/remote_sink.h"

namespace tollgate::app {

struct ReconcileOptions {
    std::string data_dir;
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
