// Publishes one DNS-SD service (DMAP pairing's `_touch-remote._tcp`) through avahi-daemon with
// the Avahi client on the caller's io_context, and withdraws it when destroyed.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "discovery/avahi_poll.hpp"

struct AvahiClient;
struct AvahiEntryGroup;

namespace atv::dmap {

struct ServiceAnnouncement {
    std::string instance_name;
    std::string type;  // "_touch-remote._tcp"
    std::uint16_t port = 0;
    std::vector<std::string> txt;  // "key=value"
};

class RemotePublisher {
  public:
    RemotePublisher(asio::io_context& io, ServiceAnnouncement service);
    ~RemotePublisher();
    RemotePublisher(const RemotePublisher&) = delete;
    RemotePublisher& operator=(const RemotePublisher&) = delete;

    // Returns once Avahi has established the service. Throws atv::Error(connection_failed)
    // when avahi-daemon is unreachable or refuses the service, Error(timeout) after `timeout`.
    asio::awaitable<void> publish(std::chrono::milliseconds timeout);
    // Withdraws the service (also done by the destructor). Idempotent.
    void withdraw();

    [[nodiscard]] bool established() const { return established_; }

    // Entry points of Avahi's callbacks.
    void on_client_state(AvahiClient* client, int state);
    void on_group_state(AvahiEntryGroup* group, int state);

  private:
    void add_service(AvahiClient* client);
    void fail(std::string reason);

    discovery::AsioAvahiPoll poll_;
    ServiceAnnouncement service_;
    AvahiClient* client_ = nullptr;
    AvahiEntryGroup* group_ = nullptr;
    asio::steady_timer wake_;
    bool established_ = false;
    std::string failure_;
};

}  // namespace atv::dmap
