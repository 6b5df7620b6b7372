#include "http/message.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"

namespace atv::http {
namespace {

Reader response_reader(Limits limits = {}) {
    return Reader(Reader::Kind::response, limits);
}

std::optional<Response> read_response(std::string_view text, Limits limits = {}) {
    Reader reader = response_reader(limits);
    reader.feed(to_bytes(text));
    return reader.next_response();
}

TEST(HttpMessage, ReadsAnRtspResponseWithBody) {
    const auto response = read_response(
        "RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Type: application/x-apple-binary-plist\r\n"
        "Content-Length: 4\r\n\r\nabcd");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->protocol, "RTSP/1.0");
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->reason, "OK");
    EXPECT_EQ(response->headers.get("cseq"), "3");
    EXPECT_EQ(to_string(response->body), "abcd");
}

TEST(HttpMessage, ReadsMessagesSplitAnywhereAndBackToBack) {
    const std::string stream =
        "HTTP/1.1 470 Connection Authorization Required\r\nContent-Length: 0\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer: AirTunes/415.3\r\n\r\nxyz";
    Reader reader = response_reader();
    std::vector<Response> responses;
    for (const char c : stream) {
        reader.feed(to_bytes(std::string_view(&c, 1)));
        while (auto response = reader.next_response())
            responses.push_back(std::move(*response));
    }
    ASSERT_EQ(responses.size(), 2u);
    EXPECT_EQ(responses[0].status, 470);
    EXPECT_EQ(responses[0].reason, "Connection Authorization Required");
    EXPECT_TRUE(responses[0].body.empty());
    EXPECT_EQ(responses[1].headers.get("SERVER"), "AirTunes/415.3");
    EXPECT_EQ(to_string(responses[1].body), "xyz");
    EXPECT_EQ(reader.buffered(), 0u);
}

TEST(HttpMessage, WaitsForTheWholeBody) {
    Reader reader = response_reader();
    reader.feed(to_bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"));
    EXPECT_FALSE(reader.next_response());
    reader.feed(to_bytes("cde"));
    const auto response = reader.next_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(to_string(response->body), "abcde");
}

TEST(HttpMessage, AcceptsAnEmptyReason) {
    const auto response = read_response("HTTP/1.1 404\r\n\r\n");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404);
    EXPECT_EQ(response->reason, "");
}

TEST(HttpMessage, RefusesMalformedResponses) {
    for (const char* text : {
             "HTTP/2 200 OK\r\n\r\n",                          // unknown protocol
             "HTTP/1.1 20 OK\r\n\r\n",                         // short status
             "HTTP/1.1 2x0 OK\r\n\r\n",                        // not digits
             "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",       // header without ':'
             "HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n",          // obs-fold
             "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",         // space in name
             "HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",           // control character
             "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",  // not a number
             "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
             "\r\n\r\n",
         }) {
        EXPECT_THROW(read_response(text), Error) << text;
    }
}

