#include "bus_loop.hpp"

#include <poll.h>

#include <asio/post.hpp>
#include <chrono>
#include <limits>

#include "log.hpp"

namespace atvd::mpris {

BusLoop::BusLoop(asio::io_context& io, sdbus::IConnection& bus)
    : io_(io), bus_(bus), descriptor_(io), timer_(io) {}

BusLoop::~BusLoop() {
    *alive_ = false;
    stopped_ = true;
    timer_.cancel();
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
    asio::post(io_, [this, alive = alive_] {
        if (!*alive) {
            return;
        }
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
        log::debug("bus connection failed: {}", error.what());
        stopped_ = true;
        timer_.cancel();
        if (descriptor_.is_open()) {
            descriptor_.cancel();
        }
        // The owner may destroy this loop: not from inside its own call.
        if (on_disconnect_) {
            asio::post(io_, on_disconnect_);
        }
        return;
    }
    arm();
}

void BusLoop::arm() {
    const sdbus::IConnection::PollData poll = bus_.getEventLoopPollData();
    if ((poll.events & POLLIN) != 0 && !waiting_read_) {
        waiting_read_ = true;
        descriptor_.async_wait(asio::posix::descriptor_base::wait_read,
                               [this, alive = alive_](std::error_code ec) {
                                   if (!*alive) {
                                       return;
                                   }
                                   waiting_read_ = false;
                                   if (!ec) {
                                       process();
                                   }
                               });
    }
    if ((poll.events & POLLOUT) != 0 && !waiting_write_) {
        waiting_write_ = true;
        descriptor_.async_wait(asio::posix::descriptor_base::wait_write,
                               [this, alive = alive_](std::error_code ec) {
                                   if (!*alive) {
                                       return;
                                   }
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
    // sd-bus gives an absolute CLOCK_MONOTONIC time, which is steady_clock's clock on Linux.
    timer_.expires_at(
        std::chrono::steady_clock::time_point(std::chrono::microseconds(poll.timeout_usec)));
    timer_.async_wait([this, alive = alive_](std::error_code ec) {
        if (*alive && !ec) {
            process();
        }
    });
}

}  // namespace atvd::mpris
