#include "atv/device.hpp"

#include <algorithm>
#include <array>

namespace atv {

std::optional<std::string> DeviceConfig::identifier() const {
    static constexpr std::array priority{Protocol::mrp, Protocol::dmap, Protocol::airplay,
                                         Protocol::raop, Protocol::companion};
    for (Protocol protocol : priority) {
        const ServiceConfig* found = service(protocol);
        if (found != nullptr && !found->identifier.empty()) {
            return found->identifier;
        }
    }
    return std::nullopt;
}

std::vector<std::string> DeviceConfig::all_identifiers() const {
    std::vector<std::string> identifiers;
    for (const ServiceConfig& entry : services) {
        if (!entry.identifier.empty() &&
            std::find(identifiers.begin(), identifiers.end(), entry.identifier) ==
                identifiers.end()) {
            identifiers.push_back(entry.identifier);
        }
    }
    return identifiers;
}

const ServiceConfig* DeviceConfig::service(Protocol protocol) const {
    auto found = std::find_if(services.begin(), services.end(),
                              [protocol](const ServiceConfig& s) { return s.protocol == protocol; });
    return found == services.end() ? nullptr : &*found;
}

ServiceConfig* DeviceConfig::service(Protocol protocol) {
    const auto* self = this;
    return const_cast<ServiceConfig*>(self->service(protocol));
}

}  // namespace atv
