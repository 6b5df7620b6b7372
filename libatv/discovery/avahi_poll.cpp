#include "discovery/avahi_poll.hpp"

#include <poll.h>
#include <sys/time.h>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>

// Avahi leaves these two types to the poll implementation.
struct AvahiWatch {
    AvahiWatch(std::shared_ptr<atv::discovery::AsioAvahiPoll::Descriptor> shared, int fd)
        : shared(std::move(shared)), fd(fd) {}
    atv::discovery::AsioAvahiPoll* owner = nullptr;
    std::shared_ptr<atv::discovery::AsioAvahiPoll::Descriptor> shared;
    int fd;
    AvahiWatchEvent wanted = static_cast<AvahiWatchEvent>(0);
    AvahiWatchEvent happened = static_cast<AvahiWatchEvent>(0);
    AvahiWatchCallback callback = nullptr;
    void* userdata = nullptr;
    bool alive = true;
    bool read_pending = false;
    bool write_pending = false;
    bool dispatch_posted = false;
};

struct AvahiTimeout {
    explicit AvahiTimeout(asio::io_context& io) : timer(io) {}
    atv::discovery::AsioAvahiPoll* owner = nullptr;
    asio::steady_timer timer;
    AvahiTimeoutCallback callback = nullptr;
    void* userdata = nullptr;
    bool alive = true;
    std::uint64_t generation = 0;  // a fired wait of an older schedule is ignored
};

namespace atv::discovery {

// libdbus watches one fd twice (reading, writing) and epoll takes an fd only once, so the
// watches of one fd share one descriptor.
struct AsioAvahiPoll::Descriptor {
    Descriptor(asio::io_context& io, int fd) : descriptor(io, fd) {}
    asio::posix::stream_descriptor descriptor;
    std::size_t users = 0;
};

namespace {

AsioAvahiPoll* owner_of(const AvahiPoll* api) {
    return static_cast<AsioAvahiPoll*>(api->userdata);
}

short poll_flags(AvahiWatchEvent events) {
    short flags = 0;
    if ((events & AVAHI_WATCH_IN) != 0)
        flags |= POLLIN;
    if ((events & AVAHI_WATCH_OUT) != 0)
        flags |= POLLOUT;
    return flags;
}

AvahiWatchEvent avahi_events(short revents) {
    int events = 0;
    if ((revents & POLLIN) != 0)
        events |= AVAHI_WATCH_IN;
    if ((revents & POLLOUT) != 0)
        events |= AVAHI_WATCH_OUT;
    if ((revents & POLLERR) != 0)
        events |= AVAHI_WATCH_ERR;
    if ((revents & POLLHUP) != 0)
        events |= AVAHI_WATCH_HUP;
    return static_cast<AvahiWatchEvent>(events);
}

// What the fd offers right now, without waiting.
AvahiWatchEvent ready_events(int fd, AvahiWatchEvent wanted) {
    pollfd entry{fd, poll_flags(wanted), 0};
    if (entry.events == 0 || ::poll(&entry, 1, 0) <= 0) {
        return static_cast<AvahiWatchEvent>(0);
    }
    return avahi_events(entry.revents);
}

std::chrono::microseconds until(const struct timeval& when) {
    struct timeval now {};
    ::gettimeofday(&now, nullptr);
    const auto delta = std::chrono::seconds(when.tv_sec - now.tv_sec) +
                       std::chrono::microseconds(when.tv_usec - now.tv_usec);
    return std::max(std::chrono::microseconds(0), delta);
}

AvahiWatch* watch_new(const AvahiPoll* api, int fd, AvahiWatchEvent events,
                      AvahiWatchCallback callback, void* userdata) {
    return owner_of(api)->new_watch(fd, events, callback, userdata);
}

void watch_update(AvahiWatch* watch, AvahiWatchEvent events) {
    watch->wanted = events;
    watch->owner->arm(watch);
}

AvahiWatchEvent watch_get_events(AvahiWatch* watch) {
    return watch->happened;
}

void watch_free(AvahiWatch* watch) {
    watch->owner->free_watch(watch);
}

AvahiTimeout* timeout_new(const AvahiPoll* api, const struct timeval* when,
                          AvahiTimeoutCallback callback, void* userdata) {
    return owner_of(api)->new_timeout(when, callback, userdata);
}

void timeout_update(AvahiTimeout* timeout, const struct timeval* when) {
    timeout->owner->schedule(timeout, when);
}

void timeout_free(AvahiTimeout* timeout) {
    timeout->owner->free_timeout(timeout);
}

}  // namespace

AsioAvahiPoll::AsioAvahiPoll(asio::io_context& io) : io_(io) {
    api_.userdata = this;
    api_.watch_new = watch_new;
    api_.watch_update = watch_update;
    api_.watch_get_events = watch_get_events;
    api_.watch_free = watch_free;
    api_.timeout_new = timeout_new;
    api_.timeout_update = timeout_update;
    api_.timeout_free = timeout_free;
}

AsioAvahiPoll::~AsioAvahiPoll() {
    while (!watches_.empty()) {
        free_watch(watches_.begin()->first);
    }
    while (!timeouts_.empty()) {
        free_timeout(timeouts_.begin()->first);
    }
}

AvahiWatch* AsioAvahiPoll::new_watch(int fd, AvahiWatchEvent events, AvahiWatchCallback callback,
                                     void* userdata) {
    auto& shared = descriptors_[fd];
    if (!shared) {
        shared = std::make_shared<Descriptor>(io_, fd);
    }
    ++shared->users;
    auto watch = std::make_shared<AvahiWatch>(shared, fd);
    watch->owner = this;
    watch->wanted = events;
    watch->callback = callback;
    watch->userdata = userdata;
    watches_.emplace(watch.get(), watch);
    arm(watch.get());
    return watch.get();
}

void AsioAvahiPoll::free_watch(AvahiWatch* watch) {
    const auto found = watches_.find(watch);
    if (found == watches_.end()) {
        return;
    }
    watch->alive = false;
    // Cancelling wakes the other watch of this fd too; its handler re-arms it.
    std::error_code ignored;
    watch->shared->descriptor.cancel(ignored);
    if (--watch->shared->users == 0) {
        // Hands the fd back without closing it: it belongs to Avahi.
        (void)watch->shared->descriptor.release();
        descriptors_.erase(watch->fd);
    }
    watches_.erase(found);  // pending handlers still hold the object until they run
}

void AsioAvahiPoll::arm(AvahiWatch* handle) {
    const auto found = watches_.find(handle);
    if (found == watches_.end() || !found->second->alive) {
        return;
    }
    const std::shared_ptr<AvahiWatch>& watch = found->second;
    // Edge-triggered readiness may already have been reported: look before waiting.
    if (ready_events(watch->fd, watch->wanted) != 0) {
        if (!watch->dispatch_posted) {
            watch->dispatch_posted = true;
            asio::post(io_, [this, watch] {
                watch->dispatch_posted = false;
                dispatch(watch);
            });
        }
        return;
    }
    if ((watch->wanted & AVAHI_WATCH_IN) != 0 && !watch->read_pending) {
        watch->read_pending = true;
        watch->shared->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                             [this, watch](std::error_code error) {
                                                 watch->read_pending = false;
                                                 on_wait(watch, error);
                                             });
    }
    if ((watch->wanted & AVAHI_WATCH_OUT) != 0 && !watch->write_pending) {
        watch->write_pending = true;
        watch->shared->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                             [this, watch](std::error_code error) {
                                                 watch->write_pending = false;
                                                 on_wait(watch, error);
                                             });
    }
}

