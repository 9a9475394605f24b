// Caller input echoed in messages: bounded, printable, and never a key.
#include "core/redact.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate::core {
namespace {

TEST(RedactTest, ShortPrintableInputIsQuotedAsIs) {
    EXPECT_EQ(quote_input("person"), "\"person\"");
    EXPECT_EQ(quote_input(""), "\"\"");
    EXPECT_EQ(quote_input("a\nb\x01"), "\"a?b?\"");
}

TEST(RedactTest, LongInputIsCut) {
    const std::string long_name(100, 'z');
    EXPECT_EQ(quote_input(long_name), "\"" + std::string(kEchoBytesMax, 'z') + "...\"");
    EXPECT_EQ(quote_input(long_name, 100), "\"" + long_name + "\"");
    EXPECT_EQ(quote_input(long_name, 3), "\"zzz...\"");
}

TEST(RedactTest, AnythingLikeAKeyIsNeverShown) {
    const std::string key = "tg_" + std::string(64, 'a');
    EXPECT_TRUE(looks_like_secret(key));
    EXPECT_EQ(quote_input(key), "(not shown)");
    EXPECT_EQ(quote_input("x" + key.substr(0, 10)), "(not shown)");
    // The hex part alone, or any long hex run.
    EXPECT_EQ(quote_input(std::string(64, 'f')), "(not shown)");
    EXPECT_EQ(quote_input("id-" + std::string(kSecretHexRunMin, '0')), "(not shown)");
    EXPECT_NE(quote_input("id-" + std::string(kSecretHexRunMin - 1, '0')), "(not shown)");
    EXPECT_FALSE(looks_like_secret("setting_up"));
    EXPECT_FALSE(looks_like_secret("tg_"));
    EXPECT_FALSE(looks_like_secret("tg_x"));
}

}  // namespace
}  // namespace tollgate::core
