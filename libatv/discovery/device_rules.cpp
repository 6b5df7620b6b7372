#include "discovery/device_rules.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "atv/discovery.hpp"

namespace atv::discovery {

namespace {

constexpr std::array<ServiceType, 10> types{{
    {"_device-info._tcp", ServiceKind::device_info, std::nullopt},
    {"_sleep-proxy._udp", ServiceKind::sleep_proxy, std::nullopt},
    {"_airplay._tcp", ServiceKind::airplay, Protocol::airplay},
    {"_airport._tcp", ServiceKind::airport, std::nullopt},
    {"_companion-link._tcp", ServiceKind::companion, Protocol::companion},
    {"_appletv-v2._tcp", ServiceKind::dmap_appletv_v2, Protocol::dmap},
    {"_touch-able._tcp", ServiceKind::dmap_touchable, Protocol::dmap},
    {"_hscp._tcp", ServiceKind::dmap_hscp, Protocol::dmap},
    {"_mediaremotetv._tcp", ServiceKind::mrp, Protocol::mrp},
    {"_raop._tcp", ServiceKind::raop, Protocol::raop},
}};

struct ModelEntry {
    std::string_view name;
    DeviceModel model;
};

constexpr std::array<ModelEntry, 14> model_table{{
    {"AirPort4,107", DeviceModel::airport_express},
    {"AirPort10,115", DeviceModel::airport_express_gen2},
    {"AppleTV1,1", DeviceModel::apple_tv_gen1},
    {"AppleTV2,1", DeviceModel::gen2},
    {"AppleTV3,1", DeviceModel::gen3},
    {"AppleTV3,2", DeviceModel::gen3},
    {"AppleTV5,3", DeviceModel::gen4},
    {"AppleTV6,2", DeviceModel::gen4k},
    {"AppleTV11,1", DeviceModel::apple_tv_4k_gen2},
    {"AppleTV14,1", DeviceModel::apple_tv_4k_gen3},
    {"AudioAccessory1,1", DeviceModel::homepod},
    {"AudioAccessory1,2", DeviceModel::homepod},
    {"AudioAccessory5,1", DeviceModel::homepod_mini},
    {"AudioAccessory6,1", DeviceModel::homepod_gen2},
}};

constexpr std::array<ModelEntry, 7> internal_name_table{{
    {"K66AP", DeviceModel::gen2},
    {"J33AP", DeviceModel::gen3},
    {"J33IAP", DeviceModel::gen3},
    {"J42dAP", DeviceModel::gen4},
    {"J105aAP", DeviceModel::gen4k},
    {"J305AP", DeviceModel::apple_tv_4k_gen2},
    {"J255AP", DeviceModel::apple_tv_4k_gen3},
}};

struct VersionEntry {
    std::string_view build;
    std::string_view version;
};

// Known tvOS builds; other builds fall back to "(major-4).x".
constexpr std::array<VersionEntry, 39> version_table{{
    {"17J586", "13.0"},   {"17K82", "13.2"},    {"17K449", "13.3"},   {"17K795", "13.3.1"},
    {"17L256", "13.4"},   {"17L562", "13.4.5"}, {"17L570", "13.4.6"}, {"17M61", "13.4.8"},
    {"18J386", "14.0"},   {"18J400", "14.0.1"}, {"18J411", "14.0.2"}, {"18K57", "14.2"},
    {"18K561", "14.3"},   {"18K802", "14.4"},   {"18L204", "14.5"},   {"18L569", "14.6"},
    {"18M60", "14.7"},    {"19J346", "15.0"},   {"19J572", "15.1"},   {"19J581", "15.1.1"},
    {"19K53", "15.2"},    {"19K547", "15.3"},   {"19L440", "15.4"},   {"19L452", "15.4.1"},
    {"19L570", "15.5"},   {"19L580", "15.5.1"}, {"19M65", "15.6"},    {"20J373", "16.0"},
    {"20K71", "16.1"},    {"20K80", "16.1.1"},  {"20K362", "16.2"},   {"20K650", "16.3"},
    {"20K661", "16.3.1"}, {"20K672", "16.3.2"}, {"20K680", "16.3.3"}, {"20L497", "16.4"},
    {"20L498", "16.4.1"}, {"20L563", "16.5"},   {"22J580", "18.1"},
}};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string property_or(const Properties& properties, std::string_view key,
                        std::string_view fallback = {}) {
    return std::string(get_property(properties, key).value_or(fallback));
}

bool property_equals(const Properties& properties, std::string_view key, std::string_view value) {
    const auto found = get_property(properties, key);
    return found.has_value() && *found == value;
}

std::optional<std::uint64_t> parse_hex(std::string_view text) {
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text.remove_prefix(2);
    }
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::string_view before(std::string_view text, char separator) {
    return text.substr(0, text.find(separator));
}

std::string_view after(std::string_view text, char separator) {
    const std::size_t at = text.find(separator);
    return at == std::string_view::npos ? text : text.substr(at + 1);
}

}  // namespace

std::span<const ServiceType> service_types() {
    return types;
}

std::optional<ServiceType> find_service_type(std::string_view type) {
    if (!type.empty() && type.back() == '.') {
        type.remove_suffix(1);
    }
    constexpr std::string_view local = ".local";
    if (type.size() > local.size() &&
        equals_ignoring_case(type.substr(type.size() - local.size()), local)) {
        type.remove_suffix(local.size());
    }
    for (const ServiceType& entry : types) {
        if (equals_ignoring_case(entry.name, type)) {
            return entry;
        }
    }
    return std::nullopt;
}

std::string unique_identifier(ServiceKind kind, std::string_view instance_name,
                              const Properties& properties) {
    switch (kind) {
        case ServiceKind::mrp:
            return property_or(properties, "UniqueIdentifier");
        case ServiceKind::airplay:
            return property_or(properties, "deviceid");
        case ServiceKind::companion:
            return property_or(properties, "rpMRtID");
        case ServiceKind::raop:
            if (instance_name.find('@') != std::string_view::npos) {
                return std::string(before(instance_name, '@'));
            }
            return property_or(properties, "pk");
        case ServiceKind::dmap_touchable:
        case ServiceKind::dmap_appletv_v2:
            return std::string(before(instance_name, '_'));
        case ServiceKind::dmap_hscp:
            return property_or(properties, "Machine ID");
        case ServiceKind::device_info:
        case ServiceKind::sleep_proxy:
        case ServiceKind::airport:
            return {};
    }
    return {};
}

std::string device_name(ServiceKind kind, std::string_view instance_name,
                        const Properties& properties) {
    switch (kind) {
        case ServiceKind::mrp:
            return property_or(properties, "Name", "Unknown");
        case ServiceKind::raop:
            return std::string(after(instance_name, '@'));
        case ServiceKind::dmap_touchable:
            return property_or(properties, "CtlN", instance_name);
        case ServiceKind::dmap_appletv_v2:
            return property_or(properties, "Name", instance_name);
        case ServiceKind::dmap_hscp:
            return property_or(properties, "Machine Name", instance_name);
        case ServiceKind::sleep_proxy:
            return std::string(after(instance_name, ' '));
        case ServiceKind::airplay:
        case ServiceKind::companion:
        case ServiceKind::device_info:
        case ServiceKind::airport:
            return std::string(instance_name);
    }
    return std::string(instance_name);
}

std::optional<std::string> normalize_mac(std::string_view text) {
    std::string digits;
    if (text.size() == 12) {
        digits = text;
    } else if (text.size() == 17) {
        const char separator = text[2];
        if (separator != ':' && separator != '-') {
            return std::nullopt;
        }
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (i % 3 == 2) {
                if (text[i] != separator) {
                    return std::nullopt;
                }
            } else {
                digits += text[i];
            }
        }
    } else {
        return std::nullopt;
    }
    std::string mac;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (std::isxdigit(static_cast<unsigned char>(digits[i])) == 0) {
            return std::nullopt;
        }
        if (i > 0 && i % 2 == 0) {
            mac += ':';
        }
        mac += static_cast<char>(std::toupper(static_cast<unsigned char>(digits[i])));
    }
    return mac;
}

