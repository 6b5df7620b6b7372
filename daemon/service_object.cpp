#include "service_object.hpp"

#include "properties.hpp"

namespace atvd {

ServiceObject::ServiceObject(BusLoop& loop, sdbus::IConnection& bus, std::string path,
                             atv::ServiceConfig config, bool paired)
    : AdaptorInterfaces(bus, std::move(path)),
      loop_(loop),
      config_(std::move(config)),
      paired_(paired) {
    registerAdaptor();
    emit_signal(loop_, getObject().getObjectPath(), [this] {
        emitInterfacesAddedSignal({org::atvd::Service1_adaptor::INTERFACE_NAME});
    });
}

ServiceObject::~ServiceObject() {
    emit_signal(loop_, getObject().getObjectPath(), [this] {
        emitInterfacesRemovedSignal({org::atvd::Service1_adaptor::INTERFACE_NAME});
    });
    unregisterAdaptor();
}

void ServiceObject::update(const atv::ServiceConfig& config, bool paired) {
    ChangedProperties changed;
    changed.note("Port", config_.port, config.port);
    changed.note("Identifier", config_.identifier, config.identifier);
    changed.note("Pairing", config_.pairing, config.pairing);
    changed.note("Paired", paired_, paired);
    changed.note("Enabled", config_.enabled, config.enabled);
    changed.note("Properties", config_.properties, config.properties);
    config_ = config;
    paired_ = paired;
    changed.emit(loop_, getObject(), org::atvd::Service1_adaptor::INTERFACE_NAME);
}

std::string ServiceObject::Protocol() {
    return std::string(atv::to_string(config_.protocol));
}

std::string ServiceObject::Pairing() {
    return std::string(atv::to_string(config_.pairing));
}

}  // namespace atvd
