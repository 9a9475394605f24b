// The byte check run on a price book before toml++ parses it: non-ASCII text
// is refused outside strings and comments (where toml++ 3.3 reaches undefined
// behaviour classifying it) and kept everywhere TOML allows it.
#include "pricing/book_toml_guard.h"

#include <gtest/gtest.h>

#include <string>

#include "pricing/price_book.h"
#include "pricing/pricing_test_util.h"

namespace tollgate::pricing {
namespace {

constexpr const char* kOutside = "a non-ASCII character outside a string or comment";

// Lines 1-3; `rest` starts on line 4.
std::string book(std::string_view rest) {
    return "version = \"v1\"\nrounding = \"floor\"\n[workflows.person]\n" + std::string(rest);
}

std::string problem_of(std::string_view text) {
    const auto problem = check_book_text(text);
    return problem ? std::to_string(problem->line) + ": " + problem->what : "none";
}

// Found by fuzzing: "U+03D2 after a value" made toml++ 3.3 reach
// __builtin_unreachable in its whitespace table (UBSan: "execution reached
// an unreachable program point"). The book is now refused before toml++ runs.
TEST(BookTomlGuardTest, NonAsciiOutsideStringsIsRefusedWithItsLine) {
    auto parsed =
        parse_price_book(book("base = 1\xCF\x92\nper_megapixel = 2\nminimum = 1\n"), "cfg.toml");
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, "invalid_price_book");
    EXPECT_EQ(parsed.error().message,
              "cfg.toml:4: a non-ASCII character in a value that is not a string");

    EXPECT_EQ(problem_of("\xCC\xAA"), std::string("1: ") + kOutside);
    EXPECT_EQ(problem_of("a = 1\n\n  \xE3\x80\x80"
                         "b = 2"),
              std::string("3: ") + kOutside);
    EXPECT_EQ(problem_of("[t\xC2\xA7]"), std::string("1: ") + kOutside);
}

TEST(BookTomlGuardTest, NonAsciiInStringsAndCommentsIsKept) {
    const std::string text = "\xEF\xBB\xBF# Prix en \xE2\x82\xAC, \xC3\xA9t\xC3\xA9\n" +
                             book("base = 10 # \xCF\x92\nper_megapixel = 2\nminimum = 10\n") +
                             "[plans.monthly]\n"
                             "display_name = \"\xC3\x89t\xC3\xA9 \\\" \xE2\x80\x93 Pro\"\n"
                             "period = 'month'\ntokens = 10\nprice = \"1\"\n"
                             "currency = '''USD''' # \xC2\xA4\n";
    EXPECT_EQ(problem_of(text), "none");
    const PriceBook loaded = must_parse(text);
    EXPECT_EQ(loaded.plans.at("monthly").display_name, "\xC3\x89t\xC3\xA9 \" \xE2\x80\x93 Pro");
    // Quoted keys are strings too.
    EXPECT_EQ(problem_of("[tenants.\"Soci\xC3\xA9t\xC3\xA9\"]"), "none");
}

TEST(BookTomlGuardTest, StringsEndWhereTomlEndsThem) {
    // An escaped quote does not end a basic string; a backslash does not
    // escape in a literal string.
    EXPECT_EQ(problem_of("a = \"x\\\"\xC3\xA9\""), "none");
    EXPECT_EQ(problem_of("a = 'x\\'\xC3\xA9"), std::string("1: ") + kOutside);
    // A """ string may end with two quotes of content before its delimiter.
    EXPECT_EQ(problem_of("a = \"\"\"x\"\"\xC3\xA9\"\"\"\"\"\n"), "none");
    EXPECT_EQ(problem_of("a = \"\"\"x\"\"\"\"\"\xC3\xA9"), std::string("1: ") + kOutside);
    // A single-line string ends at the end of its line at the latest.
    EXPECT_EQ(problem_of("a = \"x\n\xC3\xA9"), std::string("2: ") + kOutside);
}

// Found by fuzzing: toml++ scans a bare value (number, date, boolean) up to
// whitespace or punctuation, through quotes, so "2\"K\"" classified the K.
TEST(BookTomlGuardTest, BareValuesAreScannedThroughQuotes) {
    const std::string in_value = "a non-ASCII character in a value that is not a string";
    EXPECT_EQ(problem_of("a = 2\"\xD0\x9A"
                         "9\""),
              "1: " + in_value);
    EXPECT_EQ(problem_of("a = [1, true\"\xC3\xA9\"]"), "1: " + in_value);
    EXPECT_EQ(problem_of("a = {b = 1\"\xC3\xA9\"}"), "1: " + in_value);
    // A date may go on after one space (a date-time), so what follows is scanned too.
    EXPECT_EQ(problem_of("a = 1979-05-27 \"\xC3\xA9\""), "1: " + in_value);
    EXPECT_EQ(problem_of("a = 1979-05-27 07:32:00Z # \xC3\xA9"), "none");
    // Strings in values, arrays and inline tables are strings.
    EXPECT_EQ(problem_of("a = [1, \"\xC3\xA9\", {b = '\xC3\xA9', c = [\"\xC3\xA9\"]}]\n"
                         "[t]\nd = \"\xC3\xA9\""),
              "none");
    // Keys are not scanned that way: a quote after a bare key opens a string.
    EXPECT_EQ(problem_of("a.\"\xC3\xA9\" = 1\n[b.\"\xC3\xA9\"]"), "none");
}

TEST(BookTomlGuardTest, MultiLineBackslashesMustBeFollowedByAscii) {
    EXPECT_EQ(problem_of("a = \"\"\"x\\\n\n   y\xC3\xA9\"\"\""), "none");
    EXPECT_EQ(problem_of("a = \"\"\"x\\\n\n   \xC3\xA9\"\"\""),
              "3: a non-ASCII character first after a line-ending backslash in a \"\"\" string");
    EXPECT_EQ(problem_of("a = \"\"\"\\\xC3\xA9\"\"\""),
              "1: a non-ASCII character right after a backslash in a \"\"\" string");
    // Literal strings have no escapes.
    EXPECT_EQ(problem_of("a = '''\\\xC3\xA9'''"), "none");
}

}  // namespace
}  // namespace tollgate::pricing
