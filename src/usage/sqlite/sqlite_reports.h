// Reports (usage/reports.h) over the embedded file's usage_records, read on
// a read-only connection of their own (store::Database::Options::read_only),
// so a long report never waits behind, or holds up, the commits of money.
#pragma once

#include <memory>

#include "store/sqlite.h"
#include "usage/reports.h"

namespace tollgate::usage {

// `reader`: a read-only Database on the gateway's file; it must outlive the source.
std::unique_ptr<UsageReportSource> sqlite_report_source(store::Database& reader);

}  // namespace tollgate::usage
