// TCP connections to devices: connecting within a time limit, noticing a peer that vanished,
// and a deadline over whatever is pending on a socket.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace atv {

// Connects to address:port within `timeout`, with Nagle's delay off and keepalive on.
// `service` names what is connected to in messages ("the MRP service"). Throws
// atv::Error(connection_failed) when the address is not one or the connection is refused or
// unreachable, and atv::Error(timeout) when the deadline passes.
asio::awaitable<asio::ip::tcp::socket> connect_tcp(asio::any_io_executor executor,
                                                   const std::string& address, std::uint16_t port,
                                                   std::chrono::milliseconds timeout,
                                                   std::string_view service);

// Enables TCP keepalive (idle 1 s, interval 5 s, 4 probes) and limits unacknowledged data to
// 20 s, so that a peer that vanished without a FIN or RST is noticed within about 21 s.
void enable_keepalive(asio::ip::tcp::socket& socket);

// Closes a socket when `timeout` passes, which ends whatever is pending on it; expired() then
// tells a timeout from other failures. Closing rather than cancelling: a stream cut off in the
// middle of a message cannot be trusted with the next one.
class SocketDeadline {
  public:
    SocketDeadline(asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout);
    ~SocketDeadline();
    SocketDeadline(const SocketDeadline&) = delete;
    SocketDeadline& operator=(const SocketDeadline&) = delete;

    [[nodiscard]] bool expired() const { return state_->expired; }

  private:
    // Shared with the timer's handler, which may run after the deadline is gone.
    struct State {
        bool done = false;
        bool expired = false;
    };
    std::shared_ptr<State> state_;
    asio::steady_timer timer_;
};

}  // namespace atv
