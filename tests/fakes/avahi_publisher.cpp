#include "avahi_publisher.hpp"

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/error.h>
#include <avahi-common/strlst.h>
#include <avahi-common/thread-watch.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace atv::fakes {

namespace {

// Default ports of services the fake announces; fake-atv replaces them with the ports it serves.
constexpr std::uint16_t airplay_port = 7000;
constexpr std::uint16_t companion_port = 49153;

struct ShapeFacts {
    const char* features;
    const char* model;
    const char* os_version;
    const char* build_version;
};

constexpr ShapeFacts tvos13_facts{"0x5A7FFFF7,0x1E", "AppleTV6,2", "13.3", "17K795"};
// AirPlay 2 features (bits 38 and 48: HAP pairing and the MRP tunnel); no MRP service.
constexpr ShapeFacts tvos15_facts{"0x4A7FDFD5,0xBC157FDE", "AppleTV11,1", "15.1", "19J572"};
// A HomePod mini: AirPlay 2 with transient pairing, no MRP and no Companion pairing.
constexpr ShapeFacts homepod_facts{"0x4A7FCA00,0xBC354BD0", "AudioAccessory5,1", "15.4", "19L440"};

const char* const status_flags = "0x244";

std::string without_colons(std::string text) {
    text.erase(std::remove(text.begin(), text.end(), ':'), text.end());
    return text;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

}  // namespace

std::vector<PublishedService> apple_tv_services(const std::string& name, const std::string& mac,
                                                const std::string& unique_identifier,
                                                const std::string& public_key_hex,
                                                std::uint16_t mrp_port, AppleTvShape shape) {
    const ShapeFacts& facts = shape == AppleTvShape::tvos15    ? tvos15_facts
                              : shape == AppleTvShape::homepod ? homepod_facts
                                                               : tvos13_facts;
    const char* const features = facts.features;
    const char* const model = facts.model;
    const char* const os_version = facts.os_version;
    const char* const build_version = facts.build_version;
    std::vector<PublishedService> services;
    if (shape == AppleTvShape::tvos13) {
        services.push_back({name,
                            "_mediaremotetv._tcp",
                            mrp_port,
                            {"ModelName=Apple TV", "AllowPairing=YES", "macAddress=" + lower(mac),
                             "BluetoothAddress=" + lower(mac), "Name=" + name,
                             "UniqueIdentifier=" + unique_identifier,
                             std::string("SystemBuildVersion=") + build_version,
                             "LocalAirPlayReceiverPairingIdentity=" + unique_identifier}});
    }
    services.push_back(
        {name,
         "_airplay._tcp",
         airplay_port,
         {"acl=0", "deviceid=" + mac, std::string("features=") + features,
          std::string("flags=") + status_flags, std::string("model=") + model,
          "pi=" + lower(unique_identifier), "psi=" + unique_identifier, "pk=" + public_key_hex,
          "protovers=1.1", "srcvers=415.3", std::string("osvers=") + os_version, "vv=2"}});
    if (shape != AppleTvShape::homepod) {
        services.push_back(
            {name,
             "_companion-link._tcp",
             companion_port,
             {"rpMac=2", "rpHN=" + lower(without_colons(mac)), "rpFl=0x36782",
              "rpHA=" + lower(without_colons(mac)), std::string("rpMd=") + model, "rpVr=195.2",
              "rpAD=" + lower(without_colons(mac)), "rpHI=" + lower(without_colons(mac)),
              "rpBA=" + mac, "rpMRtID=" + unique_identifier}});
    }
    services.push_back({without_colons(mac) + "@" + name,
                        "_raop._tcp",
                        airplay_port,
                        {"cn=0,1,2,3", "da=true", "et=0,3,5", std::string("ft=") + features,
                         std::string("sf=") + status_flags, "md=0,1,2", std::string("am=") + model,
                         "pk=" + public_key_hex, "tp=UDP", "vn=65537", "vs=415.3",
                         std::string("ov=") + os_version, "vv=2"}});
    if (shape != AppleTvShape::homepod) {
        services.push_back({name, "_device-info._tcp", 0, {"model=J105aAP"}});
    }
    return services;
}

PublishedService dmap_service(const std::string& name, const std::string& mac, std::uint16_t port) {
    return {"0000" + without_colons(mac),
            "_touch-able._tcp",
            port,
            {"CtlN=" + name, "DvTy=AppleTV", "Ver=131077", "DbId=" + without_colons(mac) + "0000",
             "txtvers=1", "OSsi=0x1F6"}};
}

AvahiPublisher::AvahiPublisher(std::vector<PublishedService> services, Established on_established,
                               Failed on_failure)
    : services_(std::move(services)),
      on_established_(std::move(on_established)),
      on_failure_(std::move(on_failure)) {}

AvahiPublisher::~AvahiPublisher() {
    if (poll_ != nullptr) {
        avahi_threaded_poll_stop(poll_);
    }
    if (client_ != nullptr) {
        avahi_client_free(client_);  // also frees the entry group
    }
    if (poll_ != nullptr) {
        avahi_threaded_poll_free(poll_);
    }
}

void AvahiPublisher::start() {
    poll_ = avahi_threaded_poll_new();
    if (poll_ == nullptr) {
        throw std::runtime_error("could not create the Avahi poll");
    }
    int error = 0;
    client_ = avahi_client_new(
        avahi_threaded_poll_get(poll_), AVAHI_CLIENT_IGNORE_USER_CONFIG,
        [](AvahiClient* client, AvahiClientState state, void* self) {
            on_client_state(client, static_cast<int>(state), self);
        },
        this, &error);
    if (client_ == nullptr) {
        throw std::runtime_error(std::string("avahi-daemon is not reachable (") +
                                 avahi_strerror(error) + "); start it or use --no-publish");
    }
    if (avahi_threaded_poll_start(poll_) < 0) {
        throw std::runtime_error("could not start the Avahi thread");
    }
}

void AvahiPublisher::on_client_state(AvahiClient* client, int state, void* self) {
    auto* publisher = static_cast<AvahiPublisher*>(self);
    if (state == AVAHI_CLIENT_S_RUNNING) {
        publisher->publish(client);
    } else if (state == AVAHI_CLIENT_FAILURE) {
        publisher->on_failure_(std::string("the connection to avahi-daemon failed: ") +
                               avahi_strerror(avahi_client_errno(client)));
    }
}

void AvahiPublisher::on_group_state(AvahiEntryGroup* group, int state, void* self) {
    auto* publisher = static_cast<AvahiPublisher*>(self);
    if (state == AVAHI_ENTRY_GROUP_ESTABLISHED) {
        publisher->on_established_();
    } else if (state == AVAHI_ENTRY_GROUP_COLLISION) {
        publisher->on_failure_(
            "another host already publishes a service of this name; pick "
            "another --name");
    } else if (state == AVAHI_ENTRY_GROUP_FAILURE) {
        publisher->on_failure_(
            std::string("publishing failed: ") +
            avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(group))));
    }
}

void AvahiPublisher::publish(AvahiClient* client) {
    if (group_ == nullptr) {
        group_ = avahi_entry_group_new(
            client,
            [](AvahiEntryGroup* group, AvahiEntryGroupState state, void* self) {
                on_group_state(group, static_cast<int>(state), self);
            },
            this);
        if (group_ == nullptr) {
            on_failure_("could not create an Avahi entry group");
            return;
        }
    }
    if (!avahi_entry_group_is_empty(group_)) {
        return;
    }
    for (const auto& service : services_) {
        AvahiStringList* txt = nullptr;
        for (const auto& item : service.txt) {
            txt = avahi_string_list_add(txt, item.c_str());
        }
        const int result = avahi_entry_group_add_service_strlst(
            group_, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, static_cast<AvahiPublishFlags>(0),
            service.instance_name.c_str(), service.type.c_str(), nullptr, nullptr, service.port,
            txt);
        avahi_string_list_free(txt);
        if (result < 0) {
            on_failure_("could not add " + service.type + ": " + avahi_strerror(result));
            return;
        }
    }
    if (const int result = avahi_entry_group_commit(group_); result < 0) {
        on_failure_(std::string("could not publish: ") + avahi_strerror(result));
    }
}

}  // namespace atv::fakes
