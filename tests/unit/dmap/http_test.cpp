#include "dmap/http.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"

namespace atv::dmap {
namespace {

HttpMessage parse_all(HttpParser::Kind kind, std::string_view text, HttpLimits limits = {}) {
    HttpParser parser(kind, limits);
    const std::size_t used = parser.feed(to_bytes(text));
    EXPECT_EQ(used, text.size());
    EXPECT_TRUE(parser.complete());
    return parser.take();
}

void expect_refused(HttpParser::Kind kind, std::string_view text, HttpLimits limits = {}) {
    HttpParser parser(kind, limits);
    try {
        parser.feed(to_bytes(text));
        ADD_FAILURE() << "accepted " << text;
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    }
}

TEST(DmapHttp, ParsesARequestWithQuery) {
    const auto request =
        parse_all(HttpParser::Kind::request,
                  "GET /pair?pairingcode=ABCD&servicename=My%20TV+x HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.path(), "/pair");
    const auto query = request.query();
    EXPECT_EQ(query.at("pairingcode"), "ABCD");
    EXPECT_EQ(query.at("servicename"), "My TV x");
    EXPECT_EQ(request.header("HOST").value(), "a");
}

TEST(DmapHttp, ParsesAResponseBodyFedByteByByte) {
    const std::string text = "RTSP/1.0 200 OK\r\nCSeq: 0\r\nContent-Length: 3\r\n\r\nabcGET";
    HttpParser parser(HttpParser::Kind::response);
    std::size_t used = 0;
    for (std::size_t i = 0; i < text.size() && !parser.complete(); ++i) {
        used += parser.feed(to_bytes(text.substr(i, 1)));
    }
    ASSERT_TRUE(parser.complete());
    EXPECT_EQ(used, text.size() - 3);  // the next message's bytes are left alone
    const auto response = parser.take();
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.version, "RTSP/1.0");
    EXPECT_EQ(to_string(response.body), "abc");
    EXPECT_FALSE(parser.complete());
}

TEST(DmapHttp, RefusesMalformedMessages) {
    using K = HttpParser::Kind;
    expect_refused(K::request, "GET /pair\r\n\r\n");
    expect_refused(K::request, "GET /pair HTTP/2\r\n\r\n");
    expect_refused(K::request, "GET /pair HTTP/1.1\r\nNo colon here\r\n\r\n");
    expect_refused(K::request, "GET /pair HTTP/1.1\r\nA: 1\r\na: 2\r\n\r\n");
    expect_refused(K::request, "GET /pair HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    expect_refused(K::request, "GET /pair HTTP/1.1\r\nContent-Length: x\r\n\r\n");
    expect_refused(K::response, "HTTP/1.1 20 OK\r\n\r\n");
    expect_refused(K::response, "HTTP/1.1 abc OK\r\n\r\n");
}

TEST(DmapHttp, EnforcesLimits) {
    HttpLimits limits;
    limits.max_head = 32;
    expect_refused(HttpParser::Kind::request,
                   "GET /a-very-long-target-beyond-the-limit HTTP/1.1\r\n\r\n", limits);
    limits = {};
    limits.max_body = 2;
    expect_refused(HttpParser::Kind::request, "GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
                   limits);
    limits = {};
    limits.max_headers = 1;
    expect_refused(HttpParser::Kind::request, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", limits);
}

TEST(DmapHttp, QueryDecoding) {
    EXPECT_EQ(parse_query("a=%41%62&b=&c").at("a"), "Ab");
    EXPECT_EQ(parse_query("a=%41%62&b=&c").at("c"), "");
    EXPECT_THROW(parse_query("a=%4"), Error);
    EXPECT_THROW(parse_query("a=%zz"), Error);
    EXPECT_THROW(parse_query("a=1&a=2"), Error);
    EXPECT_EQ(url_encode("a b/ü"), "a%20b%2F%C3%BC");
}

TEST(DmapHttp, FormatsMessages) {
    EXPECT_EQ(format_response(200, "OK", {{"X", "1"}}, to_bytes("hi")),
              "HTTP/1.1 200 OK\r\nX: 1\r\nContent-Length: 2\r\n\r\nhi");
    EXPECT_EQ(format_request("OPTIONS", "*", "RTSP/1.0", {{"CSeq", "0"}}, {}),
              "OPTIONS * RTSP/1.0\r\nCSeq: 0\r\n\r\n");
}

}  // namespace
}  // namespace atv::dmap
