// The suggested book as TOML (see suggested_book.h). The file is edited as a
// TOML tree rather than as text, so every other table and key survives as
// parsed. A price is written as a TOML float: for hundredths of a token (the
// calibration's step) its shortest decimal form has at most two places and
// reads back as the same micro-tokens, which the parse at the end checks.
#include "usage/insight/suggested_book.h"

#include <toml++/toml.h>

#include <sstream>

#include "core/assert.h"

namespace tollgate::usage {

core::Result<std::string> suggested_book_toml(const std::string& book_path,
                                              const CalibrationPlan& plan) {
    toml::table root;
    try {
        root = toml::parse_file(book_path);
    } catch (const toml::parse_error& e) {
        return core::make_error("invalid_price_book",
                                book_path + ": " + std::string(e.description()));
    }
    for (const Calibration& c : plan.fitted) {
        toml::table* w = root["workflows"][c.workflow].as_table();
        TOLLGATE_ASSERT(w != nullptr);  // the plan's workflows come from this book
        // Hundredths of a token: exact as decimals with two places.
        w->insert_or_assign("base", static_cast<double>(c.suggested_base_micro) / 1e6);
        w->insert_or_assign("per_megapixel",
                            static_cast<double>(c.suggested_per_megapixel_micro) / 1e6);
    }
    const std::string version = root["version"].value_or(std::string("book"));
    root.insert_or_assign("version", version + "-calibrated");
    std::ostringstream text;
    text << root << "\n";
    auto check = pricing::parse_price_book(text.str(), "suggested book");
    if (!check.ok()) return check.error();
    for (const Calibration& c : plan.fitted) {
        const pricing::WorkflowPrice& p = check->workflows.at(c.workflow);
        if (p.base_micro != c.suggested_base_micro ||
            p.per_megapixel_micro != c.suggested_per_megapixel_micro) {
            return core::make_error("invalid_price_book", "the suggested prices of " + c.workflow +
                                                              " do not read back as written");
        }
    }
    return text.str();
}

}  // namespace tollgate::usage
