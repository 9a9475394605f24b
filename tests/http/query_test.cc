#include "http/codec/query.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate::http {
namespace {

TEST(PercentDecodeTest, DecodesEscapesAndPlus) {
    EXPECT_EQ(percent_decode("a%20b+c"), "a b c");
    EXPECT_EQ(percent_decode("%41%6a%6A"), "Ajj");
    EXPECT_EQ(percent_decode("%E2%82%AC"), "\xE2\x82\xAC");
}

TEST(PercentDecodeTest, KeepsMalformedEscapesLiterally) {
    EXPECT_EQ(percent_decode("100%"), "100%");
    EXPECT_EQ(percent_decode("%4"), "%4");
    EXPECT_EQ(percent_decode("%zz%4g"), "%zz%4g");
    EXPECT_EQ(percent_decode("%%41"), "%A");
}

TEST(PercentDecodeTest, DecodesNulByte) {
    const std::string decoded = percent_decode("a%00b");
    ASSERT_EQ(decoded.size(), 3u);
    EXPECT_EQ(decoded[1], '\0');
}

TEST(PercentDecodeTest, PathDecodingKeepsPlus) {
    EXPECT_EQ(percent_decode_path("/a+b/c%2Bd%20e"), "/a+b/c+d e");
}

TEST(PercentEncodeTest, KeepsUnreservedOnly) {
    EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
    EXPECT_EQ(percent_encode("a b/c?d=e&f+"), "a%20b%2Fc%3Fd%3De%26f%2B");
    EXPECT_EQ(percent_encode("\xff\x01"), "%FF%01");
}

TEST(PercentEncodeTest, RoundTripsEveryByte) {
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    EXPECT_EQ(percent_decode(percent_encode(all)), all);
    EXPECT_EQ(percent_decode_path(percent_encode(all)), all);
}

TEST(ParseQueryTest, ParsesPairsAndFlags) {
    const auto q = parse_query("a=1&b=x%20y&flag&c=p+q&d=");
    ASSERT_EQ(q.size(), 5u);
    EXPECT_EQ(q.at("a"), "1");
    EXPECT_EQ(q.at("b"), "x y");
    EXPECT_EQ(q.at("flag"), "");
    EXPECT_EQ(q.at("c"), "p q");
    EXPECT_EQ(q.at("d"), "");
}

TEST(ParseQueryTest, LastValueWins) {
    const auto q = parse_query("k=1&k=2&k=3");
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q.at("k"), "3");
}

TEST(ParseQueryTest, IgnoresEmptyKeysAndPairs) {
    const auto q = parse_query("=v&&a=1&=&&");
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q.at("a"), "1");
    EXPECT_TRUE(parse_query("").empty());
    EXPECT_TRUE(parse_query("&&&").empty());
}

TEST(ParseQueryTest, DecodesKeysAndKeepsEqualsInValue) {
    const auto q = parse_query("a%5Bb%5D=x=y");
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q.at("a[b]"), "x=y");
}

TEST(ParseQueryTest, BoundedToParamsMax) {
    std::string raw;
    for (int i = 0; i < kQueryParamsMax + 10; ++i) {
        raw += "k" + std::to_string(i) + "=v&";
    }
    const auto q = parse_query(raw);
    EXPECT_EQ(q.size(), static_cast<std::size_t>(kQueryParamsMax));
    EXPECT_TRUE(q.contains("k0"));
    EXPECT_TRUE(q.contains("k" + std::to_string(kQueryParamsMax - 1)));
    EXPECT_FALSE(q.contains("k" + std::to_string(kQueryParamsMax)));
}

}  // namespace
}  // namespace tollgate::http
