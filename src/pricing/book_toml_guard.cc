// One pass over the bytes with a small state machine that knows just enough
// TOML to find every place where toml++ 3.3 classifies a character:
//
// - outside strings and comments (keys, table headers, numbers, dates,
//   booleans, punctuation), where TOML allows only ASCII anyway;
// - through a bare value: a value that does not start with a quote, '[' or
//   '{' is scanned up to the next whitespace, ',', ']', '}' or '#', quotes
//   included, and a date may continue past one space. Valid TOML never has
//   a quote there, so such a quote does not open a string here;
// - in a """ string, the byte after a backslash and the first byte that is
//   not whitespace after a line-ending backslash.
//
// To tell values from keys it follows '=' and the nesting of arrays and
// inline tables. Comments run to the end of the line; single-line strings
// to their closing quote or the end of the line (a newline inside one is
// invalid TOML); multi-line strings to a run of three to five closing
// quotes (up to two quotes may end the content). Escapes are skipped in
// basic strings, so an escaped quote does not close them.
//
// The rules only ever refuse more than toml++ would classify, and everything
// they refuse beyond valid TOML is invalid TOML; the fuzz target
// tests/fuzz/price_book_fuzz.cc checks the rest under UBSan. Rejected
// alternative: refusing the code points that reach the undefined behaviour
// wherever they appear, which would refuse é or Cyrillic in a plan's
// display name.
#include "pricing/book_toml_guard.h"

#include <algorithm>

namespace tollgate::pricing {
namespace {

enum class State { Outside, BareValue, Comment, Basic, Literal, MultiBasic, MultiLiteral };
// Whether a token outside strings starts a key or a value.
enum class Expect { Key, Value };

constexpr std::size_t kDelimiterQuotes = 3;
// A multi-line string's content may end with two quotes before the closing three.
constexpr std::size_t kClosingQuotesMax = 5;
// toml++ refuses values nested deeper (TOML_MAX_NESTED_VALUES).
constexpr std::size_t kNestingMax = 256;

constexpr const char* kOutsideString = "a non-ASCII character outside a string or comment";

bool is_ascii(char c) { return static_cast<unsigned char>(c) < 0x80; }
bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_space_or_newline(char c) { return is_blank(c) || c == '\r' || c == '\n'; }
// What ends toml++'s scan of a bare value (besides a newline).
bool ends_bare_value(char c) {
    return is_blank(c) || c == '\r' || c == ',' || c == ']' || c == '}' || c == '#';
}

class Scanner {
  public:
    explicit Scanner(std::string_view text) : text_(text) {
        // toml++ skips a UTF-8 byte order mark at the start, as editors write it.
        constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
        if (text.starts_with(kByteOrderMark)) at_ = kByteOrderMark.size();
    }

    std::optional<BookTextProblem> run() {
        while (at_ < text_.size() && !problem_) {
            if (text_[at_] == '\n') {
                newline();
            } else {
                step();
            }
        }
        return problem_;
    }

  private:
    void newline() {
        ++line_;
        ++at_;
        if (state_ == State::MultiBasic || state_ == State::MultiLiteral) return;
        state_ = State::Outside;
        bare_ended_ = false;
        if (open_.empty()) expect_ = Expect::Key;
    }

    void step() {
        switch (state_) {
            case State::Outside:
                return outside();
            case State::BareValue:
                return bare_value();
            case State::Comment:
                ++at_;
                return;
            case State::Basic:
            case State::Literal:
                return single_line_string();
            case State::MultiBasic:
            case State::MultiLiteral:
                return multi_line_string();
        }
    }

    void fail(const char* what) { problem_ = BookTextProblem{line_, what}; }

    std::size_t quote_run(char quote) const {
        std::size_t n = 0;
        while (at_ + n < text_.size() && text_[at_ + n] == quote) ++n;
        return n;
    }

    void outside() {
        const char c = text_[at_];
        if (!is_ascii(c)) return fail(kOutsideString);
        // After a bare value and blanks, toml++ may still be scanning (a
        // date and its time); anything but a terminator continues the value.
        if (bare_ended_ && !is_blank(c)) {
            bare_ended_ = false;
            if (!ends_bare_value(c)) {
                state_ = State::BareValue;
                return;
            }
        }
        if (c == '"' || c == '\'') return open_string(c);
        ++at_;
        punctuation(c);
    }

