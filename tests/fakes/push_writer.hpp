// Writes to a socket in the order bytes are given, from the session's answers and from pushes
// alike, without blocking the loop: a device that pushes state while a client is slow to read
// must not stall every other connection of the fake.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <deque>

#include "support/bytes.hpp"

namespace atv::fakes {

class PushWriter {
  public:
    explicit PushWriter(asio::ip::tcp::socket& socket)
        : socket_(socket), idle_(socket.get_executor()) {}
    PushWriter(const PushWriter&) = delete;
    PushWriter& operator=(const PushWriter&) = delete;

    // Queues bytes behind everything queued before.
    void write(Bytes bytes) {
        if (bytes.empty() || failed_) {
            return;
        }
        queue_.push_back(std::move(bytes));
        if (!writing_) {
            writing_ = true;
            asio::co_spawn(socket_.get_executor(), drain_queue(), asio::detached);
        }
    }

    // Returns once everything queued is written or the socket failed; call before the writer
    // and the socket go away.
    asio::awaitable<void> flush() {
        while (writing_) {
            idle_.expires_at(asio::steady_timer::time_point::max());
            std::error_code ec;
            co_await idle_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }

  private:
    asio::awaitable<void> drain_queue() {
        while (!queue_.empty() && !failed_) {
            const Bytes bytes = std::move(queue_.front());
            queue_.pop_front();
            std::error_code ec;
            co_await asio::async_write(socket_, asio::buffer(bytes),
                                       asio::redirect_error(asio::use_awaitable, ec));
            failed_ = failed_ || static_cast<bool>(ec);
        }
        queue_.clear();
        writing_ = false;
        idle_.cancel();
    }

    asio::ip::tcp::socket& socket_;
    asio::steady_timer idle_;
    std::deque<Bytes> queue_;
    bool writing_ = false;
    bool failed_ = false;
};

}  // namespace atv::fakes
