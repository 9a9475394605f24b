#include "http/client/address_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate::http {
namespace {

TEST(AddressPolicyTest, PublicAddressesPass) {
    for (const char* ip :
         {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "169.255.0.1",
          "2606:4700:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8"}) {
        EXPECT_TRUE(is_public_address(ip)) << ip;
    }
}

TEST(AddressPolicyTest, InternalAndReservedAddressesAreRefused) {
    for (const char* ip : {"127.0.0.1",
                           "127.255.255.254",
                           "0.0.0.0",
                           "10.0.0.1",
                           "172.16.0.1",
                           "172.31.255.255",
                           "192.168.1.1",
                           "100.64.0.1",
                           "169.254.169.254",
                           "192.0.0.8",
                           "192.0.2.1",
                           "198.18.0.1",
                           "198.51.100.7",
                           "203.0.113.9",
                           "224.0.0.1",
                           "240.0.0.1",
                           "255.255.255.255",
                           "::",
                           "::1",
                           "fc00::1",
                           "fd12:3456::1",
                           "fe80::1",
                           "fec0::1",
                           "ff02::1",
                           "2001:db8::1",
                           "100::1",
                           "::ffff:127.0.0.1",
                           "::ffff:10.1.2.3",
                           "::ffff:169.254.169.254",
                           "64:ff9b::7f00:1",
                           "::127.0.0.1"}) {
        EXPECT_FALSE(is_public_address(ip)) << ip;
    }
}

TEST(AddressPolicyTest, AnythingThatIsNotAnAddressIsRefused) {
    for (const std::string& ip :
         {std::string(""), std::string("localhost"), std::string("example.com"),
          std::string("0x7f000001"), std::string("127.1"), std::string("fe80::1%eth0"),
          std::string("8.8.8.8 "), std::string(200, '1')}) {
        EXPECT_FALSE(is_public_address(ip)) << ip;
    }
}

}  // namespace
}  // namespace tollgate::http
