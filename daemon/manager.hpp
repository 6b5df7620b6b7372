// org.atvd.Manager1 and the ObjectManager at /org/atvd: the set of devices, fed by continuous
// discovery, unicast scans, manual configuration and the secrets store.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "arguments.hpp"
#include "atv/discovery.hpp"
#include "context.hpp"
#include "device_object.hpp"
#include "org.atvd.Manager1.adaptor.h"

namespace atvd {

// The object name of a device under /org/atvd/devices: its identifier with every character
// outside [A-Za-z0-9] replaced by '_', prefixed with "d_" when it starts with a digit.
std::string device_object_name(std::string_view identifier);

class Manager final
    : public sdbus::AdaptorInterfaces<org::atvd::Manager1_adaptor, sdbus::ObjectManager_adaptor,
                                      sdbus::Properties_adaptor>,
      public DeviceOwner {
  public:
    static constexpr const char* object_path = "/org/atvd";

    explicit Manager(Context& context);
    ~Manager() override;
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;

    // Devices paired earlier get their objects (and stable paths) back at start-up.
    void restore(const std::vector<atv::StoredDevice>& stored);

    // Discovery events.
    void discovery_state(bool running);
    void discovered(std::uint64_t key, const atv::DeviceConfig& config);
    void discovery_lost(std::uint64_t key);

    [[nodiscard]] std::size_t device_count() const { return devices_.size(); }
    asio::awaitable<void> shut_down();

  private:
    void Scan(sdbus::Result<std::vector<sdbus::ObjectPath>>&& result,
              std::map<std::string, sdbus::Variant> filter) override;
    void AddDevice(sdbus::Result<sdbus::ObjectPath>&& result, std::string address, std::string name,
                   std::vector<sdbus::Struct<std::string, uint16_t, std::string,
                                             std::map<std::string, std::string>, std::string>>
                       services) override;
    asio::awaitable<sdbus::ObjectPath> store_manual_credentials(
        std::shared_ptr<DeviceObject> device, atv::CredentialsMap credentials);
    void RemoveDevice(sdbus::Result<>&& result, sdbus::ObjectPath device) override;
    std::string Version() override;
    bool Discovering() override { return discovering_; }
    std::vector<std::string> Protocols() override;

    void device_expired(DeviceObject& device) override;

    asio::awaitable<std::vector<sdbus::ObjectPath>> scan(ScanFilter filter);
    asio::awaitable<std::vector<sdbus::ObjectPath>> unicast_scan(const ScanFilter& filter);
    std::vector<sdbus::ObjectPath> matching(const ScanFilter& filter) const;
    asio::awaitable<void> wait_for_change(std::chrono::steady_clock::time_point deadline);
    void notify_change();
    void settle(std::uint64_t key);

    std::shared_ptr<DeviceObject> find_by_identifiers(
        const std::vector<std::string>& identifiers) const;
    std::shared_ptr<DeviceObject> create_device(const std::string& identifier,
                                                DeviceObject::Origin origin);
    std::shared_ptr<DeviceObject> upsert(const atv::DeviceConfig& config,
                                         std::optional<std::uint64_t> key);
    std::string unique_path(const std::string& identifier) const;
    asio::awaitable<void> remove_device(std::shared_ptr<DeviceObject> device);

    Context& context_;
    std::map<std::string, std::shared_ptr<DeviceObject>> devices_;  // by object path
    std::map<std::uint64_t, std::weak_ptr<DeviceObject>> by_key_;
    std::map<std::uint64_t, atv::DeviceConfig> snapshots_;  // the latest of each discovery key
    std::map<std::uint64_t, std::unique_ptr<asio::steady_timer>>
        settling_;  // new, not exported yet
    bool discovering_ = false;
    std::chrono::steady_clock::time_point discovering_since_;
    std::vector<std::weak_ptr<asio::steady_timer>> waiters_;
};

}  // namespace atvd
