// The daemon's one event loop.
#pragma once

#include <asio/io_context.hpp>

namespace atvd {

class EventLoop : public asio::io_context {
  public:
    using asio::io_context::io_context;

    // Work still pending when the loop ends (a connection attempt, a wait between attempts)
    // owns device objects, and their destructors speak on the bus. It must go while the bus and
    // everything else those objects reach still exist, not when the io_context is destroyed
    // after them.
    void discard_pending() { shutdown(); }
};

}  // namespace atvd