DeviceModel lookup_model(std::string_view model_identifier) {
    for (const ModelEntry& entry : model_table) {
        if (entry.name == model_identifier) {
            return entry.model;
        }
    }
    return DeviceModel::unknown;
}

DeviceModel lookup_internal_name(std::string_view internal_name) {
    for (const ModelEntry& entry : internal_name_table) {
        if (entry.name == internal_name) {
            return entry.model;
        }
    }
    return DeviceModel::unknown;
}

std::optional<int> build_major(std::string_view build) {
    int major = 0;
    const auto [end, error] = std::from_chars(build.data(), build.data() + build.size(), major);
    if (error != std::errc{} || end == build.data()) {
        return std::nullopt;
    }
    return major;
}

std::optional<std::string> lookup_version(std::string_view build) {
    for (const VersionEntry& entry : version_table) {
        if (entry.build == build) {
            return std::string(entry.version);
        }
    }
    // "NN" followed by an upper-case letter: tvOS NN-4 (17A… is tvOS 13).
    std::size_t digits = 0;
    while (digits < build.size() && std::isdigit(static_cast<unsigned char>(build[digits])) != 0) {
        ++digits;
    }
    if (digits == 0 || digits > 6 || digits >= build.size() || build[digits] < 'A' ||
        build[digits] > 'Z') {
        return std::nullopt;
    }
    const auto major = build_major(build);
    if (!major) {
        return std::nullopt;
    }
    return std::to_string(*major - 4) + ".x";
}

