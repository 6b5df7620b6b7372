// Drives an sdbus-c++ connection from the asio loop: every bus callback runs on the loop thread.
#pragma once

#include <sdbus-c++/IConnection.h>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <string_view>

#include "loop_pacing.hpp"

namespace atvd {

class BusLoop {
  public:
    BusLoop(asio::io_context& io, sdbus::IConnection& bus);
    ~BusLoop();
    BusLoop(const BusLoop&) = delete;
    BusLoop& operator=(const BusLoop&) = delete;

    void start();
    // sd-bus has no wake-up fd in 1.2: after sending outside a dispatch (a deferred reply, a
    // signal) the poll data may have changed, so the loop re-arms.
    void kick();
    // False once the bus connection failed (or the loop ended): nothing can be sent any more.
    [[nodiscard]] bool connected() const { return !stopped_; }
    // Every signal is counted here: the loop pauses between turns while they stream.
    void note_signal(std::string_view path) { pacing_.note_signal(path, LoopPacing::Clock::now()); }
    [[nodiscard]] LoopPacing& pacing() { return pacing_; }
    // Called once when the bus connection fails for good.
    void on_disconnect(std::function<void()> callback) { on_disconnect_ = std::move(callback); }

  private:
    void process();
    void arm();

    asio::io_context& io_;
    sdbus::IConnection& bus_;
    asio::posix::stream_descriptor descriptor_;
    asio::steady_timer timer_;
    bool waiting_read_ = false;
    bool waiting_write_ = false;
    bool kick_posted_ = false;
    bool stopped_ = false;
    std::function<void()> on_disconnect_;
    LoopPacing pacing_;
};

}  // namespace atvd