TEST(HttpMessage, EnforcesLimits) {
    Limits limits;
    limits.max_line = 32;
    limits.max_headers = 2;
    limits.max_body = 10;
    // A line over the limit fails before its end arrives.
    Reader reader = response_reader(limits);
    reader.feed(to_bytes("HTTP/1.1 200 " + std::string(40, 'x')));
    EXPECT_THROW(reader.next_response(), Error);
    EXPECT_THROW(read_response("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits), Error);
    EXPECT_TRUE(read_response("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n", limits));
    EXPECT_THROW(read_response("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", limits), Error);
    try {
        read_response("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n");
        FAIL() << "an absurd Content-Length was accepted";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    }
}

TEST(HttpMessage, RequestsRoundTrip) {
    Request request;
    request.method = "SETUP";
    request.target = "rtsp://10.0.0.2/12345";
    request.protocol = "RTSP/1.0";
    request.headers.add("CSeq", "0");
    request.headers.add("Content-Length", "999");  // replaced by the real length
    request.body = Bytes{1, 2, 0, 3};
    const Bytes wire = encode(request);
    EXPECT_EQ(to_string(ByteView(wire).first(34)), "SETUP rtsp://10.0.0.2/12345 RTSP/1");

    Reader reader(Reader::Kind::request);
    reader.feed(wire);
    const auto read = reader.next_request();
    ASSERT_TRUE(read);
    EXPECT_EQ(read->method, "SETUP");
    EXPECT_EQ(read->target, "rtsp://10.0.0.2/12345");
    EXPECT_EQ(read->protocol, "RTSP/1.0");
    EXPECT_EQ(read->headers.get("Content-Length"), "4");
    EXPECT_EQ(read->body, request.body);
}

TEST(HttpMessage, ResponsesRoundTrip) {
    Response response;
    response.protocol = "RTSP/1.0";
    response.headers.add("CSeq", "7");
    response.headers.set("cseq", "8");
    const Bytes wire = encode(response);
    EXPECT_EQ(to_string(wire), "RTSP/1.0 200 OK\r\ncseq: 8\r\nContent-Length: 0\r\n\r\n");
    Reader reader = response_reader();
    reader.feed(wire);
    EXPECT_EQ(reader.next_response()->headers.get("CSeq"), "8");
}

TEST(HttpMessage, RefusesMalformedRequests) {
    for (const char* text : {"POST /pair-setup\r\n\r\n", "POST  /x HTTP/1.1\r\n\r\n",
                             "PO ST /x HTTP/1.1\r\n\r\n", "POST /x SIP/2.0\r\n\r\n"}) {
        Reader reader(Reader::Kind::request);
        reader.feed(to_bytes(text));
        EXPECT_THROW(reader.next_request(), Error) << text;
    }
}

TEST(HttpMessage, OnlyRequestsWithContentOrAPostCarryALength) {
    Request get;
    get.method = "GET";
    get.target = "/login";
    get.headers.add("Content-Length", "3");  // dropped: there is no body
    EXPECT_EQ(to_string(encode(get)), "GET /login HTTP/1.1\r\n\r\n");
    Request post;
    post.method = "POST";
    post.target = "/feedback";
    EXPECT_EQ(to_string(encode(post)), "POST /feedback HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpMessage, RemovesEveryHeaderOfANameWhateverItsCase) {
    Headers headers{{"Content-Encoding", "gzip"}, {"Host", "a"}, {"content-encoding", "gzip"}};
    headers.remove("CONTENT-ENCODING");
    EXPECT_FALSE(headers.get("Content-Encoding"));
    EXPECT_EQ(headers.get("Host"), "a");
    EXPECT_EQ(headers.items().size(), 1U);
}

TEST(HttpMessage, SplitsATargetIntoPathAndQuery) {
    Request request;
    request.target = "/pair?pairingcode=ABCD&servicename=My%20TV+x";
    EXPECT_EQ(request.path(), "/pair");
    const auto query = request.query();
    EXPECT_EQ(query.at("pairingcode"), "ABCD");
    EXPECT_EQ(query.at("servicename"), "My TV x");
    request.target = "/login";
    EXPECT_EQ(request.path(), "/login");
    EXPECT_TRUE(request.query().empty());
}

TEST(HttpMessage, DecodesAndEncodesQueries) {
    EXPECT_EQ(parse_query("a=%41%62&b=&c").at("a"), "Ab");
    EXPECT_EQ(parse_query("a=%41%62&b=&c").at("c"), "");
    EXPECT_EQ(parse_query("&&a=1&").size(), 1U);
    for (const char* bad : {"a=%4", "a=%zz", "a=%", "a=1&a=2"}) {
        try {
            (void)parse_query(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const Error& error) {
            EXPECT_EQ(error.kind(), ErrorKind::connection_failed) << bad;
        }
    }
    EXPECT_EQ(url_encode("a b/\xc3\xbc-_.~"), "a%20b%2F%C3%BC-_.~");
    EXPECT_EQ(parse_query("x=" + url_encode("a b&c=d")).at("x"), "a b&c=d");
}

}  // namespace
}  // namespace atv::http
