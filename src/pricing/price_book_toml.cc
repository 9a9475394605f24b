// Reads the [pricing] table of a TOML document into a PriceBook.
//
// Approach: toml++ parses the whole document (it is the same file as the rest
// of the configuration), then this adapter walks only [pricing] and checks
// every key by hand. Each failure becomes one "invalid_price_book" error whose
// message starts "<source>:<line>:" so an operator can jump to the line. Where
// a key is missing, the line is that of the table that should hold it.
//
// Numbers may be written as TOML integers ("base = 10") or floats
// ("per_megapixel = 2.0"). A float is checked for being finite, non-negative
// and within bounds, converted at once to micro-tokens with llround, and
// rejected if it has more than six decimal places (a price finer than a
// micro-token would be silently changed by the conversion). This is the only
// place in pricing where a double exists.
//
// Rejected alternatives: toml++'s value_or() defaults (a typo would price a
// job at zero), and reading coefficients as strings of decimals (unusual for
// operators and TOML already has numbers).
#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <string>

#include "pricing/price_book.h"

namespace tollgate::pricing {
namespace {

constexpr std::string_view kErrorCode = "invalid_price_book";
// A price book is a small file; anything larger is a mistake, not a config.
constexpr std::streamsize kPriceBookBytesMax = 1024 * 1024;
constexpr std::size_t kVersionBytesMax = 128;

core::Error fail(std::string_view source, std::uint32_t line, std::string_view what) {
    std::string message(source);
    if (line > 0) {
        message += ':';
        message += std::to_string(line);
    }
    message += ": ";
    message += what;
    return core::make_error(std::string(kErrorCode), std::move(message));
}

std::uint32_t line_of(const toml::node& node) { return node.source().begin.line; }

// The line of `node`, or of `fallback` if toml++ recorded none (implicit tables
// such as [pricing.workflows] created only by their children have no position).
std::uint32_t line_of(const toml::node& node, std::uint32_t fallback) {
    std::uint32_t line = line_of(node);
    return line > 0 ? line : fallback;
}

bool valid_workflow_name(std::string_view name) {
    if (name.empty() || name.size() > kWorkflowNameBytesMax) return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// Reads a coefficient in whole tokens (integer or float) as micro-tokens.
core::Result<std::int64_t> read_micro(const toml::node& node, std::string_view source,
                                      const std::string& path, std::int64_t tokens_max) {
    const std::uint32_t line = line_of(node);
    const std::string bound = " must be at most " + std::to_string(tokens_max) + " tokens";
    if (const auto* integer = node.as_integer()) {
        const std::int64_t value = integer->get();
        if (value < 0) return fail(source, line, path + " must be a non-negative number");
        if (value > tokens_max) return fail(source, line, path + bound);
        return value * core::kMicroTokensPerToken;
    }
    if (const auto* floating = node.as_floating_point()) {
        const double value = floating->get();
        if (!std::isfinite(value)) return fail(source, line, path + " must be a finite number");
        if (value < 0) return fail(source, line, path + " must be a non-negative number");
        if (value > static_cast<double>(tokens_max)) return fail(source, line, path + bound);
        const double scaled = value * static_cast<double>(core::kMicroTokensPerToken);
        const std::int64_t micro = std::llround(scaled);
        // At most 1e12 here, where a double is exact to ~1e-4: a gap above
        // 1e-3 means the text had more than six decimals.
        if (std::fabs(scaled - static_cast<double>(micro)) > 1e-3) {
            return fail(source, line, path + " has more than 6 decimal places");
        }
        return micro;
    }
    return fail(source, line, path + " must be a non-negative number");
}

core::Result<std::int64_t> read_whole_tokens(const toml::node& node, std::string_view source,
                                             const std::string& path, std::int64_t tokens_max) {
    const auto* integer = node.as_integer();
    if (integer == nullptr || integer->get() < 0) {
        return fail(source, line_of(node), path + " must be a non-negative integer");
    }
    if (integer->get() > tokens_max) {
        return fail(source, line_of(node),
                    path + " must be at most " + std::to_string(tokens_max) + " tokens");
    }
    return integer->get();
}

core::Result<WorkflowPrice> read_workflow(const std::string& name, const toml::table& table,
                                          std::string_view source, std::uint32_t line) {
    const std::string prefix = "pricing.workflows." + name + ".";
    for (auto&& [key, node] : table) {
        const std::string_view k = key.str();
        if (k != "base" && k != "per_megapixel" && k != "upscale_surcharge" && k != "minimum") {
            return fail(source, line_of(node, line),
                        "unknown key " + prefix + std::string(k) +
                            " (expected base, per_megapixel, upscale_surcharge, minimum)");
        }
    }
    const char* required[] = {"base", "per_megapixel", "upscale_surcharge", "minimum"};
    for (const char* key : required) {
        if (!table.contains(key)) return fail(source, line, prefix + key + " is missing");
    }

    WorkflowPrice price;
    price.name = name;
    auto base = read_micro(*table.get("base"), source, prefix + "base", kBaseTokensMax);
    if (!base) return base.error();
    price.base_micro = *base;
    auto per_mp = read_micro(*table.get("per_megapixel"), source, prefix + "per_megapixel",
                             kPerMegapixelTokensMax);
    if (!per_mp) return per_mp.error();
    price.per_megapixel_micro = *per_mp;
    auto surcharge = read_micro(*table.get("upscale_surcharge"), source,
                                prefix + "upscale_surcharge", kUpscaleSurchargeTokensMax);
    if (!surcharge) return surcharge.error();
    price.upscale_surcharge_micro = *surcharge;
    auto minimum =
        read_whole_tokens(*table.get("minimum"), source, prefix + "minimum", kMinimumTokensMax);
    if (!minimum) return minimum.error();
    price.minimum_tokens = *minimum;
    return price;
}

core::Status read_workflows(const toml::node& node, std::string_view source,
                            std::uint32_t pricing_line, PriceBook& book) {
    const std::uint32_t line = line_of(node, pricing_line);
    const auto* workflows = node.as_table();
    if (workflows == nullptr) return fail(source, line, "pricing.workflows must be a table");
    for (auto&& [key, entry] : *workflows) {
        const std::string name(key.str());
        const std::uint32_t entry_line = line_of(entry, line);
        if (!valid_workflow_name(name)) {
            return fail(source, entry_line,
                        "workflow name \"" + name +
                            "\" must be 1-64 characters of letters, digits, '_' or '-'");
        }
        const auto* table = entry.as_table();
        if (table == nullptr) {
            return fail(source, entry_line, "pricing.workflows." + name + " must be a table");
        }
        auto price = read_workflow(name, *table, source, entry_line);
        if (!price) return price.error();
        book.workflows.emplace(name, std::move(price).value());
    }
    if (book.workflows.empty()) {
        return fail(source, line, "pricing.workflows must define at least one workflow");
    }
    return {};
}

core::Result<PriceBook> read_pricing(const toml::table& root, std::string_view source) {
    const toml::node* node = root.get("pricing");
    if (node == nullptr) return fail(source, 0, "[pricing] table is missing");
    const auto* pricing = node->as_table();
    if (pricing == nullptr) return fail(source, line_of(*node), "pricing must be a table");
    const std::uint32_t line = line_of(*pricing, 1);

    for (auto&& [key, value] : *pricing) {
        const std::string_view k = key.str();
        if (k != "version" && k != "rounding" && k != "workflows") {
            return fail(source, line_of(value, line),
                        "unknown key pricing." + std::string(k) +
                            " (expected version, rounding, workflows)");
        }
    }

    PriceBook book;
    const toml::node* version = pricing->get("version");
    if (version == nullptr) return fail(source, line, "pricing.version is missing");
    const auto* version_text = version->as_string();
    if (version_text == nullptr || version_text->get().empty() ||
        version_text->get().size() > kVersionBytesMax) {
        return fail(source, line_of(*version),
                    "pricing.version must be a non-empty string of at most 128 bytes");
    }
    book.version = version_text->get();

    const toml::node* rounding = pricing->get("rounding");
    if (rounding == nullptr) return fail(source, line, "pricing.rounding is missing");
    const auto* rounding_text = rounding->as_string();
    std::optional<Rounding> parsed;
    if (rounding_text != nullptr) parsed = parse_rounding(rounding_text->get());
    if (!parsed) {
        return fail(source, line_of(*rounding),
                    "pricing.rounding must be one of \"floor\", \"ceil\", \"nearest\"");
    }
    book.rounding = *parsed;

    const toml::node* workflows = pricing->get("workflows");
    if (workflows == nullptr) return fail(source, line, "pricing.workflows is missing");
    auto status = read_workflows(*workflows, source, line, book);
    if (!status) return status.error();
    return book;
}

}  // namespace

core::Result<PriceBook> parse_price_book(std::string_view toml_text, std::string_view source_name) {
    try {
        const toml::table root = toml::parse(toml_text, source_name);
        return read_pricing(root, source_name);
    } catch (const toml::parse_error& e) {
        return fail(source_name, e.source().begin.line, e.description());
    } catch (const std::exception& e) {
        return fail(source_name, 0, std::string("cannot parse: ") + e.what());
    }
}

core::Result<PriceBook> load_price_book(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(path, 0, "cannot open file");
    std::string text;
    text.resize(static_cast<std::size_t>(kPriceBookBytesMax) + 1);
    in.read(text.data(), kPriceBookBytesMax + 1);
    if (in.bad()) return fail(path, 0, "cannot read file");
    const std::streamsize size = in.gcount();
    if (size > kPriceBookBytesMax) {
        return fail(path, 0,
                    "file is larger than " + std::to_string(kPriceBookBytesMax) + " bytes");
    }
    text.resize(static_cast<std::size_t>(size));
    return parse_price_book(text, path);
}

}  // namespace tollgate::pricing
