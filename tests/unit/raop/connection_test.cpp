// connect_raop against a scripted RTSP receiver on 127.0.0.1: what is sent, what each answer
// leads to, and that the session lives until close() or until the receiver hangs up.
#include "raop/connection.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "atv/error.hpp"
#include "connection_steps.hpp"
#include "http/transfer.hpp"
#include "run_coroutine.hpp"

namespace atv::raop {
namespace {

using namespace std::chrono_literals;
using fakes::run;
using fakes::run_until;

// Answers each request with the next scripted status, records the requests, then keeps the
// connection open until told to hang up.
class ScriptedReceiver {
  public:
    ScriptedReceiver(asio::io_context& io, std::vector<int> statuses)
        : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}), statuses_(std::move(statuses)) {
        asio::co_spawn(io, serve(), asio::detached);
    }
    [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    void hang_up() {
        std::error_code ignored;
        if (socket_)
            socket_->close(ignored);
    }

    std::vector<http::Request> requests;
    bool peer_closed = false;

  private:
    asio::awaitable<void> serve() {
        socket_.emplace(co_await acceptor_.async_accept(asio::use_awaitable));
        http::Reader reader(http::Reader::Kind::request);
        try {
            for (int status : statuses_) {
                http::Request request = co_await http::read_request(*socket_, reader, 5s);
                const http::Response reply{
                    .protocol = "RTSP/1.0",
                    .status = status,
                    .reason = "X",
                    .headers = {{"CSeq", std::string(request.headers.get("CSeq").value_or(""))},
                                {"Public", "OPTIONS, ANNOUNCE"}}};
                requests.push_back(std::move(request));
                co_await http::send_response(*socket_, reply, 5s);
            }
            (void)co_await http::read_request(*socket_, reader, 30s);
        } catch (const Error& error) {
            peer_closed = error.kind() == ErrorKind::connection_lost;
        }
    }

    asio::ip::tcp::acceptor acceptor_;
    std::optional<asio::ip::tcp::socket> socket_;
    std::vector<int> statuses_;
};

std::unique_ptr<ProtocolConnection> connect(asio::io_context& io, std::uint16_t port,
                                            Properties properties = {}) {
    return run(io,
               connect_raop(io.get_executor(), "127.0.0.1", port, std::move(properties), 2000ms));
}

TEST(RaopConnect, SendsOptionsAndKeepsTheSessionUntilClose) {
    asio::io_context io;
    ScriptedReceiver receiver(io, {200});
    auto connection = connect(io, receiver.port(), {{"et", "0,1"}, {"am", "ShairportSync"}});
    ASSERT_EQ(receiver.requests.size(), 1u);
    const auto& options = receiver.requests[0];
    EXPECT_EQ(options.method, "OPTIONS");
    EXPECT_EQ(options.target, "*");
    EXPECT_EQ(options.headers.get("CSeq").value(), "0");
    EXPECT_EQ(options.headers.get("DACP-ID").value().size(), 16u);
    EXPECT_EQ(options.headers.get("Client-Instance"), options.headers.get("DACP-ID"));
    EXPECT_TRUE(options.headers.get("Active-Remote").has_value());
    EXPECT_EQ(options.headers.get("User-Agent").value(), "AirPlay/550.10");
    const fakes::LossRecorder losses(*connection);
    fakes::run_for(io, 200ms);
    EXPECT_FALSE(receiver.peer_closed);  // still connected
    run(io, connection->close());
    run_until(io, [&] { return receiver.peer_closed; });
    EXPECT_TRUE(receiver.peer_closed);
    EXPECT_EQ(losses.count(), 0);
}

TEST(RaopConnect, AnAirPortWithMfiSapGetsAuthSetup) {
    asio::io_context io;
    ScriptedReceiver receiver(io, {200, 200});
    auto connection = connect(io, receiver.port(), {{"et", "0,4"}, {"am", "AirPort10,115"}});
    ASSERT_EQ(receiver.requests.size(), 2u);
    const auto& setup = receiver.requests[1];
    EXPECT_EQ(setup.method, "POST");
    EXPECT_EQ(setup.target, "/auth-setup");
    EXPECT_EQ(setup.headers.get("CSeq").value(), "1");
    ASSERT_EQ(setup.body.size(), 33u);
    EXPECT_EQ(setup.body[0], 0x01);
    run(io, connection->close());
}

TEST(RaopConnect, OnlyAirPortsWithMfiSapNeedAuthSetup) {
    EXPECT_TRUE(needs_auth_setup({{"et", "0,4"}, {"am", "AirPort10,115"}}));
    EXPECT_FALSE(needs_auth_setup({{"et", "0,4"}, {"am", "AppleTV6,2"}}));
    EXPECT_FALSE(needs_auth_setup({{"et", "0,1"}, {"am", "AirPort10,115"}}));
    EXPECT_FALSE(needs_auth_setup({{"et", "0,14"}, {"am", "AirPort10,115"}}));
    EXPECT_FALSE(needs_auth_setup({}));
    const Bytes key(32, 0xAB);
    const Bytes body = auth_setup_body(key);
    EXPECT_EQ(body.size(), 33u);
    EXPECT_EQ(body[0], 0x01);
}

TEST(RaopConnect, APasswordDemandIsAnAuthenticationFailure) {
    asio::io_context io;
    ScriptedReceiver receiver(io, {401});
    try {
        connect(io, receiver.port());
        ADD_FAILURE() << "connected despite 401";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
        EXPECT_NE(std::string(error.what()).find("password"), std::string::npos);
    }
}

TEST(RaopConnect, AnErrorStatusIsAConnectionFailure) {
    asio::io_context io;
    ScriptedReceiver receiver(io, {500});
    try {
        connect(io, receiver.port());
        ADD_FAILURE() << "connected despite 500";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    }
}

TEST(RaopConnect, TheReceiverHangingUpIsALostConnection) {
    asio::io_context io;
    ScriptedReceiver receiver(io, {200});
    auto connection = connect(io, receiver.port());
    const fakes::LossRecorder losses(*connection);
    receiver.hang_up();
    losses.await(io);
    EXPECT_EQ(losses.count(), 1);
    EXPECT_NE(losses.reason().find("closed"), std::string::npos) << losses.reason();
    run(io, connection->close());
}

TEST(RaopConnect, ALossBeforeAnyoneListensIsStillReported) {
    asio::io_context io;
    ScriptedReceiver receiver(io, {200});
    auto connection = connect(io, receiver.port());
    receiver.hang_up();
    fakes::run_for(io, 200ms);
    const fakes::LossRecorder losses(*connection);
    losses.await(io);
    EXPECT_EQ(losses.count(), 1);
    run(io, connection->close());
}

}  // namespace
}  // namespace atv::raop
