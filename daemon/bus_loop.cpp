#include "bus_loop.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <chrono>
#include <limits>

namespace atvd {

BusLoop::BusLoop(asio::io_context& io, sdbus::IConnection& bus)
    : io_(io), bus_(bus), descriptor_(io), timer_(io) {}

BusLoop::~BusLoop() {
    stopped_ = true;
    if (descriptor_.is_open()) {
        // sd-bus owns the descriptor; asio must not close it.
        descriptor_.release();
    }
}

void BusLoop::start() {
    descriptor_.assign(bus_.getEventLoopPollData().fd);
    process();
}

void BusLoop::kick() {
    if (kick_posted_ || stopped_) {
        return;
    }
    kick_posted_ = true;
    asio::post(io_, [this] {
        kick_posted_ = false;
        process();
    });
}

void BusLoop::process() {
    if (stopped_) {
        return;
    }
    try {
        while (bus_.processPendingRequest()) {
        }
    } catch (const std::exception& error) {
        spdlog::error("D-Bus connection failed: {}", error.what());
        stopped_ = true;
        timer_.cancel();
        if (on_disconnect_) {
            on_disconnect_();
        }
        return;
    }
    arm();
}

void BusLoop::arm() {
    const sdbus::IConnection::PollData poll = bus_.getEventLoopPollData();
    if ((poll.events & POLLIN) != 0 && !waiting_read_) {
        waiting_read_ = true;
        descriptor_.async_wait(asio::posix::descriptor_base::wait_read, [this](std::error_code ec) {
            waiting_read_ = false;
            if (!ec) {
                process();
            }
        });
    }
    if ((poll.events & POLLOUT) != 0 && !waiting_write_) {
        waiting_write_ = true;
        descriptor_.async_wait(asio::posix::descriptor_base::wait_write,
                               [this](std::error_code ec) {
                                   waiting_write_ = false;
                                   if (!ec) {
                                       process();
                                   }
                               });
    }
    if (poll.timeout_usec == std::numeric_limits<std::uint64_t>::max()) {
        timer_.cancel();
        return;
    }
    // sd-bus reports an absolute CLOCK_MONOTONIC time, which is steady_clock's clock on Linux.
    timer_.expires_at(
        std::chrono::steady_clock::time_point(std::chrono::microseconds(poll.timeout_usec)));
    timer_.async_wait([this](std::error_code ec) {
        if (!ec) {
            process();
        }
    });
}

}  // namespace atvd
