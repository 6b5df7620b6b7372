#include "atv/types.hpp"

#include "atv/error.hpp"

namespace atv {

std::string_view to_string(Protocol protocol) {
    switch (protocol) {
        case Protocol::mrp:
            return "mrp";
        case Protocol::airplay:
            return "airplay";
        case Protocol::companion:
            return "companion";
        case Protocol::dmap:
            return "dmap";
        case Protocol::raop:
            return "raop";
    }
    return "unknown";
}

std::optional<Protocol> protocol_from_string(std::string_view name) {
    for (Protocol protocol : all_protocols) {
        if (to_string(protocol) == name) {
            return protocol;
        }
    }
    return std::nullopt;
}

std::string_view to_string(PairingRequirement requirement) {
    switch (requirement) {
        case PairingRequirement::unsupported:
            return "unsupported";
        case PairingRequirement::disabled:
            return "disabled";
        case PairingRequirement::not_needed:
            return "not-needed";
        case PairingRequirement::optional:
            return "optional";
        case PairingRequirement::mandatory:
            return "mandatory";
    }
    return "unsupported";
}

std::string_view to_string(DeviceModel model) {
    switch (model) {
        case DeviceModel::unknown:
            return "Unknown";
        case DeviceModel::gen2:
            return "Gen2";
        case DeviceModel::gen3:
            return "Gen3";
        case DeviceModel::gen4:
            return "Gen4";
        case DeviceModel::gen4k:
            return "Gen4K";
        case DeviceModel::apple_tv_4k_gen2:
            return "AppleTV4KGen2";
        case DeviceModel::apple_tv_4k_gen3:
            return "AppleTV4KGen3";
        case DeviceModel::apple_tv_gen1:
            return "AppleTVGen1";
        case DeviceModel::homepod:
            return "HomePod";
        case DeviceModel::homepod_mini:
            return "HomePodMini";
        case DeviceModel::homepod_gen2:
            return "HomePodGen2";
        case DeviceModel::airport_express:
            return "AirPortExpress";
        case DeviceModel::airport_express_gen2:
            return "AirPortExpressGen2";
        case DeviceModel::music:
            return "Music";
    }
    return "Unknown";
}

std::string_view to_string(OperatingSystem os) {
    switch (os) {
        case OperatingSystem::unknown:
            return "unknown";
        case OperatingSystem::tvos:
            return "tvos";
        case OperatingSystem::legacy:
            return "legacy";
        case OperatingSystem::airportos:
            return "airportos";
        case OperatingSystem::macos:
            return "macos";
    }
    return "unknown";
}

std::string_view error_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::no_service:
            return "NoService";
        case ErrorKind::device_id_missing:
            return "DeviceIdMissing";
        case ErrorKind::not_supported:
            return "NotSupported";
        case ErrorKind::pairing_failed:
            return "PairingFailed";
        case ErrorKind::authentication_failed:
            return "AuthenticationFailed";
        case ErrorKind::connection_failed:
            return "ConnectionFailed";
        case ErrorKind::connection_lost:
            return "ConnectionLost";
        case ErrorKind::timeout:
            return "Timeout";
        case ErrorKind::back_off:
            return "BackOff";
        case ErrorKind::invalid_state:
            return "InvalidState";
        case ErrorKind::invalid_arguments:
            return "InvalidArguments";
        case ErrorKind::in_progress:
            return "InProgress";
        case ErrorKind::not_authorized:
            return "NotAuthorized";
        case ErrorKind::not_found:
            return "NotFound";
    }
    return "NotFound";
}

}  // namespace atv
