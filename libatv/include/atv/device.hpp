// What libatv knows of a device: its services and the facts derived from them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "atv/types.hpp"

namespace atv {

// A TXT record as announced: keys keep their case, values are UTF-8 text.
using Properties = std::map<std::string, std::string>;

struct ServiceConfig {
    Protocol protocol = Protocol::mrp;
    std::uint16_t port = 0;
    std::string identifier;  // empty when the service carries none
    Properties properties;
    PairingRequirement pairing = PairingRequirement::unsupported;
    bool requires_password = false;
    bool enabled = true;
    std::string instance_name;  // mDNS instance name; empty for manual services
};

struct DeviceInfo {
    DeviceModel model = DeviceModel::unknown;
    std::string model_identifier;  // raw, e.g. "AppleTV11,1"
    OperatingSystem os = OperatingSystem::unknown;
    std::string version;
    std::string build_number;
    std::string mac_address;  // "AA:BB:CC:DD:EE:FF" or empty
};

struct DeviceConfig {
    std::string name;
    std::string address;  // current IP address as text
    bool deep_sleep = false;
    DeviceInfo info;
    std::vector<ServiceConfig> services;

    // The main identifier, picked in the order MRP, DMAP, AirPlay, RAOP, Companion.
    [[nodiscard]] std::optional<std::string> identifier() const;
    // The main identifier comes from the service of the highest priority (MRP), so no
    // service that arrives later can change it.
    [[nodiscard]] bool identifier_is_final() const;
    // One identifier per service that has one.
    [[nodiscard]] std::vector<std::string> all_identifiers() const;
    [[nodiscard]] const ServiceConfig* service(Protocol protocol) const;
    [[nodiscard]] ServiceConfig* service(Protocol protocol);
    // At least one service carries an identifier.
    [[nodiscard]] bool ready() const { return identifier().has_value(); }
};

}  // namespace atv
