#include "core/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate::core {
namespace {

TEST(HashTest, Sha256MatchesTheFips180Vector) {
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// RFC 4231, test case 1: a 20-byte key of 0x0b.
TEST(HashTest, HmacSha256MatchesRfc4231Case1) {
    EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

// RFC 4231, test case 2: a key shorter than the output.
TEST(HashTest, HmacSha256MatchesRfc4231Case2) {
    EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 4231, test case 6: a key longer than the block size is hashed first.
TEST(HashTest, HmacSha256MatchesRfc4231Case6) {
    EXPECT_EQ(hmac_sha256_hex(std::string(131, '\xaa'),
                              "Test Using Larger Than Block-Size Key - Hash Key First"),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HashTest, HmacDependsOnKeyAndData) {
    EXPECT_NE(hmac_sha256_hex("k1", "data"), hmac_sha256_hex("k2", "data"));
    EXPECT_NE(hmac_sha256_hex("k1", "data"), hmac_sha256_hex("k1", "datb"));
    EXPECT_EQ(hmac_sha256_hex("", "data").size(), 64u);
}

TEST(HashTest, ConstantTimeEqualComparesWholeStrings) {
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
    EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace tollgate::core
