// Typed readers over toml++ nodes. The one place in pricing where a double
// exists is read_decimal: a TOML float is range-checked, rendered as its
// shortest round-trip decimal text (std::to_chars), and that text is parsed
// exactly. Rejected alternative: scaling the double and rounding, which turns
// "0.0000005" into a silent half micro-token guess instead of an error.
#include "pricing/book_toml_read.h"

#include <charconv>
#include <cmath>
#include <string>

#include "pricing/decimal.h"

namespace tollgate::pricing {
namespace {

constexpr std::string_view kErrorCode = "invalid_price_book";

std::string cat(std::string_view a, std::string_view b) {
    std::string out(a);
    out += b;
    return out;
}

std::string at_most(std::string_view path, std::int64_t scaled_max, int places,
                    std::string_view unit) {
    std::string out = cat(path, " must be at most ");
    out += format_decimal(scaled_max, places);
    if (!unit.empty()) {
        if (unit != "x" && unit != "%") out += ' ';
        out += unit;
    }
    return out;
}

bool name_chars(std::string_view name, std::string_view extra, bool upper) {
    if (name.empty() || name.size() > kBookNameBytesMax) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                        (upper && c >= 'A' && c <= 'Z') || extra.find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

}  // namespace

core::Error book_error(const BookSource& source, std::uint32_t line, std::string_view what) {
    std::string message(source.name);
    if (line > 0) {
        message += ':';
        message += std::to_string(line);
    }
    message += ": ";
    message += what;
    return core::make_error(std::string(kErrorCode), std::move(message));
}

std::string child_path(std::string_view parent, std::string_view key) {
    std::string out(parent);
    out += '.';
    out += key;
    return out;
}

std::uint32_t line_of(const toml::node& node, std::uint32_t fallback) {
    const std::uint32_t line = node.source().begin.line;
    return line > 0 ? line : fallback;
}

core::Status check_keys(const BookSource& source, const toml::table& table,
                        std::initializer_list<std::string_view> allowed, std::string_view path,
                        std::uint32_t fallback) {
    for (auto&& [key, node] : table) {
        const std::string_view k = key.str();
        bool found = false;
        for (std::string_view a : allowed) found = found || a == k;
        if (found) continue;
        std::string what = "unknown key ";
        if (!path.empty()) what += cat(path, ".");
        what += k;
        what += " (expected ";
        bool first = true;
        for (std::string_view a : allowed) {
            if (!first) what += ", ";
            what += a;
            first = false;
        }
        what += ')';
        // A key's own line is that of its value (or of its table header).
        return book_error(source, line_of(node, fallback), what);
    }
    return {};
}

core::Result<const toml::table*> read_table(const BookSource& source, const toml::node& node,
                                            std::string_view path, std::uint32_t fallback) {
    const auto* table = node.as_table();
    if (table == nullptr) {
        return book_error(source, line_of(node, fallback), cat(path, " must be a table"));
    }
    return table;
}

core::Result<std::int64_t> read_decimal(const BookSource& source, const toml::node& node,
                                        std::string_view path, int places, std::int64_t scaled_max,
                                        std::string_view unit) {
    const std::uint32_t line = line_of(node, 0);
    const std::int64_t scale = pow10(places);
    if (const auto* integer = node.as_integer()) {
        const std::int64_t value = integer->get();
        if (value < 0) return book_error(source, line, cat(path, " must be a non-negative number"));
        if (value > scaled_max / scale) {
            return book_error(source, line, at_most(path, scaled_max, places, unit));
        }
        return value * scale;
    }
    const auto* floating = node.as_floating_point();
    if (floating == nullptr) {
        return book_error(source, line, cat(path, " must be a non-negative number"));
    }
    const double value = floating->get();
    if (!std::isfinite(value) || value < 0) {
        return book_error(source, line, cat(path, " must be a non-negative number"));
    }
    if (value == 0) return std::int64_t{0};  // also -0.0, which to_chars signs
    // The bound check first keeps the text short and every digit significant.
    if (value > static_cast<double>(scaled_max) / static_cast<double>(scale) * 1.000001) {
        return book_error(source, line, at_most(path, scaled_max, places, unit));
    }
    char text[64];
    const auto [end, ec] = std::to_chars(text, text + sizeof text, value, std::chars_format::fixed);
    std::int64_t scaled = 0;
    const DecimalStatus status =
        ec == std::errc()
            ? parse_decimal(std::string_view(text, static_cast<std::size_t>(end - text)), places,
                            scaled_max, scaled)
            : DecimalStatus::TooLarge;
    switch (status) {
        case DecimalStatus::Ok:
            return scaled;
        case DecimalStatus::TooManyPlaces:
            return book_error(
                source, line,
                cat(path, " has more than " + std::to_string(places) + " decimal places"));
        case DecimalStatus::TooLarge:
            return book_error(source, line, at_most(path, scaled_max, places, unit));
        case DecimalStatus::Malformed:
            break;
    }
    return book_error(source, line, cat(path, " must be a non-negative number"));
}

core::Result<std::int64_t> read_integer(const BookSource& source, const toml::node& node,
                                        std::string_view path, std::int64_t min, std::int64_t max) {
    const auto* integer = node.as_integer();
    if (integer == nullptr || integer->get() < min || integer->get() > max) {
        return book_error(source, line_of(node, 0),
                          cat(path, " must be an integer between " + std::to_string(min) + " and " +
                                        std::to_string(max)));
    }
    return integer->get();
}

core::Result<std::string_view> read_string(const BookSource& source, const toml::node& node,
                                           std::string_view path) {
    const auto* text = node.as_string();
    if (text == nullptr) {
        return book_error(source, line_of(node, 0), cat(path, " must be a string"));
    }
    return std::string_view(text->get());
}

core::Result<bool> read_bool(const BookSource& source, const toml::node& node,
                             std::string_view path) {
    const auto* flag = node.as_boolean();
    if (flag == nullptr) {
        return book_error(source, line_of(node, 0), cat(path, " must be true or false"));
    }
    return flag->get();
}

core::Result<int> read_clock_minute(const BookSource& source, const toml::node& node,
                                    std::string_view path, bool allow_24) {
    const std::string_view range = allow_24 ? "00:00 to 24:00" : "00:00 to 23:59";
    const auto* text = node.as_string();
    const std::string_view s = text != nullptr ? std::string_view(text->get()) : "";
    const auto digit = [&](std::size_t i) { return s[i] >= '0' && s[i] <= '9'; };
    if (s.size() != 5 || !digit(0) || !digit(1) || s[2] != ':' || !digit(3) || !digit(4)) {
        return book_error(source, line_of(node, 0),
                          cat(path, " must be a time \"HH:MM\" from " + std::string(range)));
    }
    const int hours = (s[0] - '0') * 10 + (s[1] - '0');
    const int minutes = (s[3] - '0') * 10 + (s[4] - '0');
    const bool ok = (hours < 24 && minutes < 60) || (allow_24 && hours == 24 && minutes == 0);
    if (!ok) {
        return book_error(source, line_of(node, 0),
                          cat(path, " must be a time \"HH:MM\" from " + std::string(range)));
    }
    return hours * 60 + minutes;
}

bool valid_lower_name(std::string_view name) { return name_chars(name, "", false); }
bool valid_tenant_name(std::string_view name) { return name_chars(name, ".-", true); }
bool valid_version(std::string_view version) { return name_chars(version, ".:-", true); }

}  // namespace tollgate::pricing
