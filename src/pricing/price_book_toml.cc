// Reads a price book file (its top level is the book) into a PriceBook.
//
// Approach: toml++ parses the whole document, then hand-written readers walk
// it key by key (book_toml_*.cc), so every rule in docs/pricing.md is one
// visible check with one message. Each failure becomes one
// "invalid_price_book" error starting "<source>:<line>:" so an operator can
// jump to the line. Unknown keys are errors everywhere: a typo must never
// price a job at zero.
//
// This file reads the top-level keys and the [[windows]] array; workflows,
// tenants and plans have their own files. Rejected alternatives: toml++'s
// value_or() defaults (a typo silently becomes the default) and a generic
// schema table (the cross-key rules, such as windows not overlapping or
// credit_limit requiring postpaid, would still need code like this).
#include <toml++/toml.h>

#include <algorithm>
#include <bitset>
#include <fstream>
#include <string>

#include "pricing/book_toml_guard.h"
#include "pricing/book_toml_read.h"
#include "pricing/decimal.h"
#include "pricing/price_book.h"

namespace tollgate::pricing {
namespace {

// A price book is a small file; anything larger is a mistake, not a book.
constexpr std::streamsize kPriceBookBytesMax = 1024 * 1024;
constexpr int kMinutesPerDay = 24 * 60;

using MinuteSet = std::bitset<kMinutesPerDay>;

MinuteSet minutes_of(const TimeWindow& window) {
    MinuteSet set;
    for (int m = 0; m < kMinutesPerDay; ++m) set[static_cast<std::size_t>(m)] = window.contains(m);
    return set;
}

core::Result<TimeWindow> read_window(const BookSource& source, const toml::table& table,
                                     const std::string& index_path, std::uint32_t line) {
    auto keys = check_keys(source, table, {"name", "start", "end", "multiplier"}, index_path, line);
    if (!keys) return keys.error();
    for (std::string_view required : {"name", "start", "end", "multiplier"}) {
        if (!table.contains(required)) {
            return book_error(source, line,
                              index_path + "." + std::string(required) + " is missing");
        }
    }
    TimeWindow window;
    auto name = read_string(source, *table.get("name"), index_path + ".name");
    if (!name) return name.error();
    if (!valid_lower_name(*name)) {
        return book_error(source, line_of(*table.get("name"), line),
                          index_path + ".name must be 1-64 of [a-z0-9_]");
    }
    window.name = std::string(*name);
    const std::string path = "windows." + window.name;
    auto start = read_clock_minute(source, *table.get("start"), path + ".start", false);
    if (!start) return start.error();
    auto end = read_clock_minute(source, *table.get("end"), path + ".end", true);
    if (!end) return end.error();
    if (*start == *end) {
        return book_error(source, line_of(*table.get("end"), line),
                          path + ".end must differ from start");
    }
    window.start_minute = *start;
    window.end_minute = *end;
    const toml::node& multiplier = *table.get("multiplier");
    auto permille = read_decimal(source, multiplier, path + ".multiplier", 3,
                                 kWindowMultiplierPermilleMax, "x");
    if (!permille) return permille.error();
    if (*permille == 0) {
        return book_error(source, line_of(multiplier, line),
                          path + ".multiplier must be greater than 0");
    }
    window.multiplier_permille = *permille;
    return window;
}

core::Status read_windows_array(const BookSource& source, const toml::node& node,
                                std::uint32_t fallback, PriceBook& book) {
    const std::uint32_t line = line_of(node, fallback);
    const auto* array = node.as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
        return book_error(source, line, "windows must be an array of tables ([[windows]])");
    }
    if (array->size() > kWindowsMax) {
        return book_error(source, line, "at most " + std::to_string(kWindowsMax) + " windows");
    }
    std::vector<MinuteSet> taken;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& entry = *array->get(i);
        const std::uint32_t entry_line = line_of(entry, line);
        const std::string index_path = "windows[" + std::to_string(i) + "]";
        auto window = read_window(source, *entry.as_table(), index_path, entry_line);
        if (!window) return window.error();
        const MinuteSet minutes = minutes_of(*window);
        for (std::size_t j = 0; j < book.windows.size(); ++j) {
            if (book.windows[j].name == window->name) {
                return book_error(source, entry_line,
                                  "windows." + window->name + " is defined twice");
            }
            if ((taken[j] & minutes).any()) {
                return book_error(
                    source, entry_line,
                    "windows." + window->name + " overlaps windows." + book.windows[j].name);
            }
        }
        taken.push_back(minutes);
        book.windows.push_back(std::move(window).value());
    }
    std::sort(
        book.windows.begin(), book.windows.end(),
        [](const TimeWindow& a, const TimeWindow& b) { return a.start_minute < b.start_minute; });
    return {};
}

