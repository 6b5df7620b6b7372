#include "loop_pacing.hpp"

#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <string>

#include "event_loop.hpp"

namespace atvd {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using Clock = LoopPacing::Clock;

constexpr microseconds no_pause = microseconds::zero();

// `signals` signals spread over `objects` device paths, all at `at`.
void signal_from(LoopPacing& pacing, std::size_t objects, std::uint32_t signals,
                 Clock::time_point at) {
    for (std::uint32_t n = 0; n < signals; ++n) {
        pacing.note_signal("/org/atvd/devices/" + std::to_string(n % objects), at);
    }
}

TEST(LoopPacing, AQuietLoopNeverPauses) {
    LoopPacing pacing;
    const Clock::time_point start{std::chrono::hours(1)};
    EXPECT_EQ(pacing.pause(start), no_pause);
    signal_from(pacing, 3, 10, start);
    EXPECT_EQ(pacing.pause(start + milliseconds(10)), no_pause);
}

TEST(LoopPacing, ManyDevicesSignallingFastPauseTheLoop) {
    LoopPacing pacing;
    const Clock::time_point start{std::chrono::hours(1)};
    signal_from(pacing, LoopPacing::busy_sources, LoopPacing::busy_signals_per_second - 1, start);
    EXPECT_EQ(pacing.pause(start + milliseconds(500)), no_pause);
    signal_from(pacing, 1, 1, start + milliseconds(500));
    EXPECT_EQ(pacing.pause(start + milliseconds(500)), LoopPacing::pause_when_busy);
}

TEST(LoopPacing, OneBusyDeviceIsServedAtOnce) {
    // A conversation with one device: its objects come and go with each connection, at the
    // same paths, and each answer waits for our last signal; pausing would only slow it.
    LoopPacing pacing;
    const Clock::time_point start{std::chrono::hours(1)};
    signal_from(pacing, LoopPacing::busy_sources - 1, 10'000, start);
    EXPECT_EQ(pacing.pause(start + milliseconds(1)), no_pause);
}

TEST(LoopPacing, ABusySecondKeepsPacingThroughTheNextOneOnly) {
    LoopPacing pacing;
    const Clock::time_point start{std::chrono::hours(1)};
    signal_from(pacing, 50, 1000, start);
    // The next second is paced on the strength of this one, even before it is busy itself.
    EXPECT_EQ(pacing.pause(start + milliseconds(1500)), LoopPacing::pause_when_busy);
    // That second was quiet: the one after it is served at once.
    EXPECT_EQ(pacing.pause(start + milliseconds(2600)), no_pause);
}

TEST(LoopPacing, ABusySecondLongAgoDoesNotCount) {
    LoopPacing pacing;
    const Clock::time_point start{std::chrono::hours(1)};
    signal_from(pacing, 50, 1000, start);
    EXPECT_EQ(pacing.pause(start + std::chrono::seconds(5)), no_pause);
}

TEST(LoopPacing, SteadyLoadStaysPaced) {
    LoopPacing pacing;
    const Clock::time_point start{std::chrono::hours(1)};
    // 50 devices, 20 updates a second each, for ten seconds.
    for (std::uint32_t tick = 0; tick < 10'000; ++tick) {
        const Clock::time_point now = start + milliseconds(tick);
        pacing.note_signal("/org/atvd/devices/" + std::to_string(tick % 50), now);
        if (tick >= LoopPacing::busy_signals_per_second) {
            ASSERT_EQ(pacing.pause(now), LoopPacing::pause_when_busy) << "at " << tick << " ms";
        }
    }
}

// The paced loop still runs everything it is given, timers included, and ends like run().
TEST(EventLoopPaced, RunsPostedWorkAndTimersWhilePaced) {
    EventLoop io(1);
    LoopPacing pacing;
    signal_from(pacing, 50, 1000, Clock::now());
    ASSERT_EQ(pacing.pause(Clock::now()), LoopPacing::pause_when_busy);

    int posted = 0;
    for (int n = 0; n < 100; ++n) {
        asio::post(io, [&] { ++posted; });
    }
    bool timer_fired = false;
    asio::steady_timer timer(io, milliseconds(20));
    timer.async_wait([&](std::error_code ec) { timer_fired = !ec; });
    io.run_paced(pacing);
    EXPECT_EQ(posted, 100);
    EXPECT_TRUE(timer_fired);
}

TEST(EventLoopPaced, EndsWhenStopped) {
    EventLoop io(1);
    LoopPacing pacing;
    signal_from(pacing, 50, 1000, Clock::now());
    auto work = asio::make_work_guard(io);
    bool after_stop = false;
    asio::post(io, [&] {
        io.stop();
        asio::post(io, [&] { after_stop = true; });
    });
    io.run_paced(pacing);
    EXPECT_TRUE(io.stopped());
    EXPECT_FALSE(after_stop);
}

}  // namespace
}  // namespace atvd