    void punctuation(char c) {
        const char top = open_.empty() ? '\0' : open_.back();
        if (c == '#') {
            state_ = State::Comment;
        } else if (c == '=') {
            expect_ = Expect::Value;
        } else if ((c == '[' || c == '{') && expect_ == Expect::Value) {
            if (open_.size() == kNestingMax) return fail("values nested more than 256 deep");
            open_.push_back(c);
            if (c == '{') expect_ = Expect::Key;
        } else if ((c == ']' && top == '[') || (c == '}' && top == '{')) {
            open_.pop_back();
            expect_ = Expect::Value;  // what was closed was a value
        } else if (c == ',' && top != '\0') {
            expect_ = top == '{' ? Expect::Key : Expect::Value;
        } else if (expect_ == Expect::Value && !ends_bare_value(c) && c != '[' && c != '{') {
            state_ = State::BareValue;  // a number, date, boolean, inf or nan
        }
    }

    void bare_value() {
        const char c = text_[at_];
        if (ends_bare_value(c)) {
            state_ = State::Outside;
            bare_ended_ = is_blank(c);
            return;  // the terminator is read outside
        }
        if (!is_ascii(c)) return fail("a non-ASCII character in a value that is not a string");
        ++at_;
    }

    void open_string(char quote) {
        const bool multi = quote_run(quote) >= kDelimiterQuotes;
        at_ += multi ? kDelimiterQuotes : 1;
        if (quote == '"') {
            state_ = multi ? State::MultiBasic : State::Basic;
        } else {
            state_ = multi ? State::MultiLiteral : State::Literal;
        }
    }

    void single_line_string() {
        const char c = text_[at_];
        if (c == '\\' && state_ == State::Basic) {
            // The escaped byte cannot close the string; a newline (invalid
            // there) is left to newline().
            const bool before_newline = at_ + 1 < text_.size() && text_[at_ + 1] == '\n';
            at_ += before_newline ? 1 : 2;
            return;
        }
        if (c == (state_ == State::Basic ? '"' : '\'')) state_ = State::Outside;
        ++at_;
    }

    void multi_line_string() {
        const char quote = state_ == State::MultiBasic ? '"' : '\'';
        const char c = text_[at_];
        if (c == quote) {
            const std::size_t run = quote_run(quote);
            if (run >= kDelimiterQuotes) state_ = State::Outside;
            at_ += std::min(run, kClosingQuotesMax);
            return;
        }
        if (c == '\\' && state_ == State::MultiBasic) return backslash();
        ++at_;
    }

    // On a backslash in a """ string: toml++ classifies the byte after it,
    // or after a line-ending backslash the first byte that is not whitespace.
    void backslash() {
        ++at_;
        if (at_ == text_.size()) return;
        if (!is_space_or_newline(text_[at_])) {
            if (!is_ascii(text_[at_])) {
                return fail("a non-ASCII character right after a backslash in a \"\"\" string");
            }
            ++at_;  // the escaped byte cannot close the string
            return;
        }
        while (at_ < text_.size() && is_space_or_newline(text_[at_])) {
            if (text_[at_] == '\n') ++line_;
            ++at_;
        }
        if (at_ < text_.size() && !is_ascii(text_[at_])) {
            fail("a non-ASCII character first after a line-ending backslash in a \"\"\" string");
        }
    }

    std::string_view text_;
    std::size_t at_ = 0;
    std::uint32_t line_ = 1;
    State state_ = State::Outside;
    Expect expect_ = Expect::Key;
    bool bare_ended_ = false;  // a bare value just ended at a blank
    std::string open_;         // the arrays ('[') and inline tables ('{') open
    std::optional<BookTextProblem> problem_;
};

}  // namespace

std::optional<BookTextProblem> check_book_text(std::string_view text) {
    return Scanner(text).run();
}

}  // namespace tollgate::pricing
