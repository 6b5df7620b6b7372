#include "discovery/avahi_poll.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "atv/discovery.hpp"

namespace atv::discovery {
namespace {

using namespace std::chrono_literals;

struct timeval wall_clock_in(std::chrono::milliseconds delay) {
    struct timeval now {};
    ::gettimeofday(&now, nullptr);
    const long long micros = now.tv_usec + delay.count() * 1000LL;
    now.tv_sec += static_cast<time_t>(micros / 1000000);
    now.tv_usec = static_cast<suseconds_t>(micros % 1000000);
    return now;
}

// Runs the loop for a while; restart() first, as a loop that ran out of work stays stopped.
void run(asio::io_context& io, std::chrono::milliseconds duration) {
    io.restart();
    io.run_for(duration);
}

class Pipe {
  public:
    Pipe() { EXPECT_EQ(::pipe2(fds_, O_NONBLOCK | O_CLOEXEC), 0); }
    ~Pipe() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    [[nodiscard]] int read_end() const { return fds_[0]; }
    void write(const char* text) const { EXPECT_GT(::write(fds_[1], text, std::strlen(text)), 0); }

  private:
    int fds_[2] = {-1, -1};
};

struct WatchProbe {
    const AvahiPoll* api = nullptr;
    int calls = 0;
    AvahiWatchEvent last = static_cast<AvahiWatchEvent>(0);
    AvahiWatchEvent reported = static_cast<AvahiWatchEvent>(0);
    bool free_on_call = false;
    bool drain = true;
};

void on_watch(AvahiWatch* watch, int fd, AvahiWatchEvent event, void* userdata) {
    auto* probe = static_cast<WatchProbe*>(userdata);
    ++probe->calls;
    probe->last = event;
    probe->reported = probe->api->watch_get_events(watch);
    if (probe->drain) {
        char buffer[64];
        while (::read(fd, buffer, sizeof buffer) > 0) {
        }
    }
    if (probe->free_on_call) {
        probe->api->watch_free(watch);
    }
}

TEST(AvahiPoll, WatchReportsReadableData) {
    asio::io_context io;
    AsioAvahiPoll poll(io);
    Pipe pipe;
    WatchProbe probe{poll.api()};
    AvahiWatch* watch =
        poll.api()->watch_new(poll.api(), pipe.read_end(), AVAHI_WATCH_IN, on_watch, &probe);
    run(io, 20ms);
    EXPECT_EQ(probe.calls, 0);
    pipe.write("x");
    run(io, 20ms);
    EXPECT_EQ(probe.calls, 1);
    EXPECT_EQ(probe.last, AVAHI_WATCH_IN);
    EXPECT_EQ(probe.reported, AVAHI_WATCH_IN);
    pipe.write("y");
    run(io, 20ms);
    EXPECT_EQ(probe.calls, 2);
    poll.api()->watch_free(watch);
    EXPECT_EQ(poll.watch_count(), 0U);
}

TEST(AvahiPoll, DataLeftUnreadIsReportedAgain) {
    asio::io_context io;
    AsioAvahiPoll poll(io);
    Pipe pipe;
    WatchProbe probe{poll.api()};
    probe.drain = false;
    AvahiWatch* watch =
        poll.api()->watch_new(poll.api(), pipe.read_end(), AVAHI_WATCH_IN, on_watch, &probe);
    pipe.write("x");
    run(io, 20ms);
    EXPECT_GE(probe.calls, 2);  // level-triggered, as Avahi expects
    poll.api()->watch_free(watch);
}

TEST(AvahiPoll, FreeingInsideTheCallbackStopsItAndLeavesTheFdOpen) {
    asio::io_context io;
    AsioAvahiPoll poll(io);
    Pipe pipe;
    WatchProbe probe{poll.api()};
    probe.free_on_call = true;
    probe.drain = false;
    poll.api()->watch_new(poll.api(), pipe.read_end(), AVAHI_WATCH_IN, on_watch, &probe);
    pipe.write("x");
    run(io, 30ms);
    EXPECT_EQ(probe.calls, 1);
    EXPECT_EQ(poll.watch_count(), 0U);
    EXPECT_NE(::fcntl(pipe.read_end(), F_GETFD), -1);  // still Avahi's, still open
    char byte = 0;
    EXPECT_EQ(::read(pipe.read_end(), &byte, 1), 1);
}

TEST(AvahiPoll, TwoWatchesOnOneFd) {
    asio::io_context io;
    AsioAvahiPoll poll(io);
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
    WatchProbe reader{poll.api()};
    WatchProbe writer{poll.api()};
    writer.free_on_call = true;  // writable at once; freeing it must not stall the reader
    writer.drain = false;
    AvahiWatch* read_watch =
        poll.api()->watch_new(poll.api(), pair[0], AVAHI_WATCH_IN, on_watch, &reader);
    poll.api()->watch_new(poll.api(), pair[0], AVAHI_WATCH_OUT, on_watch, &writer);
    run(io, 20ms);
    EXPECT_EQ(writer.calls, 1);
    EXPECT_EQ(writer.last, AVAHI_WATCH_OUT);
    EXPECT_EQ(reader.calls, 0);
    ASSERT_EQ(::write(pair[1], "z", 1), 1);
    run(io, 20ms);
    EXPECT_EQ(reader.calls, 1);
    poll.api()->watch_free(read_watch);
    EXPECT_NE(::fcntl(pair[0], F_GETFD), -1);
    ::close(pair[0]);
    ::close(pair[1]);
}

TEST(AvahiPoll, WatchUpdateChangesTheEvents) {
    asio::io_context io;
    AsioAvahiPoll poll(io);
    Pipe pipe;
    WatchProbe probe{poll.api()};
    probe.drain = false;
    AvahiWatch* watch = poll.api()->watch_new(poll.api(), pipe.read_end(),
                                              static_cast<AvahiWatchEvent>(0), on_watch, &probe);
    pipe.write("x");
    run(io, 20ms);
    EXPECT_EQ(probe.calls, 0);
    probe.drain = true;
    poll.api()->watch_update(watch, AVAHI_WATCH_IN);
    run(io, 20ms);
    EXPECT_EQ(probe.calls, 1);
    poll.api()->watch_free(watch);
}

struct TimeoutProbe {
    const AvahiPoll* api = nullptr;
    int calls = 0;
    std::chrono::steady_clock::time_point fired{};
    bool free_on_call = false;
};

void on_timeout(AvahiTimeout* timeout, void* userdata) {
    auto* probe = static_cast<TimeoutProbe*>(userdata);
    ++probe->calls;
    probe->fired = std::chrono::steady_clock::now();
    if (probe->free_on_call) {
        probe->api->timeout_free(timeout);
    }
}

TEST(AvahiPoll, TimeoutFiresOnceAtItsWallClockTime) {
    asio::io_context io;
    AsioAvahiPoll poll(io);
    TimeoutProbe probe{poll.api()};
    const auto start = std::chrono::steady_clock::now();
    const struct timeval when = wall_clock_in(50ms);
    AvahiTimeout* timeout = poll.api()->timeout_new(poll.api(), &when, on_timeout, &probe);
    run(io, 150ms);
    EXPECT_EQ(probe.calls, 1);
    EXPECT_GE(probe.fired - start, 45ms);
    // Re-armed by an update; an update to NULL disables it.
    const struct timeval again = wall_clock_in(10ms);
    poll.api()->timeout_update(timeout, &again);
    run(io, 60ms);
    EXPECT_EQ(probe.calls, 2);
    const struct timeval later = wall_clock_in(10ms);
    poll.api()->timeout_update(timeout, &later);
    poll.api()->timeout_update(timeout, nullptr);
    run(io, 60ms);
    EXPECT_EQ(probe.calls, 2);
    poll.api()->timeout_free(timeout);
    EXPECT_EQ(poll.timeout_count(), 0U);
}

TEST(AvahiPoll, TimeoutInThePastFiresAtOnceAndMayFreeItself) {
    asio::io_context io;
    AsioAvahiPoll poll(io);
    TimeoutProbe probe{poll.api()};
    probe.free_on_call = true;
    const struct timeval past = wall_clock_in(-1000ms);
    poll.api()->timeout_new(poll.api(), &past, on_timeout, &probe);
    run(io, 20ms);
    EXPECT_EQ(probe.calls, 1);
    EXPECT_EQ(poll.timeout_count(), 0U);
}

TEST(AvahiPoll, DisabledTimeoutNeverFires) {
    asio::io_context io;
    AsioAvahiPoll poll(io);
    TimeoutProbe probe{poll.api()};
    AvahiTimeout* timeout = poll.api()->timeout_new(poll.api(), nullptr, on_timeout, &probe);
    run(io, 30ms);
    EXPECT_EQ(probe.calls, 0);
    poll.api()->timeout_free(timeout);
}

TEST(DiscoveryWithoutAvahi, ReportsNotRunningAndKeepsRetrying) {
    ::setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/atvd-test-bus", 1);
    asio::io_context io;
    std::vector<bool> states;
    int devices = 0;
    Discovery discovery(
        io, {[&](bool running) { states.push_back(running); },
             [&](std::uint64_t, const DeviceConfig&) { ++devices; }, [&](std::uint64_t) {}});
    EXPECT_NO_THROW(discovery.start());
    EXPECT_TRUE(states.empty());  // events come from the loop, not from start()
    run(io, 1200ms);
    ASSERT_EQ(states.size(), 1U);
    EXPECT_FALSE(states[0]);
    EXPECT_FALSE(discovery.running());
    EXPECT_EQ(devices, 0);
    // Still retrying: the loop has work (the retry timer) after more than a second.
    EXPECT_FALSE(io.stopped());
    discovery.stop();
    run(io, 50ms);
    EXPECT_FALSE(discovery.running());
}

}  // namespace
}  // namespace atv::discovery
