// Avahi's event-loop abstraction (AvahiPoll) on an asio io_context, so Avahi's D-Bus traffic
// runs on the one loop: watches wait on the fd through a stream_descriptor that is released
// (never closed: the fd is Avahi's) when the watch is freed; timeouts are steady timers.
#pragma once

#include <avahi-common/watch.h>

#include <asio/io_context.hpp>
#include <cstddef>
#include <map>
#include <memory>
#include <system_error>

namespace atv::discovery {

class AsioAvahiPoll {
  public:
    explicit AsioAvahiPoll(asio::io_context& io);
    ~AsioAvahiPoll();
    AsioAvahiPoll(const AsioAvahiPoll&) = delete;
    AsioAvahiPoll& operator=(const AsioAvahiPoll&) = delete;

    [[nodiscard]] const AvahiPoll* api() const { return &api_; }
    [[nodiscard]] asio::io_context& io() { return io_; }

    // Live watches and timeouts (for tests and leak checks).
    [[nodiscard]] std::size_t watch_count() const { return watches_.size(); }
    [[nodiscard]] std::size_t timeout_count() const { return timeouts_.size(); }

    // Entry points of the AvahiPoll table (public so the C callbacks can reach them).
    AvahiWatch* new_watch(int fd, AvahiWatchEvent events, AvahiWatchCallback callback,
                          void* userdata);
    void free_watch(AvahiWatch* watch);
    AvahiTimeout* new_timeout(const struct timeval* when, AvahiTimeoutCallback callback,
                              void* userdata);
    void free_timeout(AvahiTimeout* timeout);

    void arm(AvahiWatch* watch);
    void dispatch(const std::shared_ptr<AvahiWatch>& watch);
    void on_wait(const std::shared_ptr<AvahiWatch>& watch, std::error_code error);

    struct Descriptor;
    void schedule(AvahiTimeout* timeout, const struct timeval* when);

  private:
    asio::io_context& io_;
    AvahiPoll api_{};
    std::map<AvahiWatch*, std::shared_ptr<AvahiWatch>> watches_;
    std::map<int, std::shared_ptr<Descriptor>> descriptors_;
    std::map<AvahiTimeout*, std::shared_ptr<AvahiTimeout>> timeouts_;
};

}  // namespace atv::discovery
