#include "app/report_source.h"

#include "app/usage_export.h"
#include "usage/sqlite/sqlite_reports.h"

namespace tollgate::app {

core::Result<ReportStore> open_report_store(const StoreLocation& where,
                                            const std::vector<std::string>& export_to) {
    ReportStore out;
    if (!where.shared()) {
        store::Database::Options options;
        options.group_commit = false;
        options.read_only = true;
        auto reader = open_command_database(where, "database", options);
        if (!reader.ok()) return reader.error();
        out.reader = std::move(reader).value();
        out.source = usage::sqlite_report_source(*out.reader);
        out.name = where.describe();
        return out;
    }
    if (export_to.empty()) return out;
    auto sink = make_usage_sink(export_to.front());
    if (!sink.ok()) return sink.error();
    out.sink = std::move(sink).value();
    out.name = out.sink->name();
    out.source = out.sink->reports();
    return out;
}

}  // namespace tollgate::app
