// `tollgate quote`: the itemised quote for a size, printed as a table or JSON.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "pricing/price_book.h"
#include "pricing/quote.h"

namespace tollgate::app {

// The human-readable table: one line per item, then the total.
std::string format_quote_table(const pricing::Quote& quote);
// The same quote as JSON (includes "tokens" and "breakdown").
std::string format_quote_json(const pricing::Quote& quote);

}  // namespace tollgate::app
