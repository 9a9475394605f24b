// A byte-level check of a price book's text, run before toml++ sees it;
// internal to the pricing part.
//
// toml++ 3.3 (the Debian 12 library) classifies characters with a generated
// function that has undefined behaviour (it reaches __builtin_unreachable)
// for code points U+00A1..U+0499 and U+2C5E..U+3057. It asks "is this
// whitespace?" of every character outside strings and comments, of every
// character it scans through a bare value (a number, date or boolean, up to
// the next whitespace, ',', ']', '}' or '#', quotes included), and of the
// character after a backslash in a multi-line basic string. TOML allows
// non-ASCII text only inside strings and comments, so this check refuses
// non-ASCII bytes in all those places except valid strings and comments,
// plus the one valid but rare shape that also reaches the classifier (a
// non-ASCII character right after a backslash, or first after a
// line-ending backslash, in a """ string), with its line, before toml++
// runs. Valid books with non-ASCII text in strings and comments (display
// names, currency notes) load as before. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::pricing {

struct BookTextProblem {
    std::uint32_t line = 0;  // 1-based
    std::string what;
};

// nullopt when `text` may be handed to toml++; otherwise the first problem.
std::optional<BookTextProblem> check_book_text(std::string_view text);

}  // namespace tollgate::pricing
