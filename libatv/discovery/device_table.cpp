#include "discovery/device_table.hpp"

#include <algorithm>
#include <cctype>

#include "atv/discovery.hpp"
#include "discovery/txt.hpp"

namespace atv::discovery {

namespace {

// Position of a kind when records are ordered: protocol services in discovery order first,
// so that the first one fixes the device name and address, then the helper types.
int kind_rank(ServiceKind kind) {
    switch (kind) {
        case ServiceKind::airplay:
            return 0;
        case ServiceKind::companion:
            return 1;
        case ServiceKind::dmap_appletv_v2:
            return 2;
        case ServiceKind::dmap_touchable:
            return 3;
        case ServiceKind::dmap_hscp:
            return 4;
        case ServiceKind::mrp:
            return 5;
        case ServiceKind::raop:
            return 6;
        case ServiceKind::device_info:
            return 7;
        case ServiceKind::airport:
            return 8;
        case ServiceKind::sleep_proxy:
            return 9;
    }
    return 10;
}

std::optional<Protocol> protocol_of(ServiceKind kind) {
    for (const ServiceType& type : service_types()) {
        if (type.kind == kind) {
            return type.protocol;
        }
    }
    return std::nullopt;
}

std::string lower(std::string_view text) {
    std::string result(text);
    for (char& c : result) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return result;
}

std::string identifier_link(std::string_view identifier) {
    if (auto mac = normalize_mac(identifier)) {
        return "mac:" + *mac;
    }
    std::string key = "id:";
    for (char c : identifier) {
        key += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return key;
}

void merge_into(ServiceConfig& first, const ServiceRecord& newcomer) {
    for (const auto& [key, value] : newcomer.properties) {
        if (!get_property(first.properties, key)) {
            first.properties.emplace(key, value);
        }
    }
}

bool same_services(const std::vector<ServiceConfig>& a, const std::vector<ServiceConfig>& b) {
    return std::equal(
        a.begin(), a.end(), b.begin(), b.end(), [](const ServiceConfig& x, const ServiceConfig& y) {
            return x.protocol == y.protocol && x.port == y.port && x.identifier == y.identifier &&
                   x.properties == y.properties && x.pairing == y.pairing &&
                   x.requires_password == y.requires_password && x.enabled == y.enabled &&
                   x.instance_name == y.instance_name;
        });
}

void apply_hints(DeviceConfig& config, const ServiceRecord& record) {
    if (record.kind == ServiceKind::device_info) {
        const auto model = get_property(record.properties, "model");
        if (model && config.info.model == DeviceModel::unknown) {
            config.info.model = lookup_internal_name(*model);
            if (config.info.model_identifier.empty()) {
                config.info.model_identifier = *model;
            }
        }
    } else if (record.kind == ServiceKind::airport) {
        const auto wama = get_property(record.properties, "wama");
        if (wama) {
            const AirportInfo airport = parse_wama(*wama);
            if (config.info.mac_address.empty()) {
                config.info.mac_address = airport.mac_address;
            }
            if (config.info.version.empty()) {
                config.info.version = airport.version;
            }
        }
    }
}

}  // namespace

std::vector<std::string> link_keys(const ServiceRecord& record) {
    std::vector<std::string> keys;
    const std::string identifier =
        unique_identifier(record.kind, record.instance_name, record.properties);
    if (!identifier.empty()) {
        keys.push_back(identifier_link(identifier));
    }
    if (record.kind == ServiceKind::mrp) {
        if (const auto mac = get_property(record.properties, "macAddress")) {
            if (auto normalized = normalize_mac(*mac)) {
                keys.push_back("mac:" + *normalized);
            }
        }
    }
    if (record.kind == ServiceKind::airport) {
        if (const auto wama = get_property(record.properties, "wama")) {
            const AirportInfo airport = parse_wama(*wama);
            if (!airport.mac_address.empty()) {
                keys.push_back("mac:" + airport.mac_address);
            }
        }
    }
    const std::string name = device_name(record.kind, record.instance_name, record.properties);
    if (!record.address.empty() && !name.empty()) {
        keys.push_back("at:" + record.address + '\n' + name);
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
}

DeviceConfig build_device(std::span<const ServiceRecord* const> records) {
    std::vector<const ServiceRecord*> ordered(records.begin(), records.end());
    std::sort(ordered.begin(), ordered.end(), [](const ServiceRecord* a, const ServiceRecord* b) {
        const int rank_a = kind_rank(a->kind);
        const int rank_b = kind_rank(b->kind);
        if (rank_a != rank_b) {
            return rank_a < rank_b;
        }
        if (a->instance_name != b->instance_name) {
            return a->instance_name < b->instance_name;
        }
        return a->address < b->address;
    });

    DeviceConfig config;
    bool any_port = false;
    bool any_non_proxy = false;
    for (const ServiceRecord* record : ordered) {
        if (record->kind != ServiceKind::sleep_proxy) {
            any_non_proxy = true;
            any_port = any_port || record->port != 0;
        }
    }
    // A device in deep sleep announces every service with port 0: they are kept, port 0 and
    // all, so that it keeps its identity while asleep (connecting wakes it first). Otherwise a
    // service without a port is one nobody can reach.
    const bool asleep = any_non_proxy && !any_port;
    for (const ServiceRecord* record : ordered) {
        apply_hints(config, *record);
        const auto protocol = protocol_of(record->kind);
        if (!protocol || (record->port == 0 && !asleep) || record->address.empty()) {
            continue;
        }
        if (config.name.empty()) {
            config.name = device_name(record->kind, record->instance_name, record->properties);
            config.address = record->address;
        }
        if (ServiceConfig* existing = config.service(*protocol)) {
            merge_into(*existing, *record);
            continue;
        }
        ServiceConfig service;
        service.protocol = *protocol;
        service.port = record->port;
        service.identifier =
            unique_identifier(record->kind, record->instance_name, record->properties);
        service.properties = record->properties;
        service.instance_name = record->instance_name;
        config.services.push_back(std::move(service));
    }
    config.deep_sleep = asleep;
    complete_device_config(config);
    return config;
}

bool same_device(const DeviceConfig& a, const DeviceConfig& b) {
    const auto& x = a.info;
    const auto& y = b.info;
    return a.name == b.name && a.address == b.address && a.deep_sleep == b.deep_sleep &&
           x.model == y.model && x.model_identifier == y.model_identifier && x.os == y.os &&
           x.version == y.version && x.build_number == y.build_number &&
           x.mac_address == y.mac_address && same_services(a.services, b.services);
}

void DeviceTable::link(const std::string& record_id) {
    for (const std::string& key : records_.at(record_id).links) {
        by_link_[key].insert(record_id);
    }
}

void DeviceTable::unlink(const std::string& record_id) {
    for (const std::string& key : records_.at(record_id).links) {
        auto found = by_link_.find(key);
        if (found != by_link_.end()) {
            found->second.erase(record_id);
            if (found->second.empty()) {
                by_link_.erase(found);
            }
        }
    }
}

void DeviceTable::upsert(const std::string& record_id, ServiceRecord record) {
    std::vector<std::string> seeds{record_id};
    auto found = records_.find(record_id);
    if (found != records_.end()) {
        unlink(record_id);
        found->second.data = std::move(record);
        found->second.links = link_keys(found->second.data);
    } else {
        Record entry;
        entry.links = link_keys(record);
        entry.data = std::move(record);
        records_.emplace(record_id, std::move(entry));
    }
    link(record_id);
    regroup(std::move(seeds));
}

void DeviceTable::remove(const std::string& record_id) {
    auto found = records_.find(record_id);
    if (found == records_.end()) {
        return;
    }
    std::vector<std::string> seeds;
    const std::uint64_t key = found->second.device_key;
    unlink(record_id);
    records_.erase(found);
    if (key != 0) {
        auto device = devices_.find(key);
        if (device != devices_.end()) {
            device->second.members.erase(record_id);
            seeds.assign(device->second.members.begin(), device->second.members.end());
            if (seeds.empty()) {
                devices_.erase(device);
                dirty_.insert(key);
            }
        }
    }
    regroup(std::move(seeds));
}

void DeviceTable::clear() {
    for (const auto& [key, device] : devices_) {
        dirty_.insert(key);
    }
    devices_.clear();
    records_.clear();
    by_link_.clear();
}

// Records reachable through shared links, except that a device holds one service instance
// per type: a second instance of a type (another name) belongs to another device even when
// some identifier ties them (two devices announcing the same id, or a renamed device whose
// old records have not expired yet). Such records are left to `deferred`.
std::vector<std::string> DeviceTable::component_of(const std::string& start,
                                                   std::unordered_set<std::string>& visited,
                                                   std::vector<std::string>& deferred) const {
    std::map<ServiceKind, std::string> instances;
    const auto fits = [&](const Record& record) {
        const std::string instance = lower(record.data.instance_name);
        const auto [existing, added] = instances.emplace(record.data.kind, instance);
        return added || existing->second == instance;
    };
    std::vector<std::string> members{start};
    visited.insert(start);
    fits(records_.at(start));
    for (std::size_t i = 0; i < members.size(); ++i) {
        const Record& record = records_.at(members[i]);
        for (const std::string& key : record.links) {
            for (const std::string& other : by_link_.at(key)) {
                if (visited.count(other) != 0) {
                    continue;
                }
                if (fits(records_.at(other))) {
                    visited.insert(other);
                    members.push_back(other);
                } else {
                    deferred.push_back(other);
                }
            }
        }
    }
    return members;
}

// Recomputes the devices of the seeds and of every device any of them touches.
void DeviceTable::regroup(std::vector<std::string> seeds) {
    std::unordered_set<std::string> visited;
    std::set<std::uint64_t> expanded;
    std::vector<std::vector<std::string>> components;
    while (!seeds.empty()) {
        const std::string seed = std::move(seeds.back());
        seeds.pop_back();
        if (visited.count(seed) != 0 || records_.count(seed) == 0) {
            continue;
        }
        components.push_back(component_of(seed, visited, seeds));
        for (const std::string& member : components.back()) {
            const std::uint64_t key = records_.at(member).device_key;
            if (key != 0 && expanded.insert(key).second) {
                const auto device = devices_.find(key);
                if (device != devices_.end()) {
                    seeds.insert(seeds.end(), device->second.members.begin(),
                                 device->second.members.end());
                }
            }
        }
    }
    std::set<std::uint64_t> taken;
    for (auto& members : components) {
        assign(std::move(members), taken, expanded);
    }
    // Keys of old devices that no component kept.
    for (std::uint64_t key : expanded) {
        if (taken.count(key) == 0) {
            devices_.erase(key);
            dirty_.insert(key);
        }
    }
}

void DeviceTable::assign(std::vector<std::string> members, std::set<std::uint64_t>& taken,
                         std::set<std::uint64_t>& involved) {
    std::vector<const ServiceRecord*> data;
    std::uint64_t key = 0;
    for (const std::string& member : members) {
        const Record& record = records_.at(member);
        data.push_back(&record.data);
        const std::uint64_t old = record.device_key;
        if (old != 0 && taken.count(old) == 0 && (key == 0 || old < key)) {
            key = old;
        }
    }
    DeviceConfig config = build_device(data);
    if (!config.ready()) {
        for (const std::string& member : members) {
            records_.at(member).device_key = 0;
        }
        return;
    }
    if (key == 0) {
        key = next_key_++;
    }
    taken.insert(key);
    involved.insert(key);
    Device& device = devices_[key];
    device.members = std::set<std::string>(members.begin(), members.end());
    device.config = std::move(config);
    for (const std::string& member : members) {
        records_.at(member).device_key = key;
    }
    dirty_.insert(key);
}

std::vector<DeviceTable::Change> DeviceTable::take_changes() {
    std::vector<Change> changes;
    for (std::uint64_t key : dirty_) {
        const auto device = devices_.find(key);
        const auto reported = reported_.find(key);
        if (device != devices_.end()) {
            if (reported == reported_.end() ||
                !same_device(reported->second, device->second.config)) {
                reported_[key] = device->second.config;
                changes.push_back({key, device->second.config});
            }
        } else if (reported != reported_.end()) {
            reported_.erase(reported);
            changes.push_back({key, std::nullopt});
        }
    }
    dirty_.clear();
    return changes;
}

std::vector<std::pair<std::uint64_t, DeviceConfig>> DeviceTable::devices() const {
    std::vector<std::pair<std::uint64_t, DeviceConfig>> result;
    for (const auto& [key, device] : devices_) {
        result.emplace_back(key, device.config);
    }
    return result;
}

}  // namespace atv::discovery
