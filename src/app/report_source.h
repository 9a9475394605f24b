// What /admin/reports, `tollgate calibrate` and `tollgate forecast` read: the
// embedded SQLite file when the gateway keeps its own usage records there (it
// holds every record, exported or not), otherwise the first SQL usage sink
// of [usage] export_to, otherwise nothing (a Redis store without a sink).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/store_open.h"
#include "store/sqlite.h"
#include "usage/export/remote_sink.h"
#include "usage/reports.h"

namespace tollgate::app {

struct ReportStore {
    std::unique_ptr<store::Database> reader;           // the embedded file, read-only
    std::unique_ptr<usage::RemoteSink> sink;           // or a connection of its own to the sink
    std::unique_ptr<usage::UsageReportSource> source;  // null: no store answers reports
    std::string name;                                  // what it reads, for logs
};

// `export_to`: [usage] export_to. The embedded file must exist already
// (error "no_store": the gateway creates it).
core::Result<ReportStore> open_report_store(const StoreLocation& where,
                                            const std::vector<std::string>& export_to);

}  // namespace tollgate::app
