// What each mDNS service type means: protocol, identifier, device name, device facts and
// pairing requirements (protocols.md §1.1, §1.5, §2).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "atv/device.hpp"
#include "atv/types.hpp"

namespace atv::discovery {

enum class ServiceKind : std::uint8_t {
    mrp,
    airplay,
    companion,
    raop,
    dmap_touchable,
    dmap_appletv_v2,
    dmap_hscp,
    device_info,
    sleep_proxy,
    airport,
};

struct ServiceType {
    std::string_view name;  // "_airplay._tcp", without domain
    ServiceKind kind;
    std::optional<Protocol> protocol;  // none for the helper types
};

// Every browsed type, in the order queries list them (device-info and sleep-proxy first).
std::span<const ServiceType> service_types();

// "_airplay._tcp", "_airplay._tcp.local" or "_airplay._tcp.local." (any case).
std::optional<ServiceType> find_service_type(std::string_view type);

// One resolved mDNS service, as seen on the network.
struct ServiceRecord {
    ServiceKind kind = ServiceKind::mrp;
    std::string instance_name;
    std::string address;  // IPv4 as text; empty when unknown
    std::uint16_t port = 0;
    Properties properties;
};

// The identifier a service contributes (empty when it has none).
std::string unique_identifier(ServiceKind kind, std::string_view instance_name,
                              const Properties& properties);

// The device name a service announces.
std::string device_name(ServiceKind kind, std::string_view instance_name,
                        const Properties& properties);

// "aabbccddeeff", "AA:BB:CC:DD:EE:FF" or "aa-bb-cc-dd-ee-ff" → "AA:BB:CC:DD:EE:FF".
std::optional<std::string> normalize_mac(std::string_view text);

DeviceModel lookup_model(std::string_view model_identifier);
DeviceModel lookup_internal_name(std::string_view internal_name);
// Build ("19J346") → version ("15.0"); unknown builds "NN<letter>…" → "(NN-4).x".
std::optional<std::string> lookup_version(std::string_view build);
// Leading number of a build ("19J346" → 19).
std::optional<int> build_major(std::string_view build);
// "MacBookPro16,1", "Mac14,2", ... (AirPlay/RAOP models of Macs).
bool is_mac_model(std::string_view model);
// "<prefix><digits>,<digits>", e.g. ("Mac14,2", "Mac").
bool is_numbered_model(std::string_view model, std::string_view prefix);

// AirPlay/RAOP flags: "sf", else "flags", as hex; 0 when absent or malformed.
std::uint64_t airplay_flags(const Properties& properties);

PairingRequirement mrp_pairing(const Properties& properties, bool enabled);
PairingRequirement airplay_pairing(const Properties& properties);
PairingRequirement raop_pairing(const Properties& raop, const Properties* airplay);
PairingRequirement companion_pairing(const Properties& properties);
PairingRequirement dmap_pairing(const Properties& properties);
bool requires_password(const Properties& properties);
// MRP is served natively only before tvOS 15 (build major < 19).
bool mrp_enabled(const Properties& properties);

// Facts from an AirPort's "wama" TXT value ("00-11-22-33-44-55,raMA=...,syVs=7.8.1,...").
struct AirportInfo {
    std::string mac_address;
    std::string version;
};
AirportInfo parse_wama(std::string_view wama);

}  // namespace atv::discovery
