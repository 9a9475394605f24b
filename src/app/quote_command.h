// `tollgate quote`: the itemised quote for a size, printed as a table or JSON,
// from the price book named by a configuration file (or given directly).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"
#include "pricing/price_book.h"
#include "pricing/quote.h"

namespace tollgate::app {

struct QuoteOptions {
    std::string config_path;  // used when book_path is empty
    std::string book_path;
    std::string workflow;
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::string upscale;   // decimal factor; empty = 1
    std::string quality;   // empty = the workflow's default
    std::string tenant;    // empty = none
    std::string at;        // "YYYY-MM-DD HH:MM" on the book's clock; empty = now
    std::string rounding;  // empty = the book's rule
    bool json = false;
};

// Runs the command: prints to stdout, errors to stderr; returns the exit code.
int run_quote(const QuoteOptions& options);

// The human-readable table: one line per item, then the total.
std::string format_quote_table(const pricing::Quote& quote);
// The same quote as JSON (the API's quote fields, with "tokens" and "items").
std::string format_quote_json(const pricing::Quote& quote);

}  // namespace tollgate::app
