#include "arguments.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "bus_errors.hpp"

namespace atvd {

namespace {

std::vector<std::string> string_list(const std::string& key, const sdbus::Variant& value) {
    try {
        return value.get<std::vector<std::string>>();
    } catch (const sdbus::Error&) {
        throw bus_error(atv::ErrorKind::invalid_arguments,
                        "filter key '" + key + "' must be of type 'as'");
    }
}

template <typename T>
T option_value(const std::string& key, const sdbus::Variant& value, const char* type_name) {
    try {
        return value.get<T>();
    } catch (const sdbus::Error&) {
        throw bus_error(atv::ErrorKind::invalid_arguments,
                        "option '" + key + "' must be of type '" + type_name + "'");
    }
}

bool is_digits(const std::string& text) {
    return !text.empty() && text.size() <= 16 && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

}  // namespace

bool is_ip_address(const std::string& text) {
    // inet_pton reads a C string: "10.0.0.1\0junk" must not pass as 10.0.0.1.
    if (text.find('\0') != std::string::npos) {
        return false;
    }
    in6_addr buffer{};
    return inet_pton(AF_INET, text.c_str(), &buffer) == 1 ||
           inet_pton(AF_INET6, text.c_str(), &buffer) == 1;
}

ScanFilter parse_scan_filter(const std::map<std::string, sdbus::Variant>& filter,
                             std::chrono::milliseconds default_timeout) {
    ScanFilter parsed;
    parsed.timeout = default_timeout;
    for (const auto& [key, value] : filter) {
        if (key == "Identifiers") {
            parsed.identifiers = string_list(key, value);
        } else if (key == "Hosts") {
            parsed.hosts = string_list(key, value);
            for (const std::string& host : parsed.hosts) {
                if (!is_ip_address(host)) {
                    throw bus_error(atv::ErrorKind::invalid_arguments,
                                    "'" + host + "' in Hosts is not an IPv4 or IPv6 address");
                }
            }
        } else if (key == "Protocols") {
            for (const std::string& name : string_list(key, value)) {
                parsed.protocols.insert(protocol_argument(name));
            }
        } else if (key == "Timeout") {
            try {
                parsed.timeout = std::chrono::milliseconds(value.get<std::uint32_t>());
            } catch (const sdbus::Error&) {
                throw bus_error(atv::ErrorKind::invalid_arguments,
                                "filter key 'Timeout' must be of type 'u' (milliseconds)");
            }
        } else {
            throw bus_error(
                atv::ErrorKind::invalid_arguments,
                "unknown filter key '" + key + "' (known: Identifiers, Hosts, Protocols, Timeout)");
        }
    }
    return parsed;
}

PairOptions parse_pair_options(const std::map<std::string, sdbus::Variant>& options) {
    PairOptions parsed;
    for (const auto& [key, value] : options) {
        if (key == "Name") {
            parsed.pairing.name = option_value<std::string>(key, value, "s");
        } else if (key == "PairingGuid") {
            parsed.pairing.pairing_guid = option_value<std::string>(key, value, "s");
        } else if (key == "Timeout") {
            const auto ms = option_value<std::uint32_t>(key, value, "u");
            if (ms == 0) {
                throw bus_error(atv::ErrorKind::invalid_arguments,
                                "option 'Timeout' must be greater than zero");
            }
            parsed.timeout = std::chrono::milliseconds(ms);
        } else {
            throw bus_error(atv::ErrorKind::invalid_arguments,
                            "unknown option '" + key + "' (known: Name, PairingGuid, Timeout)");
        }
    }
    return parsed;
}

atv::Protocol protocol_argument(const std::string& name) {
    auto protocol = atv::protocol_from_string(name);
    if (!protocol) {
        throw bus_error(
            atv::ErrorKind::invalid_arguments,
            "unknown protocol '" + name + "' (known: mrp, airplay, companion, dmap, raop)");
    }
    return *protocol;
}

void check_pin(const std::string& pin) {
    if (!is_digits(pin)) {
        throw bus_error(atv::ErrorKind::invalid_arguments,
                        "a PIN is made of digits only (1 to 16 of them)");
    }
}

}  // namespace atvd
