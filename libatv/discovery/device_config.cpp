// complete_device_config: the rules of protocols.md §1.5 and §2 applied to a configuration.
#include <array>

#include "atv/discovery.hpp"
#include "discovery/device_rules.hpp"

namespace atv {

namespace {

using discovery::normalize_mac;

void set_once(std::string& field, std::optional<std::string_view> value) {
    if (field.empty() && value && !value->empty()) {
        field = *value;
    }
}

void set_once(std::optional<OperatingSystem>& field, OperatingSystem value) {
    if (!field) {
        field = value;
    }
}

void set_once(DeviceModel& field, DeviceModel value) {
    if (field == DeviceModel::unknown) {
        field = value;
    }
}

std::optional<std::string> mac_from(const Properties& properties, std::string_view key) {
    const auto text = get_property(properties, key);
    return text ? normalize_mac(*text) : std::nullopt;
}

void set_model_once(DeviceInfo& info, std::optional<std::string_view> model) {
    set_once(info.model_identifier, model);
    if (model) {
        set_once(info.model, discovery::lookup_model(*model));
    }
}

OperatingSystem os_from_model(DeviceModel model) {
    switch (model) {
        case DeviceModel::airport_express:
        case DeviceModel::airport_express_gen2:
            return OperatingSystem::airportos;
        case DeviceModel::unknown:
        case DeviceModel::music:
            return OperatingSystem::unknown;
        default:
            return OperatingSystem::tvos;
    }
}

// Extractors run in discovery order (AirPlay, Companion, DMAP, MRP, RAOP); first writer wins.
DeviceInfo derive_device_info(const DeviceConfig& config) {
    static constexpr std::array order{Protocol::airplay, Protocol::companion, Protocol::dmap,
                                      Protocol::mrp, Protocol::raop};
    DeviceInfo info;
    std::optional<OperatingSystem> os;
    for (Protocol protocol : order) {
        const ServiceConfig* service = config.service(protocol);
        if (service == nullptr) {
            continue;
        }
        const Properties& properties = service->properties;
        switch (protocol) {
            case Protocol::airplay:
            case Protocol::raop: {
                const auto model =
                    get_property(properties, protocol == Protocol::airplay ? "model" : "am");
                set_model_once(info, model);
                if (model && discovery::is_mac_model(*model)) {
                    set_once(os, OperatingSystem::macos);
                }
                set_once(info.version,
                         get_property(properties, protocol == Protocol::airplay ? "osvers" : "ov"));
                if (protocol == Protocol::airplay) {
                    set_once(info.mac_address, mac_from(properties, "deviceid"));
                }
                break;
            }
            case Protocol::companion:
                set_model_once(info, get_property(properties, "rpMd"));
                break;
            case Protocol::dmap:
                if (get_property(properties, "Machine ID") ||
                    get_property(properties, "Machine Name")) {
                    set_once(info.model, DeviceModel::music);
                }
                set_once(os, OperatingSystem::legacy);
                break;
            case Protocol::mrp:
                set_once(info.build_number, get_property(properties, "SystemBuildVersion"));
                set_once(info.mac_address, mac_from(properties, "macAddress"));
                set_once(os, OperatingSystem::tvos);
                break;
        }
    }
    // Hints set by whoever built the configuration (_device-info model, AirPort wama).
    set_once(info.model, config.info.model);
    set_once(info.model_identifier, config.info.model_identifier);
    set_once(info.version, config.info.version);
    set_once(info.build_number, config.info.build_number);
    set_once(info.mac_address, config.info.mac_address);
    if (info.version.empty() && !info.build_number.empty()) {
        set_once(info.version, discovery::lookup_version(info.build_number));
    }
    info.os = os.value_or(os_from_model(info.model));
    if (info.os == OperatingSystem::unknown) {
        info.os = config.info.os;
    }
    return info;
}

}  // namespace

void complete_device_config(DeviceConfig& config) {
    const ServiceConfig* airplay = config.service(Protocol::airplay);
    for (ServiceConfig& service : config.services) {
        const Properties& properties = service.properties;
        service.enabled = true;
        service.requires_password = false;
        switch (service.protocol) {
            case Protocol::mrp:
                service.enabled = discovery::mrp_enabled(properties);
                service.pairing = discovery::mrp_pairing(properties, service.enabled);
                break;
            case Protocol::airplay:
                service.pairing = discovery::airplay_pairing(properties);
                service.requires_password = discovery::requires_password(properties);
                break;
            case Protocol::raop:
                service.pairing = discovery::raop_pairing(
                    properties, airplay != nullptr ? &airplay->properties : nullptr);
                service.requires_password = discovery::requires_password(properties);
                break;
            case Protocol::companion:
                service.pairing = discovery::companion_pairing(properties);
                break;
            case Protocol::dmap:
                service.pairing = discovery::dmap_pairing(properties);
                break;
        }
    }
    config.info = derive_device_info(config);
}

}  // namespace atv
