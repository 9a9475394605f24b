#include "store/added_columns.h"

#include <set>
#include <string>

#include "core/assert.h"

namespace tollgate::store {

core::Status add_missing_columns(Database& db, std::string_view table,
                                 std::span<const AddedColumn> columns) {
    TOLLGATE_ASSERT(!table.empty());
    return transact(db, [&]() -> core::Status {
        std::set<std::string, std::less<>> present;
        Statement info(db, "SELECT name FROM pragma_table_info(?1)");
        info.bind(1, table);
        while (info.step()) present.insert(info.column_text(0));
        if (present.empty()) {
            return core::make_error("storage_error",
                                    "table " + std::string(table) + " does not exist");
        }
        for (const AddedColumn& column : columns) {
            if (present.count(std::string_view(column.name)) != 0) continue;
            core::Status added = db.exec("ALTER TABLE " + std::string(table) + " ADD COLUMN " +
                                         column.name + " " + column.definition);
            if (!added.ok()) return added;
        }
        return {};
    });
}

}  // namespace tollgate::store
