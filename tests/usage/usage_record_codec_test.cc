#include "usage/usage_record_codec.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "usage/sample_record.h"

namespace tollgate::usage {
namespace {

// Every field set, each to a value no other field holds.
UsageRecord full_record() {
    UsageRecord r;
    r.job_id = "job_7";
    r.account_id = "acct_9";
    r.workflow = "person \"quoted\" \\ \n tab\t ünïcode";
    r.width = 1024;
    r.height = 768;
    r.tokens = 37;
    r.quoted_tokens = 41;
    r.book_version = "2024-06-01";
    r.md5_hex = "0123456789abcdef0123456789abcdef";
    r.sha256_hex = std::string(64, 'e');
    r.worker = "http://10.0.0.5:8188";
    r.queue_wait_ms = 1'234;
    r.execution_ms = 56'789;
    r.outcome = "failed";
    r.failure_reason = "cancelled: by the client";
    r.finished_ms = 1'700'000'123'456;
    r.vram_peak_bytes = 23'000'000'000;
    r.attempts = 3;
    r.dedupe_kind = "near";
    r.dedupe_of = "job_5";
    r.dedupe_distance = 6;
    r.meter_wall_ms = 3'512;
    r.meter_gpu_peak_bytes = 1'409'286'144;
    return r;
}

// The exact text the version before the meter fields wrote for
// sample_record("job_1", 10): records like it are stored and must still read.
constexpr const char* kTextBeforeMeter =
    R"({"v":1,"job_id":"job_1","account_id":"acct_1","workflow":"person",)"
    R"("width":800,"height":600,"tokens":10,"quoted_tokens":10,"book_version":"v1",)"
    R"("md5_hex":"md5","sha256_hex":"sha","worker":"http://w","queue_wait_ms":3,)"
    R"("execution_ms":1200,"outcome":"succeeded","failure_reason":"","finished_ms":42,)"
    R"("vram_peak_bytes":1048576,"attempts":1,"dedupe_kind":"","dedupe_of":"",)"
    R"("dedupe_distance":0})";

void expect_invalid(std::string_view text, const std::string& why_contains) {
    auto r = decode_usage_record(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, "invalid_usage_record") << text;
    EXPECT_NE(r.error().message.find(why_contains), std::string::npos)
        << text << " -> " << r.error().message;
}

TEST(UsageRecordCodecTest, RoundTripsEveryField) {
    const UsageRecord r = full_record();
    const std::string text = encode_usage_record(r);
    auto back = decode_usage_record(text);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, r);
    // Extremes of the integers survive too.
    UsageRecord big = r;
    big.vram_peak_bytes = std::numeric_limits<std::int64_t>::max();
    big.tokens = std::numeric_limits<std::int64_t>::min();
    big.meter_gpu_peak_bytes = std::numeric_limits<std::int64_t>::max();
    big.dedupe_kind = "";
    big.outcome = "succeeded";
    EXPECT_EQ(decode_usage_record(encode_usage_record(big)).value(), big);
}

TEST(UsageRecordCodecTest, TheTextIsStable) {
    // The format is stored: a change here breaks records already written.
    EXPECT_EQ(encode_usage_record(sample_record("job_1", 10)),
              R"({"v":1,"job_id":"job_1","account_id":"acct_1","workflow":"person",)"
              R"("width":800,"height":600,"tokens":10,"quoted_tokens":10,"book_version":"v1",)"
              R"("md5_hex":"md5","sha256_hex":"sha","worker":"http://w","queue_wait_ms":3,)"
              R"("execution_ms":1200,"outcome":"succeeded","failure_reason":"","finished_ms":42,)"
              R"("vram_peak_bytes":1048576,"attempts":1,"dedupe_kind":"","dedupe_of":"",)"
              R"("dedupe_distance":0,"meter_wall_ms":1100,"meter_gpu_peak_bytes":3221225472})");
    EXPECT_EQ(encode_usage_record(full_record()), encode_usage_record(full_record()));
}

TEST(UsageRecordCodecTest, ARecordWrittenBeforeTheMeterFieldsReadsThemAsNotMeasured) {
    auto old = decode_usage_record(kTextBeforeMeter);
    ASSERT_TRUE(old.ok()) << old.error().message;
    UsageRecord want = sample_record("job_1", 10);
    want.meter_wall_ms = -1;
    want.meter_gpu_peak_bytes = -1;
    EXPECT_EQ(*old, want);
    // Written again, it carries them explicitly, still as not measured.
    const std::string again = encode_usage_record(*old);
    EXPECT_NE(again.find(R"("meter_wall_ms":-1,"meter_gpu_peak_bytes":-1})"), std::string::npos)
        << again;
    EXPECT_EQ(decode_usage_record(again).value(), want);
    // Either field alone is read too.
    std::string wall_only = kTextBeforeMeter;
    wall_only.insert(wall_only.size() - 1, R"(,"meter_wall_ms":250)");
    EXPECT_EQ(decode_usage_record(wall_only).value().meter_wall_ms, 250);
    EXPECT_EQ(decode_usage_record(wall_only).value().meter_gpu_peak_bytes, -1);
}

TEST(UsageRecordCodecTest, TheMeterFieldsAreOptionalButTyped) {
    for (const char* name : {"meter_wall_ms", "meter_gpu_peak_bytes"}) {
        for (const char* wrong : {"\"5\"", "1.5", "true", "null", "[]", "9223372036854775808"}) {
            std::string typed = kTextBeforeMeter;
            typed.insert(typed.size() - 1, std::string(",\"") + name + "\":" + wrong);
            auto r = decode_usage_record(typed);
            ASSERT_FALSE(r.ok()) << typed;
            EXPECT_EQ(r.error().code, "invalid_usage_record");
            EXPECT_NE(r.error().message.find(name), std::string::npos) << r.error().message;
        }
    }
}

TEST(UsageRecordCodecTest, KeysInAnyOrderAndUnknownKeysAreRead) {
    const std::string text =
        R"({"dedupe_distance":0,"later_field":[{"a":[1]}],"v":1,"account_id":"acct_1","workflow":"w",)"
        R"("width":1,"height":2,"tokens":3,"quoted_tokens":4,"book_version":"b","md5_hex":"m",)"
        R"("sha256_hex":"s","worker":"k","queue_wait_ms":5,"execution_ms":6,"outcome":"failed",)"
        R"("failure_reason":"f","finished_ms":7,"vram_peak_bytes":8,"attempts":9,)"
        R"("dedupe_kind":"exact","dedupe_of":"job_0","job_id":"job_1"})";
    auto r = decode_usage_record(text);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->job_id, "job_1");
    EXPECT_EQ(r->attempts, 9);
    EXPECT_EQ(r->dedupe_kind, "exact");
}

