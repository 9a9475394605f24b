#include "http/codec/multipart.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tollgate::http {
namespace {

constexpr int kPartsMax = 16;
constexpr std::int64_t kPartBytesMax = 1 << 20;

std::string binary_blob() {
    std::string data;
    for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
    data += "\r\n--not-the-boundary\r\n\r\n";  // Looks like structure, is not.
    return data;
}

void expect_error(const core::Result<std::vector<MultipartPart>>& result,
                  const std::string& message_part) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, "bad_multipart");
    EXPECT_NE(result.error().message.find(message_part), std::string::npos)
        << "message: " << result.error().message;
}

TEST(MultipartTest, RoundTripsWhatItBuilds) {
    const std::vector<MultipartPart> parts = {
        {"workflow", "", "", "person"},
        {"image", "cat \"1\" \\ a.png", "image/png", binary_blob()},
        {"empty", "", "text/plain", ""},
        {"", "", "", "nameless"},
    };
    const std::string boundary = "b0undary-xyz";
    const std::string body = build_multipart(boundary, parts);
    auto parsed = parse_multipart(body, multipart_content_type(boundary), kPartsMax, kPartBytesMax);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_EQ(parsed->size(), parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
        EXPECT_EQ((*parsed)[i].name, parts[i].name) << i;
        EXPECT_EQ((*parsed)[i].filename, parts[i].filename) << i;
        EXPECT_EQ((*parsed)[i].content_type, parts[i].content_type) << i;
        EXPECT_EQ((*parsed)[i].data, parts[i].data) << i;
    }
}

TEST(MultipartTest, RoundTripsZeroParts) {
    const std::string body = build_multipart("zz", {});
    auto parsed = parse_multipart(body, multipart_content_type("zz"), kPartsMax, kPartBytesMax);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_TRUE(parsed->empty());
}

TEST(MultipartTest, ContentTypeQuotesBoundaryOnlyWhenNeeded) {
    EXPECT_EQ(multipart_content_type("abc-123"), "multipart/form-data; boundary=abc-123");
    EXPECT_EQ(multipart_content_type("a b:c"), "multipart/form-data; boundary=\"a b:c\"");
    const std::vector<MultipartPart> parts = {{"f", "", "", "v"}};
    const std::string body = build_multipart("a b:c", parts);
    auto parsed = parse_multipart(body, multipart_content_type("a b:c"), kPartsMax, kPartBytesMax);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_EQ(parsed->size(), 1u);
    EXPECT_EQ((*parsed)[0].data, "v");
}

TEST(MultipartTest, ParsesBrowserStyleBodyWithQuotedBoundaryPreambleAndEpilogue) {
    const std::string body =
        "This is a preamble.\r\n"
        "--XyZ\r\n"
        "content-disposition: form-data; name=\"image\"; filename=\"C:\\dir\\photo.jpg\"; "
        "filename*=UTF-8''ph%C3%B6to.jpg\r\n"
        "CONTENT-TYPE:   image/jpeg  \r\n"
        "X-Other: ignored\r\n"
        "\r\n"
        "JPEGDATA\r\n"
        "--XyZ  \r\n"
        "Content-Disposition: form-data; name=plain\r\n"
        "\r\n"
        "line1\r\nline2\r\n"
        "--XyZ--\r\n"
        "epilogue --XyZ garbage";
    auto parsed = parse_multipart(body, "Multipart/Form-Data; charset=utf-8; Boundary=\"XyZ\"",
                                  kPartsMax, kPartBytesMax);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_EQ(parsed->size(), 2u);
    EXPECT_EQ((*parsed)[0].name, "image");
    EXPECT_EQ((*parsed)[0].filename, "C:\\dir\\photo.jpg");
    EXPECT_EQ((*parsed)[0].content_type, "image/jpeg");
    EXPECT_EQ((*parsed)[0].data, "JPEGDATA");
    EXPECT_EQ((*parsed)[1].name, "plain");
    EXPECT_EQ((*parsed)[1].filename, "");
    EXPECT_EQ((*parsed)[1].content_type, "");
    EXPECT_EQ((*parsed)[1].data, "line1\r\nline2");

    const MultipartPart* image = find_part(*parsed, "image");
    ASSERT_NE(image, nullptr);
    EXPECT_EQ(image->data, "JPEGDATA");
    EXPECT_EQ(find_part(*parsed, "missing"), nullptr);
}

TEST(MultipartTest, PartWithoutHeaders) {
    const std::string body = "--b\r\n\r\nraw\r\n--b--";
    auto parsed = parse_multipart(body, "multipart/mixed; boundary=b", kPartsMax, kPartBytesMax);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    ASSERT_EQ(parsed->size(), 1u);
    EXPECT_EQ((*parsed)[0].name, "");
    EXPECT_EQ((*parsed)[0].data, "raw");
}

