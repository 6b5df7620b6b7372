// Finding devices: continuous discovery through Avahi, unicast DNS-SD scans of given hosts,
// and the rules that turn announced services into a device configuration.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "atv/device.hpp"
#include "atv/types.hpp"

namespace atv {

// A TXT property by key, ignoring the key's case.
std::optional<std::string_view> get_property(const Properties& properties, std::string_view key);

// Fills every service's pairing requirement, password flag and enabled flag, and the device
// info, from the services' properties (protocols.md §1.5, §2). Fields of `info` that the
// properties do not determine keep the values they had (hints such as a _device-info model).
void complete_device_config(DeviceConfig& config);

struct DiscoveryEvents {
    // Avahi reachable and browsing (true) or not (false).
    std::function<void(bool running)> on_state;
    // A device appeared or changed: a full snapshot with complete_device_config applied.
    std::function<void(std::uint64_t key, const DeviceConfig&)> on_device;
    // Every service of the device is gone; the key is not used again.
    std::function<void(std::uint64_t key)> on_device_gone;
};

// Continuous discovery on the caller's event loop (no threads). Events are delivered from the
// loop, never from inside start() or stop().
class Discovery {
  public:
    Discovery(asio::io_context& io, DiscoveryEvents events);
    ~Discovery();
    Discovery(const Discovery&) = delete;
    Discovery& operator=(const Discovery&) = delete;

    // Never throws when Avahi is absent: keeps retrying (backoff ≤ 2 s), on_state(false).
    void start();
    // Frees every Avahi object; devices are reported gone.
    void stop();
    [[nodiscard]] bool running() const;

    class Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

// Asks each host by unicast DNS-SD (port `port`, normally 5353) for the services of every
// known type, knocking on the usual ports to wake a sleeping device. Hosts are scanned in
// parallel; a host is done as soon as every query message got a reply, or at `timeout`.
// `protocols` empty means all; otherwise only those services are kept. Throws
// atv::Error(invalid_arguments) for a host that is not an IPv4 or IPv6 address.
asio::awaitable<std::vector<DeviceConfig>> unicast_scan(std::vector<std::string> hosts,
                                                        std::set<Protocol> protocols,
                                                        std::chrono::milliseconds timeout,
                                                        std::uint16_t port = 5353);

}  // namespace atv
