#include "atv/device.hpp"

#include <algorithm>
#include <array>

namespace atv {

namespace {

constexpr std::array identifier_priority{Protocol::mrp, Protocol::dmap, Protocol::airplay,
                                         Protocol::raop, Protocol::companion};

}  // namespace

std::optional<std::string> DeviceConfig::identifier() const {
    for (Protocol protocol : identifier_priority) {
        const ServiceConfig* found = service(protocol);
        if (found != nullptr && !found->identifier.empty()) {
            return found->identifier;
        }
    }
    return std::nullopt;
}

bool DeviceConfig::identifier_is_final() const {
    const ServiceConfig* first = service(identifier_priority.front());
    return first != nullptr && !first->identifier.empty();
}

std::vector<std::string> DeviceConfig::all_identifiers() const {
    std::vector<std::string> identifiers;
    for (const ServiceConfig& entry : services) {
        if (!entry.identifier.empty() && std::find(identifiers.begin(), identifiers.end(),
                                                   entry.identifier) == identifiers.end()) {
            identifiers.push_back(entry.identifier);
        }
    }
    return identifiers;
}

const ServiceConfig* DeviceConfig::service(Protocol protocol) const {
    auto found = std::find_if(services.begin(), services.end(), [protocol](const ServiceConfig& s) {
        return s.protocol == protocol;
    });
    return found == services.end() ? nullptr : &*found;
}

ServiceConfig* DeviceConfig::service(Protocol protocol) {
    const auto* self = this;
    return const_cast<ServiceConfig*>(self->service(protocol));
}

}  // namespace atv
