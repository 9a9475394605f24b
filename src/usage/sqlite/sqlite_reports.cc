// Reports over the embedded file (see sqlite_reports.h).
#include "usage/sqlite/sqlite_reports.h"

#include "usage/report_sql.h"

namespace tollgate::usage {

std::unique_ptr<UsageReportSource> sqlite_report_source(store::Database& reader) {
    auto select = [&reader](const std::string& sql,
                            std::size_t rows_max) -> core::Result<TextRows> {
        TextRows rows;
        core::Status s = store::transact(reader, [&]() -> core::Status {
            store::Statement st(reader, sql);
            const int columns = st.column_count();
            while (st.step()) {
                if (rows.size() > rows_max) break;  // one past the bound: the caller refuses it
                std::vector<std::string> row;
                row.reserve(static_cast<std::size_t>(columns));
                for (int i = 0; i < columns; ++i) row.push_back(st.column_text(i));
                rows.push_back(std::move(row));
            }
            return {};
        });
        if (!s.ok()) return s.error();
        return rows;
    };
    return std::make_unique<SqlReportSource>(SqlDialect::Sqlite, "usage_records",
                                             std::move(select));
}

}  // namespace tollgate::usage
