// The TOML adapter's building blocks, internal to the pricing part: typed
// readers that turn one toml++ node into a checked value or an
// "invalid_price_book" error, and the section readers built from them.
//
// Every error message reads "<source>:<line>: <key path> <what is wrong>".
// The line is the node's own; where toml++ recorded none (implicit tables
// made only by their children) or the key is missing, it is the line of the
// enclosing table, passed in as `fallback`. Nothing here throws: toml++'s
// accessors used are the non-throwing ones, and parse errors are caught by
// the caller of toml::parse. Used only while loading a book, on one thread.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/result.h"
#include "pricing/price_book.h"

namespace tollgate::pricing {

// Where a book's text came from, for error messages.
struct BookSource {
    std::string_view name;
};

core::Error book_error(const BookSource& source, std::uint32_t line, std::string_view what);

// "<parent>.<key>", the path of a key in error messages.
std::string child_path(std::string_view parent, std::string_view key);

// The line of `node`, or `fallback` when toml++ recorded none.
std::uint32_t line_of(const toml::node& node, std::uint32_t fallback);

// Fails on the first key of `table` that is not in `allowed`, naming it as
// "<path>.<key>" and listing the allowed keys.
core::Status check_keys(const BookSource& source, const toml::table& table,
                        std::initializer_list<std::string_view> allowed, std::string_view path,
                        std::uint32_t fallback);

// The table at `node`, or an error "<path> must be a table".
core::Result<const toml::table*> read_table(const BookSource& source, const toml::node& node,
                                            std::string_view path, std::uint32_t fallback);

// A non-negative TOML integer or float with at most `places` decimals, as
// value * 10^places, at most `scaled_max`. `unit` names the unit in the
// "must be at most" message ("tokens", "x", "%"). Floats are converted via
// their shortest round-trip text, so a literal of up to 15 significant
// digits (every in-bound value at 6 places) is read exactly.
core::Result<std::int64_t> read_decimal(const BookSource& source, const toml::node& node,
                                        std::string_view path, int places, std::int64_t scaled_max,
                                        std::string_view unit);

// A TOML integer in [min, max].
core::Result<std::int64_t> read_integer(const BookSource& source, const toml::node& node,
                                        std::string_view path, std::int64_t min, std::int64_t max);

core::Result<std::string_view> read_string(const BookSource& source, const toml::node& node,
                                           std::string_view path);
core::Result<bool> read_bool(const BookSource& source, const toml::node& node,
                             std::string_view path);

// "HH:MM" as minutes since midnight; "24:00" (1440) only when `allow_24` is set.
core::Result<int> read_clock_minute(const BookSource& source, const toml::node& node,
                                    std::string_view path, bool allow_24);

// [a-z0-9_]{1,64}: workflow, quality, window and plan names.
bool valid_lower_name(std::string_view name);
// [A-Za-z0-9._-]{1,64}: tenant names (they are account names).
bool valid_tenant_name(std::string_view name);
// [A-Za-z0-9._:-]{1,64}: book versions.
bool valid_version(std::string_view version);

// The section readers. Each fills its part of `book` or returns the first error.
// `fallback` is the line of the enclosing table.
core::Status read_workflows(const BookSource& source, const toml::node& node,
                            std::uint32_t fallback, PriceBook& book);
// Needs book.workflows read first: it merges overrides into copies of them.
core::Status read_tenants(const BookSource& source, const toml::node& node, std::uint32_t fallback,
                          PriceBook& book);
core::Status read_plans(const BookSource& source, const toml::node& node, std::uint32_t fallback,
                        PriceBook& book);

// Reads the coefficient `key` (base, per_megapixel, per_output_megapixel,
// upscale_surcharge, minimum or per_tile) of a workflow or tenant override
// table into `price`; any other key is left to the caller.
core::Status read_coefficient(const BookSource& source, const toml::node& node,
                              std::string_view key, const std::string& path, WorkflowPrice& price);

}  // namespace tollgate::pricing
