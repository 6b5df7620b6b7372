// Service records grouped into devices, incrementally: records that share an identifier (the
// MAC forms of AirPlay deviceid, RAOP name and MRP macAddress count as one), or that share an
// address and a device name, belong to one device. Each device has a key that stays the same
// for as long as any of its records is present.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "atv/device.hpp"
#include "discovery/device_rules.hpp"

namespace atv::discovery {

// The configuration of one device from its records (any order), complete_device_config applied.
DeviceConfig build_device(std::span<const ServiceRecord* const> records);

// Field-by-field equality (DeviceConfig has no operator==).
bool same_device(const DeviceConfig& a, const DeviceConfig& b);

class DeviceTable {
  public:
    struct Change {
        std::uint64_t key = 0;
        std::optional<DeviceConfig> device;  // nullopt: the device is gone
    };

    // Adds or replaces the record with this id (ids are the caller's, e.g. interface+type+name).
    void upsert(const std::string& record_id, ServiceRecord record);
    void remove(const std::string& record_id);
    // Removes every record (devices reported so far become gone).
    void clear();

    // What changed since the last call: devices that appeared or whose snapshot differs from
    // the last one returned, and devices that are gone. Unchanged devices are not listed.
    std::vector<Change> take_changes();

    [[nodiscard]] std::size_t record_count() const { return records_.size(); }
    [[nodiscard]] std::size_t device_count() const { return devices_.size(); }
    // Current snapshot of every device that has an identifier.
    [[nodiscard]] std::vector<std::pair<std::uint64_t, DeviceConfig>> devices() const;

  private:
    struct Record {
        ServiceRecord data;
        std::vector<std::string> links;
        std::uint64_t device_key = 0;
    };
    struct Device {
        std::set<std::string> members;
        DeviceConfig config;
    };

    void link(const std::string& record_id);
    void unlink(const std::string& record_id);
    void regroup(std::vector<std::string> seeds);
    std::vector<std::string> component_of(const std::string& start,
                                          std::unordered_set<std::string>& visited,
                                          std::vector<std::string>& deferred) const;
    void assign(std::vector<std::string> members, std::set<std::uint64_t>& taken,
                std::set<std::uint64_t>& involved);

    std::unordered_map<std::string, Record> records_;
    std::unordered_map<std::string, std::unordered_set<std::string>> by_link_;
    std::map<std::uint64_t, Device> devices_;
    std::map<std::uint64_t, DeviceConfig> reported_;
    std::set<std::uint64_t> dirty_;
    std::uint64_t next_key_ = 1;
};

// The keys that tie a record to others of the same device.
std::vector<std::string> link_keys(const ServiceRecord& record);

}  // namespace atv::discovery
