// Connecting within a time limit and the socket deadline, on real loopback sockets.
#include "support/tcp.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>

#include "expect_error.hpp"
#include "run_coroutine.hpp"

namespace atv {
namespace {

using namespace std::chrono_literals;
using fakes::contains;
using fakes::expect_error;
using fakes::run;

int socket_option(asio::ip::tcp::socket& socket, int level, int option) {
    int value = -1;
    socklen_t size = sizeof value;
    EXPECT_EQ(::getsockopt(socket.native_handle(), level, option, &value, &size), 0);
    return value;
}

class Tcp : public ::testing::Test {
  protected:
    // A connected socket, kept on the heap so the test can hold it after the coroutine.
    std::unique_ptr<asio::ip::tcp::socket> connect(std::uint16_t port) {
        return run(io_, [&]() -> asio::awaitable<std::unique_ptr<asio::ip::tcp::socket>> {
            co_return std::make_unique<asio::ip::tcp::socket>(co_await connect_tcp(
                io_.get_executor(), "127.0.0.1", port, 1000ms, "the test service"));
        }());
    }

    [[nodiscard]] std::uint16_t listening_port() const { return acceptor_.local_endpoint().port(); }

    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_{io_, {asio::ip::address_v4::loopback(), 0}};
};

TEST_F(Tcp, ConnectionsHaveNoDelayAndKeepalive) {
    auto socket = connect(listening_port());
    EXPECT_EQ(socket_option(*socket, SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(socket_option(*socket, IPPROTO_TCP, TCP_KEEPIDLE), 1);
    EXPECT_EQ(socket_option(*socket, IPPROTO_TCP, TCP_KEEPINTVL), 5);
    EXPECT_EQ(socket_option(*socket, IPPROTO_TCP, TCP_KEEPCNT), 4);
    EXPECT_EQ(socket_option(*socket, IPPROTO_TCP, TCP_NODELAY), 1);
}

TEST_F(Tcp, AddressMustBeAnIp) {
    const Error error = expect_error([&] {
        run(io_, [&]() -> asio::awaitable<void> {
            (void)co_await connect_tcp(io_.get_executor(), "not an address", 1, 1000ms,
                                       "the test service");
        }());
    });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    EXPECT_TRUE(contains(error, "not an IP address")) << error.what();
}

TEST_F(Tcp, ARefusedConnectionNamesTheService) {
    const std::uint16_t port = listening_port();
    acceptor_.close();
    const Error error = expect_error([&] { (void)connect(port); });
    EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    EXPECT_TRUE(contains(error, "could not connect to the test service at 127.0.0.1:"))
        << error.what();
}

TEST_F(Tcp, ADeadlineClosesTheSocketAndSaysSo) {
    auto socket = connect(listening_port());
    const auto started = std::chrono::steady_clock::now();
    const bool expired = run(io_, [&]() -> asio::awaitable<bool> {
        const SocketDeadline deadline(*socket, 100ms);
        std::array<std::uint8_t, 16> buffer{};
        std::error_code ec;
        (void)co_await socket->async_read_some(asio::buffer(buffer),
                                               asio::redirect_error(asio::use_awaitable, ec));
        EXPECT_TRUE(ec);
        co_return deadline.expired();
    }());
    EXPECT_TRUE(expired);
    EXPECT_FALSE(socket->is_open());
    EXPECT_GE(std::chrono::steady_clock::now() - started, 100ms);
}

TEST_F(Tcp, AFinishedDeadlineLeavesTheSocketAlone) {
    auto socket = connect(listening_port());
    { const SocketDeadline deadline(*socket, 10ms); }
    fakes::run_for(io_, 100ms);
    EXPECT_TRUE(socket->is_open());
}

}  // namespace
}  // namespace atv
