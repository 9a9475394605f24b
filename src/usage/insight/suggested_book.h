// The price book a calibration suggests, as a file to review: the current
// book's TOML with the fitted workflows' base and per_megapixel replaced and
// its version marked "-calibrated". Nothing is put in force here; an operator
// reviews the file, puts it in place and reloads. Reads the book file; any
// thread may call it.
#pragma once

#include <string>

#include "core/result.h"
#include "usage/insight/insight_plan.h"

namespace tollgate::usage {

// The book file at `book_path` with the plan's prices in place of the fitted
// workflows' base and per_megapixel, and version "<version>-calibrated", as
// TOML (comments are not kept). Checked by parsing it back. Errors:
// "invalid_price_book" for a file that does not parse, or a suggestion that
// does not read back as written.
core::Result<std::string> suggested_book_toml(const std::string& book_path,
                                              const CalibrationPlan& plan);

}  // namespace tollgate::usage
