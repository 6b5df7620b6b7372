// Publishes a set of DNS-SD services through the local avahi-daemon, from Avahi's own thread
// (a threaded poll is enough for a test double). Callbacks run on that thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

struct AvahiClient;
struct AvahiEntryGroup;
struct AvahiThreadedPoll;

namespace atv::fakes {

struct PublishedService {
    std::string instance_name;
    std::string type;  // e.g. "_mediaremotetv._tcp"
    std::uint16_t port = 0;
    std::vector<std::string> txt;  // "key=value"
};

class AvahiPublisher {
  public:
    using Established = std::function<void()>;
    using Failed = std::function<void(const std::string& reason)>;

    AvahiPublisher(std::vector<PublishedService> services, Established on_established,
                   Failed on_failure);
    AvahiPublisher(const AvahiPublisher&) = delete;
    AvahiPublisher& operator=(const AvahiPublisher&) = delete;
    // Withdraws the services and stops the thread.
    ~AvahiPublisher();

    // Connects to avahi-daemon and starts publishing; throws std::runtime_error when the
    // daemon cannot be reached.
    void start();

  private:
    static void on_client_state(AvahiClient* client, int state, void* self);
    static void on_group_state(AvahiEntryGroup* group, int state, void* self);
    void publish(AvahiClient* client);

    std::vector<PublishedService> services_;
    Established on_established_;
    Failed on_failure_;
    AvahiThreadedPoll* poll_ = nullptr;
    AvahiClient* client_ = nullptr;
    AvahiEntryGroup* group_ = nullptr;
};

// Which Apple TV the services describe.
enum class AppleTvShape : std::uint8_t {
    tvos13,   // Apple TV 4K (AppleTV6,2, tvOS 13.3 / build 17K795): MRP, AirPlay 1 features
    tvos15,   // Apple TV 4K 2nd gen (AppleTV11,1, tvOS 15.1 / 19J572): no MRP, AirPlay 2
    homepod,  // HomePod mini (AudioAccessory5,1, 15.4): AirPlay 2 and RAOP only
};

// The services of an Apple TV named `name`, with MRP on `mrp_port` (tvOS 13 only).
// `mac` is "AA:BB:CC:DD:EE:FF"; `public_key_hex` the accessory's LTPK.
std::vector<PublishedService> apple_tv_services(const std::string& name, const std::string& mac,
                                                const std::string& unique_identifier,
                                                const std::string& public_key_hex,
                                                std::uint16_t mrp_port,
                                                AppleTvShape shape = AppleTvShape::tvos13);

// The `_touch-able._tcp` service of an Apple TV 3 speaking DMAP on `port`; its identifier
// (the instance name) is the MAC's 12 hex digits after four zeros.
PublishedService dmap_service(const std::string& name, const std::string& mac, std::uint16_t port);

}  // namespace atv::fakes
