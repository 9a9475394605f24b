// Columns added to a table after it first shipped. A database file written
// before a column existed gains it when the table's store opens the file:
// ALTER TABLE ADD COLUMN with the column's definition, whose default is what
// every earlier row meant.
#pragma once

#include <span>
#include <string_view>

#include "core/result.h"
#include "store/sqlite.h"

namespace tollgate::store {

struct AddedColumn {
    const char* name;        // a constant of the store, never outside text
    const char* definition;  // its type, default and checks
};

// Adds each column of `columns` that `table` lacks, in one transaction;
// columns already there are left as they are, so opening twice is harmless.
core::Status add_missing_columns(Database& db, std::string_view table,
                                 std::span<const AddedColumn> columns);

}  // namespace tollgate::store
