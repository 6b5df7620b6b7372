// When the event loop pauses between turns: while many devices update at once, work that
// becomes ready during a short pause is handled in one turn.
//
// Every turn costs a wake-up of atvd, and every signal written alone a wake-up of dbus-daemon;
// with dozens of devices streaming updates those cost more than the updates themselves.
// Pausing a few milliseconds between turns lets the kernel gather what arrives meanwhile, so
// that one wake-up serves several devices and their signals reach dbus-daemon back to back.
// Only independent sources gain from that: a conversation with one device (or a few) would
// just wait for the pause, since its next message answers our last one. So the loop is paced
// only while both the rate of signals and the number of objects sending them are high; a
// quiet loop, a busy exchange with a few devices and any burst shorter than the thresholds are
// served the moment their messages arrive.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

namespace atvd {

class LoopPacing {
  public:
    using Clock = std::chrono::steady_clock;

    // At this rate of signals, a pause gathers about four updates where a turn would hold one.
    static constexpr std::uint32_t busy_signals_per_second = 250;
    static constexpr std::size_t busy_sources = 8;
    // One display frame at 60 Hz: a change reaches a screen at most a frame later. A turn costs
    // the same fixed work (a sleep, a wake-up, two looks for events) however many updates it
    // holds, and on a small machine that work is a large part of the whole: with 50 devices
    // streaming, atvd used about 4.3 % of a core pausing 8 ms and 3.9 % pausing 16 ms.
    static constexpr std::chrono::microseconds pause_when_busy{16000};

    // Counts a signal sent at `now` by the object at `path`.
    void note_signal(std::string_view path, Clock::time_point now) {
        roll(now);
        current_.note(std::hash<std::string_view>{}(path));
    }

    // How long the loop pauses after a turn ending at `now`: zero unless this second or the one
    // before it was busy.
    [[nodiscard]] std::chrono::microseconds pause(Clock::time_point now) {
        roll(now);
        return current_.busy() || previous_busy_ ? pause_when_busy
                                                 : std::chrono::microseconds::zero();
    }

  private:
    struct Second {
        std::uint32_t signals = 0;
        // The first distinct objects seen (their paths' hashes), up to as many as make a second
        // busy. Paths, not the C++ objects: a device's interfaces are new with each connection.
        std::array<std::size_t, busy_sources> sources{};
        std::size_t source_count = 0;

        void note(std::size_t source) {
            ++signals;
            const auto seen = std::span(sources).first(source_count);
            if (source_count < busy_sources && std::ranges::find(seen, source) == seen.end()) {
                sources[source_count++] = source;
            }
        }
        [[nodiscard]] bool busy() const {
            return signals >= busy_signals_per_second && source_count >= busy_sources;
        }
    };

    // Seconds are counted from the first event after a second has passed, so a second is only
    // ever compared with the one that immediately preceded it.
    void roll(Clock::time_point now) {
        const auto since = now - current_started_;
        if (since < std::chrono::seconds(1)) {
            return;
        }
        previous_busy_ = since < std::chrono::seconds(2) && current_.busy();
        current_ = Second{};
        current_started_ = now;
    }

    Clock::time_point current_started_{};
    Second current_;
    bool previous_busy_ = false;
};

}  // namespace atvd
