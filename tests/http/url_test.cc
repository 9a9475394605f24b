#include "http/codec/url.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate::http {
namespace {

TEST(UrlTest, ParsesHostPortAndTarget) {
    auto u = parse_http_url("http://hooks.example.com:8080/tollgate/done?x=1&y=2", 2048);
    ASSERT_TRUE(u.ok()) << u.error().message;
    EXPECT_EQ(u->host, "hooks.example.com");
    EXPECT_EQ(u->port, 8080);
    EXPECT_EQ(u->target, "/tollgate/done?x=1&y=2");
    EXPECT_EQ(u->host_header(), "hooks.example.com:8080");
}

TEST(UrlTest, DefaultsToPort80AndRootPath) {
    auto u = parse_http_url("http://127.0.0.1", 2048);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->port, 80);
    EXPECT_EQ(u->target, "/");
    EXPECT_EQ(u->host_header(), "127.0.0.1");
    auto q = parse_http_url("http://h?a=b", 2048);
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->target, "/?a=b");
}

TEST(UrlTest, AcceptsBracketedIpv6) {
    auto u = parse_http_url("http://[::1]:9000/hook", 2048);
    ASSERT_TRUE(u.ok()) << u.error().message;
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 9000);
    EXPECT_EQ(u->host_header(), "[::1]:9000");
}

TEST(UrlTest, RefusesWhatIsNotAPlainHttpUrl) {
    for (const char* bad :
         {"", "https://example.com/", "ftp://x/", "http://", "http:///path", "http://a b/",
          "http://user@host/", "http://host:/", "http://host:0/", "http://host:65536/",
          "http://host:8x/", "http://host/a b", "http://host/#frag", "http://[::1/", "http://[]/",
          "http://[::1]x/", "http://host/\x01", "example.com/hook"}) {
        auto u = parse_http_url(bad, 2048);
        ASSERT_FALSE(u.ok()) << bad;
        EXPECT_EQ(u.error().code, "invalid_url");
    }
}

TEST(UrlTest, RefusesUrlsOverTheLengthLimit) {
    std::string url = "http://h/" + std::string(100, 'a');
    EXPECT_TRUE(parse_http_url(url, url.size()).ok());
    EXPECT_FALSE(parse_http_url(url, url.size() - 1).ok());
}

}  // namespace
}  // namespace tollgate::http
