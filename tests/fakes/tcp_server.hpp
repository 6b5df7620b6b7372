// What every part of the fake Apple TV listens with: a listening socket whose connections are
// each served by a coroutine, and a stop() that waits until all of them have ended.
#pragma once

#include <array>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdint>
#include <functional>
#include <list>
#include <string>

#include "support/bytes.hpp"

namespace atv::fakes {

class TcpServer {
  public:
    // Serves one accepted connection; the server closes the socket when it returns.
    using Serve = std::function<asio::awaitable<void>(asio::ip::tcp::socket& socket)>;

    // name: how log lines name the server ("fake-atv").
    TcpServer(asio::any_io_executor executor, std::string name);
    ~TcpServer();
    TcpServer(const TcpServer&) = delete;
    TcpServer& operator=(const TcpServer&) = delete;

    // Binds and listens (port 0: an ephemeral one); throws std::system_error when it is taken.
    void start(const std::string& bind_address, std::uint16_t port, Serve serve);
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::size_t open_connections() const { return sockets_.size(); }
    // Resets every connection at once, as a rebooting device would; the server still listens.
    void drop_connections();
    // Stops listening, closes every connection and returns once every coroutine has ended.
    asio::awaitable<void> stop();

  private:
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::list<asio::ip::tcp::socket>::iterator socket);
    void task_finished();

    asio::any_io_executor executor_;
    std::string name_;
    Serve serve_;
    asio::ip::tcp::acceptor acceptor_;
    std::list<asio::ip::tcp::socket> sockets_;
    std::uint16_t port_ = 0;
    int active_tasks_ = 0;
    bool stopping_ = false;
    asio::steady_timer tasks_done_;
};

// Feeds what the client sends to `receive` and writes back the bytes of what it returns, until
// the client leaves or an answer says to close. `receive` takes a ByteView and returns
// {Bytes bytes; bool close;}, as the fakes' sessions do.
template <typename Receive>
asio::awaitable<void> relay(asio::ip::tcp::socket& socket, Receive receive) {
    std::array<std::uint8_t, 16 * 1024> chunk{};
    for (;;) {
        std::error_code ec;
        const std::size_t count = co_await socket.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            co_return;
        const auto out = receive(ByteView(chunk.data(), count));
        if (!out.bytes.empty()) {
            co_await asio::async_write(socket, asio::buffer(out.bytes),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec)
                co_return;
        }
        if (out.close)
            co_return;
    }
}

}  // namespace atv::fakes
