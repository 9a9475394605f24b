// Tests for upload digests: published MD5 and SHA-256 test vectors, and
// streaming in any chunking equals digesting in one call.
#include "image/digest.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tollgate::image {
namespace {

struct Vector {
    std::string input;
    const char* md5_hex;
    const char* sha256_hex;
};

// From RFC 1321 and FIPS 180-2 / NIST's SHA examples.
const Vector kVectors[] = {
    {"", "d41d8cd98f00b204e9800998ecf8427e",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "900150983cd24fb0d6963f7d28e17f72",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"The quick brown fox jumps over the lazy dog", "9e107d9d372bb6826bd81d3542a419d6",
     "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
    {std::string(1'000'000, 'a'), "7707d6ae4e027c70eea2a935c2296f21",
     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

TEST(DigestTest, MatchesKnownVectors) {
    for (const Vector& v : kVectors) {
        const Digests d = digest(v.input);
        EXPECT_EQ(d.md5_hex, v.md5_hex) << "input of " << v.input.size() << " bytes";
        EXPECT_EQ(d.sha256_hex, v.sha256_hex) << "input of " << v.input.size() << " bytes";
    }
}

TEST(DigestTest, EmptyStreamEqualsEmptyInput) {
    DigestStream stream;
    const Digests d = stream.finish();
    EXPECT_EQ(d.md5_hex, "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(d.sha256_hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(DigestTest, ChunkedStreamEqualsOneShot) {
    std::mt19937_64 rng(42);
    std::string bytes(300'000, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
    const Digests expected = digest(bytes);
    EXPECT_EQ(expected.md5_hex.size(), 32u);
    EXPECT_EQ(expected.sha256_hex.size(), 64u);

    for (std::size_t chunk : {1ul, 7ul, 4096ul, 65'535ul, 65'536ul, 65'537ul, 300'000ul}) {
        DigestStream stream;
        for (std::size_t at = 0; at < bytes.size(); at += chunk) {
            stream.update(std::string_view(bytes).substr(at, chunk));
        }
        const Digests d = stream.finish();
        EXPECT_EQ(d.md5_hex, expected.md5_hex) << "chunk " << chunk;
        EXPECT_EQ(d.sha256_hex, expected.sha256_hex) << "chunk " << chunk;
    }

    // Random chunk sizes, including empty updates.
    DigestStream stream;
    std::uniform_int_distribution<std::size_t> size(0, 20'000);
    for (std::size_t at = 0; at < bytes.size();) {
        const std::size_t n = size(rng);
        stream.update(std::string_view(bytes).substr(at, n));
        at += n;
    }
    const Digests d = stream.finish();
    EXPECT_EQ(d.md5_hex, expected.md5_hex);
    EXPECT_EQ(d.sha256_hex, expected.sha256_hex);
}

TEST(DigestTest, DifferentBytesDiffer) {
    const Digests a = digest("photo-1");
    const Digests b = digest("photo-2");
    EXPECT_NE(a.md5_hex, b.md5_hex);
    EXPECT_NE(a.sha256_hex, b.sha256_hex);
}

TEST(DigestTest, MovedStreamKeepsItsState) {
    DigestStream first;
    first.update("ab");
    DigestStream second = std::move(first);
    second.update("c");
    EXPECT_EQ(second.finish().md5_hex, "900150983cd24fb0d6963f7d28e17f72");
}

TEST(DigestDeathTest, UpdateAfterFinishAborts) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            DigestStream stream;
            (void)stream.finish();
            stream.update("x");
        },
        "finished");
}

}  // namespace
}  // namespace tollgate::image
