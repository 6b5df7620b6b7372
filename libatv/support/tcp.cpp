#include "support/tcp.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/address.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "atv/error.hpp"
#include "support/stream_channel.hpp"

namespace atv {

namespace {

constexpr int keepalive_idle_seconds = 1;
constexpr int keepalive_interval_seconds = 5;
constexpr int keepalive_probes = 4;
// Data the peer never acknowledges (a heartbeat sent into a cut link) ends the connection after
// this long; keepalive only covers a connection with nothing in flight.
constexpr int unacknowledged_limit_ms = 20000;

}  // namespace

void enable_keepalive(asio::ip::tcp::socket& socket) {
    socket.set_option(asio::socket_base::keep_alive(true));
    const int handle = socket.native_handle();
    // Failures only cost the early detection; heartbeats and timeouts still notice a dead peer.
    const auto set = [handle](int option, int value) {
        if (::setsockopt(handle, IPPROTO_TCP, option, &value, sizeof value) != 0) {
            spdlog::debug("tcp: setting keepalive option {} failed", option);
        }
    };
    set(TCP_KEEPIDLE, keepalive_idle_seconds);
    set(TCP_KEEPINTVL, keepalive_interval_seconds);
    set(TCP_KEEPCNT, keepalive_probes);
    set(TCP_USER_TIMEOUT, unacknowledged_limit_ms);
}

asio::awaitable<asio::ip::tcp::socket> connect_tcp(asio::any_io_executor executor,
                                                   const std::string& address, std::uint16_t port,
                                                   std::chrono::milliseconds timeout,
                                                   std::string_view service) {
    using namespace asio::experimental::awaitable_operators;
    std::error_code ec;
    const asio::ip::address ip = asio::ip::make_address(address, ec);
    if (ec) {
        throw Error(ErrorKind::connection_failed,
                    "'" + address + "' is not an IP address; scan for the device again");
    }
    const std::string endpoint = address + ":" + std::to_string(port);
    asio::ip::tcp::socket socket(executor);
    asio::steady_timer deadline(executor);
    deadline.expires_after(timeout);
    // Errors are redirected, not thrown: `||` waits for a success, so a refused connection
    // must complete normally to end the wait at once.
    std::error_code connect_error;
    const auto outcome =
        co_await (socket.async_connect({ip, port},
                                       asio::redirect_error(asio::use_awaitable, connect_error)) ||
                  deadline.async_wait(asio::use_awaitable));
    if (outcome.index() == 1) {
        throw Error(ErrorKind::timeout, std::string(service) + " at " + endpoint +
                                            " did not accept a connection within " +
                                            seconds_text(timeout) +
                                            "; check that the device is awake and reachable");
    }
    if (connect_error) {
        throw Error(ErrorKind::connection_failed,
                    "could not connect to " + std::string(service) + " at " + endpoint + ": " +
                        connect_error.message() +
                        "; the port may have changed, scan for the device again");
    }
    socket.set_option(asio::ip::tcp::no_delay(true));
    enable_keepalive(socket);
    co_return socket;
}

SocketDeadline::SocketDeadline(asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout)
    : state_(std::make_shared<State>()), timer_(socket.get_executor()) {
    timer_.expires_after(timeout);
    timer_.async_wait([state = state_, &socket](std::error_code ec) {
        if (!ec && !state->done) {
            state->expired = true;
            std::error_code ignored;
            socket.close(ignored);
        }
    });
}

SocketDeadline::~SocketDeadline() {
    state_->done = true;
    timer_.cancel();
}

}  // namespace atv
