// Validation of what D-Bus callers send: the scan filter, Pair options, protocol names and PINs.
// Kept apart from the objects (no bus, no loop) so that tests and fuzz targets can call it.
// Every function throws sdbus::Error org.atvd.Error.InvalidArguments with a message naming the
// culprit.
#pragma once

#include <sdbus-c++/Types.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "atv/pairing.hpp"
#include "atv/types.hpp"

namespace atvd {

struct ScanFilter {
    std::vector<std::string> identifiers;
    std::vector<std::string> hosts;
    std::set<atv::Protocol> protocols;
    std::chrono::milliseconds timeout{3000};
};

// Throws InvalidArguments naming the key for an unknown key or a value of the wrong type.
ScanFilter parse_scan_filter(const std::map<std::string, sdbus::Variant>& filter,
                             std::chrono::milliseconds default_timeout);

struct PairOptions {
    atv::PairingOptions pairing;
    std::optional<std::chrono::milliseconds> timeout;
};

// Device1.Pair's options: Name (s), PairingGuid (s), Timeout (u, > 0).
PairOptions parse_pair_options(const std::map<std::string, sdbus::Variant>& options);

// A protocol name as the API spells it (mrp, airplay, companion, dmap, raop).
atv::Protocol protocol_argument(const std::string& name);

// An IPv4 or IPv6 address in text form (no host names: atvd never resolves them).
bool is_ip_address(const std::string& text);

// Pairing1.Pin's argument: 1 to 16 decimal digits.
void check_pin(const std::string& pin);

}  // namespace atvd