// "<prefix><digits>,<digits>".
bool is_numbered_model(std::string_view model, std::string_view prefix) {
    if (!model.starts_with(prefix)) {
        return false;
    }
    const std::string_view rest = model.substr(prefix.size());
    const std::size_t comma = rest.find(',');
    const auto all_digits = [](std::string_view part) {
        return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0;
        });
    };
    return comma != std::string_view::npos && all_digits(rest.substr(0, comma)) &&
           all_digits(rest.substr(comma + 1));
}

bool is_mac_model(std::string_view model) {
    static constexpr std::array<std::string_view, 6> prefixes{"MacBookAir", "iMac",   "Macmini",
                                                              "MacBookPro", "MacPro", "Mac"};
    return std::any_of(prefixes.begin(), prefixes.end(), [model](std::string_view prefix) {
        return is_numbered_model(model, prefix);
    });
}

std::uint64_t airplay_flags(const Properties& properties) {
    auto text = get_property(properties, "sf");
    if (!text) {
        text = get_property(properties, "flags");
    }
    return text ? parse_hex(*text).value_or(0) : 0;
}

bool mrp_enabled(const Properties& properties) {
    const auto build = get_property(properties, "SystemBuildVersion");
    if (!build) {
        return true;
    }
    const auto major = build_major(*build);
    return !major || *major < 19;
}

PairingRequirement mrp_pairing(const Properties& properties, bool enabled) {
    if (!enabled) {
        return PairingRequirement::not_needed;
    }
    const auto allow = get_property(properties, "AllowPairing");
    if (allow && equals_ignoring_case(*allow, "yes")) {
        return PairingRequirement::optional;
    }
    return PairingRequirement::disabled;
}

PairingRequirement airplay_pairing(const Properties& properties) {
    if (property_equals(properties, "acl", "1")) {
        return PairingRequirement::disabled;
    }
    const auto model = get_property(properties, "model");
    if (model && is_numbered_model(*model, "Mac")) {
        return PairingRequirement::unsupported;
    }
    const std::uint64_t flags = airplay_flags(properties);
    if ((flags & 0x200) != 0 || (flags & 0x8) != 0) {
        return PairingRequirement::mandatory;
    }
    if (property_equals(properties, "act", "2")) {
        return PairingRequirement::unsupported;
    }
    return PairingRequirement::not_needed;
}

PairingRequirement raop_pairing(const Properties& raop, const Properties* airplay) {
    if (airplay != nullptr) {
        if (property_equals(*airplay, "acl", "1")) {
            return PairingRequirement::disabled;
        }
        if (property_equals(*airplay, "act", "2")) {
            return PairingRequirement::unsupported;
        }
    }
    return airplay_pairing(raop);
}

PairingRequirement companion_pairing(const Properties& properties) {
    const auto text = get_property(properties, "rpFl");
    const std::uint64_t flags = text ? parse_hex(*text).value_or(0) : 0;
    if ((flags & 0x04) != 0) {
        return PairingRequirement::disabled;
    }
    if ((flags & 0x4000) != 0) {
        return PairingRequirement::mandatory;
    }
    return PairingRequirement::unsupported;
}

PairingRequirement dmap_pairing(const Properties& properties) {
    return get_property(properties, "hG").has_value() ? PairingRequirement::optional
                                                      : PairingRequirement::mandatory;
}

bool requires_password(const Properties& properties) {
    const auto pw = get_property(properties, "pw");
    if (pw && equals_ignoring_case(*pw, "true")) {
        return true;
    }
    return (airplay_flags(properties) & 0x80) != 0;
}

AirportInfo parse_wama(std::string_view wama) {
    AirportInfo info;
    std::size_t pos = 0;
    bool first = true;
    while (pos <= wama.size()) {
        const std::size_t comma = std::min(wama.find(',', pos), wama.size());
        const std::string_view element = wama.substr(pos, comma - pos);
        if (first) {
            info.mac_address = normalize_mac(element).value_or("");
            first = false;
        } else if (element.starts_with("syVs=")) {
            info.version = element.substr(5);
        }
        pos = comma + 1;
    }
    return info;
}

}  // namespace atv::discovery
