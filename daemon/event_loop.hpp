// The daemon's one event loop.
#pragma once

#include <asio/io_context.hpp>
#include <thread>

#include "loop_pacing.hpp"

namespace atvd {

class EventLoop : public asio::io_context {
  public:
    using asio::io_context::io_context;

    // Runs until stopped or out of work, pausing between turns as `pacing` says. A pause is a
    // sleep of the loop's own thread between turns, never inside a handler: what becomes ready
    // meanwhile waits in the kernel and is handled in the next turn.
    void run_paced(LoopPacing& pacing) {
        while (run_one() > 0) {
            const auto pause = pacing.pause(LoopPacing::Clock::now());
            if (pause.count() > 0) {
                poll();
                std::this_thread::sleep_for(pause);
            }
        }
    }

    // Work still pending when the loop ends (a connection attempt, a wait between attempts)
    // owns device objects, and their destructors speak on the bus. It must go while the bus and
    // everything else those objects reach still exist, not when the io_context is destroyed
    // after them.
    void discard_pending() { shutdown(); }
};

}  // namespace atvd
