// Unicast DNS-SD scanning of one host (protocols.md §1.2, §1.3): the socket-free state of a
// scan, and the knock that wakes a device behind a sleep proxy.
#pragma once

#include <array>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "atv/device.hpp"
#include "discovery/device_table.hpp"
#include "discovery/dns_message.hpp"
#include "support/bytes.hpp"

namespace atv::discovery {

// Ports whose TCP connections make a Bonjour sleep proxy wake its device.
inline constexpr std::array<std::uint16_t, 4> knock_ports{3689, 7000, 49152, 32498};

// Full type names ("_airplay._tcp.local") to ask for: the helper types always, protocol
// types of `protocols` (all when empty).
std::vector<std::string> query_type_names(const std::set<Protocol>& protocols);

// One host's scan: bytes in (replies), bytes out (queries), no sockets.
class HostScan {
  public:
    HostScan(std::string host_address, std::set<Protocol> protocols);

    // Query messages to send this round: the unanswered PTR queries, the service type
    // enumeration (RFC 6763 §9) until answered, plus ANY queries for the services a sleep
    // proxy named (§1.3).
    [[nodiscard]] std::vector<Bytes> messages_to_send() const;
    [[nodiscard]] std::size_t query_count() const { return queries_.size(); }

    // A datagram from the host, received at `now`; anything that is not a well-formed DNS
    // response is ignored. Returns whether it was taken.
    bool on_datagram(ByteView data,
                     std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

    // One reply per query message is in, or the host's list of service types shows that
    // none will come for it (and, for a sleeping device, one to the ANY queries).
    [[nodiscard]] bool complete() const;
    // Complete, or the host answered and then stayed quiet for `quiet_period`: responders
    // send nothing for a query message they have no records for, and they answer legacy
    // unicast queries at once, so waiting longer would only wait for the timeout. The quiet
    // period serves hosts that do not list their service types.
    [[nodiscard]] bool done(std::chrono::steady_clock::time_point now) const;
    // When done() turns true without another reply; nullopt while no reply came.
    [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> quiet_deadline() const;

    static constexpr std::chrono::milliseconds quiet_period{500};
    [[nodiscard]] bool deep_sleep() const { return deep_sleep_; }

    // Devices found so far, merged by the usual rules, complete_device_config applied.
    [[nodiscard]] std::vector<DeviceConfig> devices() const;

  private:
    void mark_answered(const dns::Message& reply, const std::vector<dns::FoundService>& found);
    // Takes the host's list of service types if `reply` is one; returns whether it was.
    bool take_type_list(const dns::Message& reply);
    void add(const dns::FoundService& service);

    std::string host_address_;
    std::set<Protocol> protocols_;
    std::vector<std::vector<std::string>> question_types_;  // lower-case type names per query
    std::vector<Bytes> queries_;
    std::vector<bool> answered_;
    Bytes type_list_query_;
    bool type_list_answered_ = false;
    std::vector<dns::Name> wake_names_;
    std::vector<Bytes> wake_queries_;
    bool wake_answered_ = false;
    bool deep_sleep_ = false;
    std::optional<std::chrono::steady_clock::time_point> last_reply_;
    std::map<std::string, ServiceRecord> records_;
};

// Opens a TCP connection to each knock port of the address (each with `timeout` − 0.2 s),
// waits 0.1 s on success and closes. Unreachable hosts end it early; other errors are ignored.
asio::awaitable<void> knock(asio::ip::address address, std::chrono::milliseconds timeout);

}  // namespace atv::discovery