TEST(UsageRecordCodecTest, InvalidUtf8IsReplacedNotThrown) {
    UsageRecord r = sample_record("job_1", 10);
    r.failure_reason = std::string("bad \xff\xfe byte");
    const std::string text = encode_usage_record(r);
    auto back = decode_usage_record(text);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->failure_reason, "bad \xEF\xBF\xBD\xEF\xBF\xBD byte");  // U+FFFD twice
}

TEST(UsageRecordCodecTest, RefusesWhatIsNotARecord) {
    expect_invalid("", "not valid JSON");
    expect_invalid("{", "not valid JSON");
    expect_invalid("null", "not a JSON object");
    expect_invalid("[1,2]", "not a JSON object");
    expect_invalid("\"job\"", "not a JSON object");
    expect_invalid("{}", "v is missing");
    expect_invalid(R"({"v":2})", "version 2");
    expect_invalid(R"({"v":"1"})", "v is not an integer");
    expect_invalid(std::string(100'000, ' '), "bytes, more than");
    // Nesting is refused before parsing, however deep.
    expect_invalid(std::string(60'000, '[') + std::string(60'000, ']'), "bytes, more than");
    expect_invalid(std::string(30'000, '[') + std::string(30'000, ']'), "nested deeper");
    expect_invalid(R"({"v":1,"x":[[[[[[[[1]]]]]]]]})", "nested deeper");
    expect_invalid(R"({"v":1,"job_id":{"a":1}})", "job_id is not a string");
    // Brackets inside strings are not nesting.
    UsageRecord bracketed = sample_record("job_[{x}]", 1);
    EXPECT_TRUE(decode_usage_record(encode_usage_record(bracketed)).ok());
}

TEST(UsageRecordCodecTest, RefusesEachFieldMissingOrOfTheWrongType) {
    const std::string good = encode_usage_record(full_record());
    ASSERT_TRUE(decode_usage_record(good).ok());
    const std::vector<std::string> texts = {
        "job_id", "account_id", "workflow",       "book_version", "md5_hex",  "sha256_hex",
        "worker", "outcome",    "failure_reason", "dedupe_kind",  "dedupe_of"};
    // Not the meter fields, which may be missing (see TheMeterFieldsAreOptionalButTyped).
    const std::vector<std::string> integers = {
        "width",        "height",      "tokens",          "quoted_tokens", "queue_wait_ms",
        "execution_ms", "finished_ms", "vram_peak_bytes", "attempts",      "dedupe_distance"};
    for (const std::string& name : texts) {
        // Renamed away: missing.
        std::string missing = good;
        missing.replace(missing.find("\"" + name + "\":"), name.size() + 2, "\"x" + name + "\"");
        expect_invalid(missing, name + " is missing");
        // A number where a string belongs.
        std::string typed = good;
        const std::size_t at = typed.find("\"" + name + "\":") + name.size() + 3;
        const std::size_t end = typed.find("\",\"", at);
        typed.replace(at, end + 1 - at, "17");
        expect_invalid(typed, name + " is not a string");
    }
    for (const std::string& name : integers) {
        std::string missing = good;
        missing.replace(missing.find("\"" + name + "\":"), name.size() + 2, "\"x" + name + "\"");
        expect_invalid(missing, name + " is missing");
        const std::size_t at = good.find("\"" + name + "\":") + name.size() + 3;
        const std::size_t end = good.find_first_of(",}", at);
        for (const char* wrong : {"\"5\"", "1.5", "1e3", "true", "null", "9223372036854775808",
                                  "-9223372036854775809"}) {
            std::string typed = good;
            typed.replace(at, end - at, wrong);
            auto r = decode_usage_record(typed);
            ASSERT_FALSE(r.ok()) << typed;
            EXPECT_EQ(r.error().code, "invalid_usage_record");
            EXPECT_NE(r.error().message.find(name), std::string::npos) << r.error().message;
        }
    }
}

TEST(UsageRecordCodecTest, RefusesRecordsTheStoresRefuse) {
    UsageRecord r = sample_record("job_1", 10);
    r.outcome = "maybe";
    expect_invalid(encode_usage_record(r), "outcome");
    EXPECT_FALSE(check_usage_record(r).ok());
    r = sample_record("job_1", 10);
    r.dedupe_kind = "similar";
    expect_invalid(encode_usage_record(r), "dedupe_kind");
    r = sample_record("", 10);
    expect_invalid(encode_usage_record(r), "no job id");
    r = sample_record("job_1", 10, "");
    expect_invalid(encode_usage_record(r), "no account id");
    EXPECT_TRUE(check_usage_record(sample_record("job_1", 10)).ok());
    // A meter figure is -1 (not measured) or a measurement.
    r = sample_record("job_1", 10);
    r.meter_wall_ms = -2;
    expect_invalid(encode_usage_record(r), "meter_wall_ms");
    r = sample_record("job_1", 10);
    r.meter_gpu_peak_bytes = std::numeric_limits<std::int64_t>::min();
    expect_invalid(encode_usage_record(r), "meter_gpu_peak_bytes");
    r.meter_wall_ms = -1;
    r.meter_gpu_peak_bytes = 0;
    EXPECT_TRUE(check_usage_record(r).ok());
}

TEST(UsageRecordCodecTest, ArbitraryBytesNeverThrow) {
    // Every prefix of a valid record and a few byte flips: an error or a
    // record, never an exception or a crash.
    const std::string good = encode_usage_record(full_record());
    for (std::size_t n = 0; n < good.size(); ++n) {
        auto r = decode_usage_record(std::string_view(good).substr(0, n));
        EXPECT_FALSE(r.ok());
    }
    for (std::size_t i = 0; i < good.size(); i += 7) {
        std::string flipped = good;
        flipped[i] = static_cast<char>(flipped[i] ^ 0x80);
        auto r = decode_usage_record(flipped);
        if (!r.ok()) {
            EXPECT_EQ(r.error().code, "invalid_usage_record");
        }
    }
}

}  // namespace
}  // namespace tollgate::usage
