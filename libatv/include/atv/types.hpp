// Vocabulary shared by every part of libatv and by its users.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace atv {

enum class Protocol : std::uint8_t { mrp, airplay, companion, dmap, raop };

inline constexpr std::array all_protocols{Protocol::mrp, Protocol::airplay, Protocol::companion,
                                          Protocol::dmap, Protocol::raop};

// Lower-case names used everywhere a protocol is named (D-Bus paths, files, logs).
std::string_view to_string(Protocol protocol);
std::optional<Protocol> protocol_from_string(std::string_view name);

enum class PairingRequirement : std::uint8_t {
    unsupported,
    disabled,
    not_needed,
    optional,
    mandatory
};

// "unsupported", "disabled", "not-needed", "optional", "mandatory".
std::string_view to_string(PairingRequirement requirement);

enum class DeviceModel : std::uint8_t {
    unknown,
    gen2,
    gen3,
    gen4,
    gen4k,
    apple_tv_4k_gen2,
    apple_tv_4k_gen3,
    apple_tv_gen1,
    homepod,
    homepod_mini,
    homepod_gen2,
    airport_express,
    airport_express_gen2,
    music,
};

// The names pyatv uses ("Gen4K", "AppleTV4KGen2", "HomePodMini", ...).
std::string_view to_string(DeviceModel model);

enum class OperatingSystem : std::uint8_t { unknown, tvos, legacy, airportos, macos };

// "tvos", "legacy", "airportos", "macos", "unknown".
std::string_view to_string(OperatingSystem os);

}  // namespace atv