core::Status read_header_keys(const BookSource& source, const toml::table& root,
                              const std::string& zoneinfo_dir, PriceBook& book) {
    const toml::node* version = root.get("version");
    if (version == nullptr) return book_error(source, 1, "version is missing");
    const auto* version_text = version->as_string();
    if (version_text == nullptr || !valid_version(version_text->get())) {
        return book_error(source, line_of(*version, 1),
                          "version must be 1-64 bytes of [A-Za-z0-9._:-]");
    }
    book.version = version_text->get();

    const toml::node* rounding = root.get("rounding");
    if (rounding == nullptr) return book_error(source, 1, "rounding is missing");
    const auto* rounding_text = rounding->as_string();
    std::optional<Rounding> parsed;
    if (rounding_text != nullptr) parsed = parse_rounding(rounding_text->get());
    if (!parsed) {
        return book_error(source, line_of(*rounding, 1),
                          "rounding must be one of \"floor\", \"ceil\", \"nearest\"");
    }
    book.rounding = *parsed;

    if (const toml::node* zone = root.get("time_zone")) {
        auto name = read_string(source, *zone, "time_zone");
        if (!name) return name.error();
        auto loaded = core::TimeZone::load(*name, zoneinfo_dir);
        if (!loaded) {
            return book_error(source, line_of(*zone, 1), "time_zone: " + loaded.error().message);
        }
        book.time_zone = std::move(loaded).value();
    }
    if (const toml::node* days = root.get("topup_expiry_days")) {
        auto value = read_integer(source, *days, "topup_expiry_days", 0, kTopupExpiryDaysMax);
        if (!value) return value.error();
        book.topup_expiry_days = *value;
    }
    return {};
}

core::Result<PriceBook> read_book(const toml::table& root, const BookSource& source,
                                  const std::string& zoneinfo_dir) {
    auto keys = check_keys(source, root,
                           {"version", "rounding", "time_zone", "topup_expiry_days", "workflows",
                            "windows", "tenants", "plans"},
                           "", 1);
    if (!keys) return keys.error();
    PriceBook book;
    book.source_name = std::string(source.name);
    if (auto status = read_header_keys(source, root, zoneinfo_dir, book); !status) {
        return status.error();
    }
    const toml::node* workflows = root.get("workflows");
    if (workflows == nullptr) return book_error(source, 1, "workflows is missing");
    if (auto status = read_workflows(source, *workflows, 1, book); !status) return status.error();
    if (const toml::node* windows = root.get("windows")) {
        if (auto status = read_windows_array(source, *windows, 1, book); !status) {
            return status.error();
        }
    }
    if (const toml::node* tenants = root.get("tenants")) {
        if (auto status = read_tenants(source, *tenants, 1, book); !status) return status.error();
    }
    if (const toml::node* plans = root.get("plans")) {
        if (auto status = read_plans(source, *plans, 1, book); !status) return status.error();
    }
    return book;
}

}  // namespace

core::Result<PriceBook> parse_price_book(std::string_view toml_text, std::string_view source_name,
                                         const std::string& zoneinfo_dir) {
    const BookSource source{source_name};
    // Before toml++ sees the text: see book_toml_guard.h for why.
    if (const auto problem = check_book_text(toml_text)) {
        return book_error(source, problem->line, problem->what);
    }
    try {
        const toml::table root = toml::parse(toml_text, source_name);
        return read_book(root, source, zoneinfo_dir);
    } catch (const toml::parse_error& e) {
        return book_error(source, e.source().begin.line, e.description());
    } catch (const std::exception& e) {
        return book_error(source, 0, std::string("cannot parse: ") + e.what());
    }
}

core::Result<PriceBook> load_price_book(const std::string& path, const std::string& zoneinfo_dir) {
    const BookSource source{path};
    std::ifstream in(path, std::ios::binary);
    if (!in) return book_error(source, 0, "cannot open file");
    std::string text;
    text.resize(static_cast<std::size_t>(kPriceBookBytesMax) + 1);
    in.read(text.data(), kPriceBookBytesMax + 1);
    if (in.bad()) return book_error(source, 0, "cannot read file");
    const std::streamsize size = in.gcount();
    if (size > kPriceBookBytesMax) {
        return book_error(source, 0,
                          "file is larger than " + std::to_string(kPriceBookBytesMax) + " bytes");
    }
    text.resize(static_cast<std::size_t>(size));
    return parse_price_book(text, path, zoneinfo_dir);
}

}  // namespace tollgate::pricing
