// JSON log lines: one object per line that a JSON parser reads back, with
// the message escaped and the request id of the line's request.
#include "app/json_log.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

#include <nlohmann/json.hpp>

#include "core/request_id.h"

namespace tollgate::app {
namespace {

nlohmann::json format(std::string_view text, spdlog::level::level_enum level) {
    JsonLogFormatter f;
    spdlog::details::log_msg msg("tollgate", level, text);
    spdlog::memory_buf_t out;
    f.format(msg, out);
    const std::string line(out.data(), out.size());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the message holds
    return nlohmann::json::parse(line);
}

TEST(JsonLogTest, AnyMessageIsOneParsableLineWithItsLevelAndTime) {
    const std::string nasty = "quote \" back \\ newline \n tab \t nul " + std::string(1, '\0') +
                              " bell \x07 \xc3\xbcnicode";
    const nlohmann::json j = format(nasty, spdlog::level::warn);
    EXPECT_EQ(j["msg"], nasty);
    EXPECT_EQ(j["level"], "warning");
    const std::string ts = j["ts"];
    EXPECT_EQ(ts.size(), 24u);  // 2026-11-30T11:27:38.123Z
    EXPECT_EQ(ts.back(), 'Z');
    EXPECT_FALSE(j.contains("request_id"));
}

TEST(JsonLogTest, ALineWrittenDuringARequestCarriesItsId) {
    {
        core::RequestIdScope outer("req_outer");
        EXPECT_EQ(format("a", spdlog::level::info)["request_id"], "req_outer");
        {
            core::RequestIdScope inner("req_inner");
            EXPECT_EQ(format("b", spdlog::level::info)["request_id"], "req_inner");
        }
        EXPECT_EQ(core::current_request_id(), "req_outer");
    }
    EXPECT_EQ(core::current_request_id(), "");
}

TEST(RequestIdTest, OnlySaneIdsAreKeptAndMadeOnesAreFresh) {
    EXPECT_TRUE(core::valid_request_id("abc-123_X.y"));
    EXPECT_FALSE(core::valid_request_id(""));
    EXPECT_FALSE(core::valid_request_id("has space"));
    EXPECT_FALSE(core::valid_request_id("new\nline"));
    EXPECT_FALSE(core::valid_request_id(std::string(core::kRequestIdBytesMax + 1, 'a')));
    EXPECT_TRUE(core::valid_request_id(std::string(core::kRequestIdBytesMax, 'a')));
    const std::string a = core::make_request_id(), b = core::make_request_id();
    EXPECT_NE(a, b);
    EXPECT_TRUE(core::valid_request_id(a));
    EXPECT_EQ(a.rfind("req_", 0), 0u);
}

}  // namespace
}  // namespace tollgate::app
