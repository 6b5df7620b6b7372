// Drives one sdbus-c++ connection from the asio loop, so every bus callback of every
// connection runs on the one loop thread.
#pragma once

#include <sdbus-c++/IConnection.h>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <memory>

namespace atvd::mpris {

class BusLoop {
  public:
    BusLoop(asio::io_context& io, sdbus::IConnection& bus);
    ~BusLoop();
    BusLoop(const BusLoop&) = delete;
    BusLoop& operator=(const BusLoop&) = delete;

    void start();
    // sd-bus 1.2 has no wake-up descriptor: after sending outside a dispatch of this
    // connection (a reply or signal caused by another bus) the loop re-arms.
    void kick();
    // Called once, from a posted handler, when the connection fails for good.
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
    // Handlers still queued when this loop goes (a player's, say) check it first.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace atvd::mpris
