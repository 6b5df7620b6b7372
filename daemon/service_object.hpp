// org.atvd.Service1 at /org/atvd/devices/<ID>/<protocol>.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include "atv/device.hpp"
#include "bus_loop.hpp"
#include "org.atvd.Service1.adaptor.h"

namespace atvd {

class ServiceObject final
    : public sdbus::AdaptorInterfaces<org::atvd::Service1_adaptor, sdbus::ManagedObject_adaptor,
                                      sdbus::Properties_adaptor> {
  public:
    ServiceObject(BusLoop& loop, sdbus::IConnection& bus, std::string path,
                  atv::ServiceConfig config, bool paired);
    ~ServiceObject();
    ServiceObject(const ServiceObject&) = delete;
    ServiceObject& operator=(const ServiceObject&) = delete;

    // Emits PropertiesChanged for what differs.
    void update(const atv::ServiceConfig& config, bool paired);
    [[nodiscard]] const atv::ServiceConfig& config() const { return config_; }

  private:
    std::string Protocol() override;
    uint16_t Port() override { return config_.port; }
    std::string Identifier() override { return config_.identifier; }
    std::string Pairing() override;
    bool Paired() override { return paired_; }
    bool Enabled() override { return config_.enabled; }
    std::map<std::string, std::string> Properties() override { return config_.properties; }

    BusLoop& loop_;
    atv::ServiceConfig config_;
    bool paired_;
};

}  // namespace atvd
