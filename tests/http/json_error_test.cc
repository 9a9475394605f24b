#include "http/codec/json_error.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tollgate::http {
namespace {

TEST(JsonErrorTest, HasCodeAndMessage) {
    EXPECT_EQ(json_error_body("payload_too_large", "body over 10 bytes"),
              R"({"error":{"code":"payload_too_large","message":"body over 10 bytes"}})");
}

TEST(JsonErrorTest, EscapesQuotesAndControlCharacters) {
    const std::string body = json_error_body("bad_request", "say \"hi\"\n\\ done");
    const auto parsed = nlohmann::json::parse(body);
    EXPECT_EQ(parsed["error"]["code"], "bad_request");
    EXPECT_EQ(parsed["error"]["message"], "say \"hi\"\n\\ done");
    EXPECT_NE(body.find(R"(\"hi\")"), std::string::npos);
    EXPECT_EQ(body.find('\n'), std::string::npos);
}

TEST(JsonErrorTest, InvalidUtf8DoesNotThrow) {
    std::string body;
    EXPECT_NO_THROW(body = json_error_body("bad_request", "name \xff\xfe end"));
    const auto parsed = nlohmann::json::parse(body, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded());
    const std::string message = parsed["error"]["message"];
    EXPECT_EQ(message.rfind("name ", 0), 0u);
    EXPECT_NE(message.find(" end"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::http
