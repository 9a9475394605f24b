#include <gtest/gtest.h>

#include "usage/export/clickhouse_sink.h"
#include "usage/sample_record.h"

namespace tollgate::usage {
namespace {

TEST(ClickHouseUrlTest, ReadsHostPortDatabaseAndCredentials) {
    auto a = parse_clickhouse_url("clickhouse://ch.internal").value();
    EXPECT_EQ(a.host, "ch.internal");
    EXPECT_EQ(a.port, 8123);
    EXPECT_EQ(a.database, "default");
    EXPECT_TRUE(a.user.empty());
    auto b = parse_clickhouse_url("clickhouse://writer:pw@10.0.0.5:9000/usage_2").value();
    EXPECT_EQ(b.host, "10.0.0.5");
    EXPECT_EQ(b.port, 9000);
    EXPECT_EQ(b.database, "usage_2");
    EXPECT_EQ(b.user, "writer");
    EXPECT_EQ(b.password, "pw");
    auto c = parse_clickhouse_url("clickhouse://[::1]:8124/").value();
    EXPECT_EQ(c.host, "::1");
    EXPECT_EQ(c.port, 8124);
    EXPECT_EQ(c.database, "default");
}

TEST(ClickHouseUrlTest, RefusesWhatWouldReachTheSqlOrIsNotAnAddress) {
    for (const char* bad : {"clickhouse://h/db;DROP", "clickhouse://h/a-b", "clickhouse://h:0/db",
                            "clickhouse://h:99999/db", "clickhouse://h:x/db", "clickhouse:///db",
                            "clickhouse://[::1/db", "http://h:8123/db"}) {
        auto got = parse_clickhouse_url(bad);
        ASSERT_FALSE(got.ok()) << bad;
        EXPECT_EQ(got.error().code, "invalid_sink_url") << bad;
    }
    // The same checks apply when the URL is read from the config.
    EXPECT_FALSE(parse_sink_url("clickhouse://h/db;DROP").ok());
}

TEST(ClickHouseRowTest, EscapesStringsAndCarriesTheDay) {
    UsageRecord r = sample_record("job_1", 7, "acct_1", 20'000 * kMsPerDay + 5);
    r.failure_reason = "a \"quote\"\\\n\x01";
    const std::string row = clickhouse_row(r);
    EXPECT_EQ(row.front(), '{');
    EXPECT_EQ(row.back(), '}');
    EXPECT_EQ(row.find('\n'), std::string::npos);
    EXPECT_NE(row.find("\"failure_reason\":\"a \\\"quote\\\"\\\\\\n\\u0001\""), std::string::npos)
        << row;
    EXPECT_NE(row.find("\"tokens\":7,"), std::string::npos);
    EXPECT_NE(row.find("\"day\":\"2024-10-04\""), std::string::npos) << row;
    EXPECT_NE(row.find("\"job_id\":\"job_1\""), std::string::npos);
    // Day 0 and a leap day.
    r.finished_ms = 0;
    EXPECT_NE(clickhouse_row(r).find("\"day\":\"1970-01-01\""), std::string::npos);
    r.finished_ms = 19'417 * kMsPerDay;  // 2023-03-01, the day after 2023-02-28
    EXPECT_NE(clickhouse_row(r).find("\"day\":\"2023-03-01\""), std::string::npos);
    r.finished_ms = 19'782 * kMsPerDay;  // 2024-02-29
    EXPECT_NE(clickhouse_row(r).find("\"day\":\"2024-02-29\""), std::string::npos);
}

}  // namespace
}  // namespace tollgate::usage
