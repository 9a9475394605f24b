#include "usage/export/sink_url.h"

#include <gtest/gtest.h>

namespace tollgate::usage {
namespace {

TEST(SinkUrlTest, KnowsPostgresAndClickHouseUrls) {
    auto pg = parse_sink_url("postgresql://reporter:s3cret@db.internal:5433/usage");
    ASSERT_TRUE(pg.ok());
    EXPECT_EQ(pg->kind, SinkKind::Postgres);
    EXPECT_EQ(pg->url, "postgresql://reporter:s3cret@db.internal:5433/usage");
    EXPECT_EQ(pg->name, "postgresql://reporter@db.internal:5433/usage");
    EXPECT_EQ(parse_sink_url("postgres://db/usage")->kind, SinkKind::Postgres);
    auto ch = parse_sink_url("clickhouse://ch.internal:8123/analytics");
    ASSERT_TRUE(ch.ok());
    EXPECT_EQ(ch->kind, SinkKind::ClickHouse);
    EXPECT_EQ(ch->name, "clickhouse://ch.internal:8123/analytics");
}

TEST(SinkUrlTest, RefusesOtherSchemesAndControlCharacters) {
    for (const char* bad : {"mysql://db/usage", "http://ch:8123", "", "postgresql://db/a b",
                            "postgresql://db/a\nb"}) {
        auto got = parse_sink_url(bad);
        ASSERT_FALSE(got.ok()) << bad;
        EXPECT_EQ(got.error().code, "invalid_sink_url");
    }
    auto long_url = parse_sink_url("postgresql://db/" + std::string(300, 'a'));
    ASSERT_FALSE(long_url.ok());
    EXPECT_EQ(long_url.error().code, "invalid_sink_url");
}

TEST(SinkUrlTest, RedactsPasswordsFromUserInfoAndQuery) {
    EXPECT_EQ(redact_password("postgresql://u:p@h/db"), "postgresql://u@h/db");
    EXPECT_EQ(redact_password("postgresql://u@h/db?password=p&sslmode=require"),
              "postgresql://u@h/db?sslmode=require");
    EXPECT_EQ(redact_password("postgresql://h/db?sslmode=require&password=p"),
              "postgresql://h/db?sslmode=require");
    EXPECT_EQ(redact_password("postgresql://h/db?password=p"), "postgresql://h/db");
    EXPECT_EQ(redact_password("clickhouse://h:8123/db"), "clickhouse://h:8123/db");
    // An @ in the path is not user info.
    EXPECT_EQ(redact_password("postgresql://h:5432/a@b"), "postgresql://h:5432/a@b");
    // '?' and '#' in a password do not end the user info.
    EXPECT_EQ(redact_password("postgresql://u:p?ss#x@h/db?sslmode=require"),
              "postgresql://u@h/db?sslmode=require");
    EXPECT_EQ(redact_password("clickhouse://wri#ter:pw@10.0.0.1/db"),
              "clickhouse://wri#ter@10.0.0.1/db");
    // A raw '/' in a password leaves no way to tell where it ends: refused,
    // and not quoted.
    for (const char* url : {"postgresql://u:p/ss@h/db", "clickhouse://u:p/ss@h/db"}) {
        auto got = parse_sink_url(url);
        ASSERT_FALSE(got.ok()) << url;
        EXPECT_EQ(got.error().message.find("ss@"), std::string::npos) << got.error().message;
        EXPECT_EQ(got.error().message.find(":p"), std::string::npos) << got.error().message;
    }
    // The error message of a refused URL carries no password either.
    auto got = parse_sink_url("mysql://u:hunter2@h/db");
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().message.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::usage