void AsioAvahiPoll::on_wait(const std::shared_ptr<AvahiWatch>& watch, std::error_code error) {
    if (!watch->alive) {
        return;
    }
    if (error) {
        arm(watch.get());  // cancelled on behalf of another watch of the same fd
    } else {
        dispatch(watch);
    }
}

void AsioAvahiPoll::dispatch(const std::shared_ptr<AvahiWatch>& watch) {
    if (!watch->alive) {
        return;
    }
    const AvahiWatchEvent events = ready_events(watch->fd, watch->wanted);
    if (events != 0) {
        watch->happened = events;
        watch->callback(watch.get(), watch->fd, events, watch->userdata);
        watch->happened = static_cast<AvahiWatchEvent>(0);
    }
    if (watch->alive) {
        arm(watch.get());
    }
}

AvahiTimeout* AsioAvahiPoll::new_timeout(const struct timeval* when, AvahiTimeoutCallback callback,
                                         void* userdata) {
    auto timeout = std::make_shared<AvahiTimeout>(io_);
    timeout->owner = this;
    timeout->callback = callback;
    timeout->userdata = userdata;
    timeouts_.emplace(timeout.get(), timeout);
    schedule(timeout.get(), when);
    return timeout.get();
}

void AsioAvahiPoll::free_timeout(AvahiTimeout* timeout) {
    const auto found = timeouts_.find(timeout);
    if (found == timeouts_.end()) {
        return;
    }
    timeout->alive = false;
    timeout->timer.cancel();
    timeouts_.erase(found);
}

void AsioAvahiPoll::schedule(AvahiTimeout* handle, const struct timeval* when) {
    const auto found = timeouts_.find(handle);
    if (found == timeouts_.end()) {
        return;
    }
    const std::shared_ptr<AvahiTimeout>& timeout = found->second;
    const std::uint64_t generation = ++timeout->generation;
    timeout->timer.cancel();
    if (when == nullptr) {
        return;
    }
    timeout->timer.expires_after(until(*when));
    timeout->timer.async_wait([timeout, generation](std::error_code error) {
        if (error || !timeout->alive || timeout->generation != generation) {
            return;
        }
        timeout->callback(timeout.get(), timeout->userdata);
    });
}

}  // namespace atv::discovery
