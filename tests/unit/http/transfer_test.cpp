// HTTP exchanges over real loopback sockets: a round trip, a request served, and each way an
// exchange fails.
#include "http/transfer.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <memory>
#include <string>

#include "expect_error.hpp"
#include "run_coroutine.hpp"

namespace atv::http {
namespace {

using namespace std::chrono_literals;
using fakes::expect_error;
using fakes::run;

class HttpTransfer : public ::testing::Test {
  protected:
    HttpTransfer() {
        client_.connect(acceptor_.local_endpoint());
        acceptor_.accept(server_);
    }

    // Sends raw bytes from the server's side.
    void server_sends(const std::string& text) { asio::write(server_, asio::buffer(text)); }

    Response round_trip_with(std::chrono::milliseconds timeout) {
        Request request;
        request.method = "GET";
        request.target = "/login?a=1";
        return run(io_, [&]() -> asio::awaitable<Response> {
            co_return co_await round_trip(client_, client_reader_, request, timeout);
        }());
    }

    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_{io_, {asio::ip::address_v4::loopback(), 0}};
    asio::ip::tcp::socket client_{io_};
    asio::ip::tcp::socket server_{io_};
    Reader client_reader_{Reader::Kind::response};
};

TEST_F(HttpTransfer, ARoundTripSendsTheRequestAndReadsTheResponse) {
    server_sends("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 204 No");
    const Response response = round_trip_with(1000ms);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(to_string(response.body), "hi");
    EXPECT_GT(client_reader_.buffered(), 0U);  // the next response's start waits in the reader

    Reader server_reader(Reader::Kind::request);
    const Request request = run(io_, read_request(server_, server_reader, 1000ms));
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.path(), "/login");
}

TEST_F(HttpTransfer, AServedRequestGetsItsResponse) {
    Request request;
    request.method = "OPTIONS";
    request.target = "*";
    request.protocol = "RTSP/1.0";
    request.headers.add("CSeq", "3");
    const Bytes wire = encode(request);
    asio::write(client_, asio::buffer(wire));

    Reader server_reader(Reader::Kind::request);
    const Request read = run(io_, read_request(server_, server_reader, 1000ms));
    Response response;
    response.protocol = read.protocol;
    response.headers.add("CSeq", std::string(read.headers.get("CSeq").value_or("")));
    run(io_, send_response(server_, response, 1000ms));

    const Response answer = run(io_, [&]() -> asio::awaitable<Response> {
        std::array<std::uint8_t, 256> buffer{};
        const std::size_t count =
            co_await client_.async_read_some(asio::buffer(buffer), asio::use_awaitable);
        client_reader_.feed(ByteView(buffer.data(), count));
        co_return client_reader_.next_response().value();
    }());
    EXPECT_EQ(answer.protocol, "RTSP/1.0");
    EXPECT_EQ(answer.headers.get("CSeq"), "3");
}

TEST_F(HttpTransfer, ASilentPeerIsATimeoutThatClosesTheSocket) {
    const Error error = expect_error([&] { (void)round_trip_with(100ms); });
    EXPECT_EQ(error.kind(), ErrorKind::timeout);
    EXPECT_FALSE(client_.is_open());
}

TEST_F(HttpTransfer, APeerClosingIsALostConnection) {
    server_sends("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    server_.close();
    const Error error = expect_error([&] { (void)round_trip_with(1000ms); });
    EXPECT_EQ(error.kind(), ErrorKind::connection_lost);
}

TEST_F(HttpTransfer, AMalformedResponseFailsTheExchange) {
    server_sends("HTTP/1.1 2000 OK\r\n\r\n");
    const Error error = expect_error([&] { (void)round_trip_with(1000ms); });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
}

}  // namespace
}  // namespace atv::http