TEST(MultipartTest, RejectsMissingOrBadBoundary) {
    expect_error(parse_multipart("--b--", "application/json", kPartsMax, kPartBytesMax),
                 "not multipart");
    expect_error(parse_multipart("--b--", "multipart/form-data", kPartsMax, kPartBytesMax),
                 "no boundary");
    expect_error(
        parse_multipart("--b--", "multipart/form-data; boundary=", kPartsMax, kPartBytesMax),
        "no boundary");
    expect_error(
        parse_multipart("--b--", "multipart/form-data; boundary=\"\"", kPartsMax, kPartBytesMax),
        "no boundary");
    expect_error(parse_multipart("--b--", "multipart/form-data; boundary=" + std::string(71, 'x'),
                                 kPartsMax, kPartBytesMax),
                 "longer than 70");
}

TEST(MultipartTest, RejectsTruncatedBody) {
    const std::vector<MultipartPart> parts = {{"a", "", "", "first"}, {"b", "f.bin", "", "second"}};
    const std::string body = build_multipart("bnd", parts);
    const std::string ct = multipart_content_type("bnd");
    // Every strict prefix that cuts before the closing "--" must fail.
    const std::size_t closing = body.rfind("--bnd--") + 5;
    for (std::size_t n = 0; n < closing; ++n) {
        auto parsed = parse_multipart(body.substr(0, n), ct, kPartsMax, kPartBytesMax);
        EXPECT_FALSE(parsed.ok()) << "prefix of " << n << " bytes parsed";
        if (!parsed.ok()) {
            EXPECT_EQ(parsed.error().code, "bad_multipart");
        }
    }
    expect_error(parse_multipart(body.substr(0, body.size() - 12), ct, kPartsMax, kPartBytesMax),
                 "missing closing delimiter");
    expect_error(parse_multipart("", ct, kPartsMax, kPartBytesMax), "no opening delimiter");
}

TEST(MultipartTest, RejectsTooManyParts) {
    std::vector<MultipartPart> parts(5, MultipartPart{"p", "", "", "x"});
    const std::string body = build_multipart("bnd", parts);
    const std::string ct = multipart_content_type("bnd");
    EXPECT_TRUE(parse_multipart(body, ct, 5, kPartBytesMax).ok());
    expect_error(parse_multipart(body, ct, 4, kPartBytesMax), "too many parts");
    expect_error(parse_multipart(body, ct, 0, kPartBytesMax), "too many parts");
}

TEST(MultipartTest, RejectsPartTooLarge) {
    const std::vector<MultipartPart> parts = {{"small", "", "", "abc"},
                                              {"big", "", "", std::string(101, 'z')}};
    const std::string body = build_multipart("bnd", parts);
    const std::string ct = multipart_content_type("bnd");
    EXPECT_TRUE(parse_multipart(body, ct, kPartsMax, 101).ok());
    expect_error(parse_multipart(body, ct, kPartsMax, 100), "part too large");
    // A truncated body whose last part already exceeds the limit says so.
    expect_error(parse_multipart(body.substr(0, body.size() - 20), ct, kPartsMax, 50),
                 "part too large");
}

TEST(MultipartTest, RejectsHeaderTooLong) {
    const std::string body = "--b\r\nContent-Disposition: form-data; name=\"" +
                             std::string(kMultipartHeaderBytesMax, 'n') + "\"\r\n\r\nx\r\n--b--";
    expect_error(parse_multipart(body, "multipart/form-data; boundary=b", kPartsMax, kPartBytesMax),
                 "header too long");
}

TEST(MultipartTest, RejectsGarbage) {
    const std::string ct = "multipart/form-data; boundary=b";
    expect_error(parse_multipart("no delimiters here at all", ct, kPartsMax, kPartBytesMax),
                 "no opening delimiter");
    expect_error(parse_multipart("--bXYZ\r\n\r\nx\r\n--b--", ct, kPartsMax, kPartBytesMax),
                 "malformed delimiter line");
    expect_error(
        parse_multipart("--b\r\nnot a header\r\n\r\nx\r\n--b--", ct, kPartsMax, kPartBytesMax),
        "malformed part header");
    expect_error(
        parse_multipart("--b\r\n: empty name\r\n\r\nx\r\n--b--", ct, kPartsMax, kPartBytesMax),
        "malformed part header");
    expect_error(parse_multipart(std::string(1000, '\0'), ct, kPartsMax, kPartBytesMax),
                 "no opening delimiter");
}

TEST(MultipartTest, SurvivesEveryPrefixAndByteFlipWithoutCrashing) {
    const std::vector<MultipartPart> parts = {{"a", "x.png", "image/png", "12345"},
                                              {"b", "", "", "z"}};
    const std::string body = build_multipart("q", parts);
    const std::string ct = multipart_content_type("q");
    int parsed_ok = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
        for (const char c : {'\r', '\n', '-', '"', 'q', '\0'}) {
            std::string mutated = body;
            mutated[i] = c;
            auto parsed = parse_multipart(mutated, ct, 4, 64);
            if (parsed.ok()) {
                ++parsed_ok;
                EXPECT_LE(parsed->size(), 4u);
            }
        }
    }
    EXPECT_GT(parsed_ok, 0);  // Flips inside data keep the body valid.
}

}  // namespace
}  // namespace tollgate::http
