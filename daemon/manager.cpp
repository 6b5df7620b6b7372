#include "manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cctype>
#include <functional>

#include "atvd-config.h"
#include "bus_errors.hpp"
#include "logging.hpp"
#include "properties.hpp"

namespace atvd {

namespace {

std::string short_hash(std::string_view text) {
    // FNV-1a: stable across runs and builds, which std::hash does not promise.
    std::uint32_t hash = 2166136261U;
    for (char c : text) {
        hash ^= static_cast<std::uint8_t>(c);
        hash *= 16777619U;
    }
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    for (int shift = 28; shift >= 0; shift -= 4) {
        out.push_back(digits[(hash >> shift) & 0xF]);
    }
    return out;
}

}  // namespace

std::string device_object_name(std::string_view identifier) {
    std::string name;
    name.reserve(identifier.size() + 2);
    for (char c : identifier) {
        const bool plain = std::isalnum(static_cast<unsigned char>(c)) != 0 &&
                           static_cast<unsigned char>(c) < 0x80;
        name.push_back(plain ? c : '_');
    }
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front())) != 0) {
        name.insert(0, "d_");
    }
    return name;
}

Manager::Manager(Context& context)
    : AdaptorInterfaces(context.bus, object_path), context_(context) {
    registerAdaptor();
}

Manager::~Manager() {
    devices_.clear();
    unregisterAdaptor();
}

std::string Manager::Version() {
    return ATVD_VERSION;
}

std::vector<std::string> Manager::Protocols() {
    std::vector<std::string> names;
    for (atv::Protocol protocol : atv::supported_protocols()) {
        names.emplace_back(atv::to_string(protocol));
    }
    return names;
}

void Manager::restore(const std::vector<atv::StoredDevice>& stored) {
    for (const atv::StoredDevice& entry : stored) {
        std::vector<std::string> identifiers = entry.identifiers;
        identifiers.push_back(entry.device_id);
        auto device = find_by_identifiers(identifiers);
        const bool added_by_hand = !entry.address.empty() && !entry.services.empty();
        if (!device) {
            device = create_device(entry.device_id, added_by_hand ? DeviceObject::Origin::manual
                                                                  : DeviceObject::Origin::stored);
        }
        if (added_by_hand) {
            atv::DeviceConfig config;
            config.name = entry.name;
            config.address = entry.address;
            for (const atv::StoredService& kept : entry.services) {
                atv::ServiceConfig service;
                service.protocol = kept.protocol;
                service.port = kept.port;
                service.identifier = kept.identifier;
                service.properties = kept.properties;
                config.services.push_back(std::move(service));
            }
            atv::complete_device_config(config);
            device->configure(config);
        }
        device->restore(entry);
    }
    spdlog::info("{} paired device(s) restored from {}", stored.size(),
                 context_.store.directory().string());
}

void Manager::discovery_state(bool running) {
    if (running == discovering_) {
        return;
    }
    discovering_ = running;
    if (running) {
        discovering_since_ = std::chrono::steady_clock::now();
    } else {
        for (auto& [key, weak] : by_key_) {
            if (auto device = weak.lock()) {
                device->lost_all();
            }
        }
        by_key_.clear();
        snapshots_.clear();
        settling_.clear();
    }
    ChangedProperties changed;
    changed.add("Discovering");
    changed.emit(context_.loop, getObject(), org::atvd::Manager1_adaptor::INTERFACE_NAME);
    context_.loop.kick();
    notify_change();
}

void Manager::discovered(std::uint64_t key, const atv::DeviceConfig& config) {
    snapshots_[key] = config;
    if (!config.ready()) {
        return;
    }
    const bool known = by_key_.contains(key) || find_by_identifiers(config.all_identifiers());
    // A new device waits for its other services unless its main identifier is already final.
    const bool wait =
        !known && !config.identifier_is_final() && context_.settings.new_device_settle.count() > 0;
    if (wait) {
        if (!settling_.contains(key)) {
            settle(key);
        }
        return;
    }
    settling_.erase(key);  // its timer's wait ends, aborted
    upsert(config, key);
    context_.loop.kick();
    notify_change();
}

void Manager::settle(std::uint64_t key) {
    auto timer =
        std::make_unique<asio::steady_timer>(context_.io, context_.settings.new_device_settle);
    timer->async_wait([this, key](std::error_code ec) {
        if (ec) {
            return;
        }
        settling_.erase(key);
        auto snapshot = snapshots_.find(key);
        if (snapshot != snapshots_.end() && snapshot->second.ready()) {
            upsert(snapshot->second, key);
            context_.loop.kick();
            notify_change();
        }
    });
    settling_.emplace(key, std::move(timer));
}

void Manager::discovery_lost(std::uint64_t key) {
    snapshots_.erase(key);
    settling_.erase(key);
    auto found = by_key_.find(key);
    if (found == by_key_.end()) {
        return;
    }
    if (auto device = found->second.lock()) {
        device->lost(key);
    }
    by_key_.erase(found);
    context_.loop.kick();
}

std::shared_ptr<DeviceObject> Manager::upsert(const atv::DeviceConfig& config,
                                              std::optional<std::uint64_t> key) {
    std::shared_ptr<DeviceObject> device;
    if (key) {
        if (auto known = by_key_.find(*key); known != by_key_.end()) {
            device = known->second.lock();
        }
    }
    if (!device) {
        device = find_by_identifiers(config.all_identifiers());
    }
    if (!device) {
        device = create_device(*config.identifier(), DeviceObject::Origin::discovered);
    }
    if (key) {
        by_key_[*key] = device;
    }
    device->seen(config, key);
    return device;
}

std::shared_ptr<DeviceObject> Manager::find_by_identifiers(
    const std::vector<std::string>& identifiers) const {
    for (const auto& [path, device] : devices_) {
        if (device->answers_to(identifiers)) {
            return device;
        }
    }
    return nullptr;
}

std::string Manager::unique_path(const std::string& identifier) const {
    const std::string base =
        std::string(object_path) + "/devices/" + device_object_name(identifier);
    if (!devices_.contains(base)) {
        return base;
    }
    return base + "_" + short_hash(identifier);
}

std::shared_ptr<DeviceObject> Manager::create_device(const std::string& identifier,
                                                     DeviceObject::Origin origin) {
    const std::string path = unique_path(identifier);
    auto device = std::make_shared<DeviceObject>(context_, *this, path, identifier, origin);
    devices_.emplace(path, device);
    spdlog::debug("device {} at {}", identifier, path);
    return device;
}

void Manager::device_expired(DeviceObject& device) {
    log_about(spdlog::level::debug, {device.device_id(), {}}, "device {} gone for good",
              device.device_id());
    auto found = devices_.find(device.path());
    if (found != devices_.end()) {
        auto keep = found->second;
        devices_.erase(found);
        asio::co_spawn(context_.io, keep->shut_down(),
                       [keep, this](std::exception_ptr) { context_.loop.kick(); });
    }
}

void Manager::notify_change() {
    for (auto& weak : waiters_) {
        if (auto timer = weak.lock()) {
            timer->cancel();
        }
    }
    waiters_.clear();
}

asio::awaitable<void> Manager::wait_for_change(std::chrono::steady_clock::time_point deadline) {
    auto timer = std::make_shared<asio::steady_timer>(context_.io, deadline);
    waiters_.push_back(timer);
    std::error_code ignored;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

std::vector<sdbus::ObjectPath> Manager::matching(const ScanFilter& filter) const {
    std::vector<sdbus::ObjectPath> paths;
    for (const auto& [path, device] : devices_) {
        if (!device->present()) {
            continue;
        }
        if (!filter.protocols.empty() && !device->offers_any(filter.protocols)) {
            continue;
        }
        if (!filter.identifiers.empty()) {
            if (device->answers_to(filter.identifiers)) {
                return {sdbus::ObjectPath(path)};
            }
            continue;
        }
        paths.emplace_back(path);
    }
    return paths;
}

void Manager::Scan(sdbus::Result<std::vector<sdbus::ObjectPath>>&& result,
                   std::map<std::string, sdbus::Variant> filter) {
    guarded([&] {
        ScanFilter parsed = parse_scan_filter(filter, context_.settings.default_scan_timeout);
        reply_later(context_.io, context_.loop, ReplyOwner{}, std::move(result),
                    [this, parsed = std::move(parsed)]() { return scan(parsed); });
    });
}

asio::awaitable<std::vector<sdbus::ObjectPath>> Manager::scan(ScanFilter filter) {
    if (!filter.hosts.empty()) {
        co_return co_await unicast_scan(filter);
    }
    // A scan for identifiers waits up to its timeout for one of them to appear; any other scan
    // answers from what continuous discovery knows once it has run for the timeout.
    const auto now = std::chrono::steady_clock::now();
    const auto deadline = discovering_ && filter.identifiers.empty()
                              ? std::max(now, discovering_since_ + filter.timeout)
                              : now + filter.timeout;
    while (true) {
        auto found = matching(filter);
        if (!filter.identifiers.empty() && !found.empty()) {
            co_return found;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            co_return found;
        }
        co_await wait_for_change(deadline);
    }
}

asio::awaitable<std::vector<sdbus::ObjectPath>> Manager::unicast_scan(const ScanFilter& filter) {
    auto configs = co_await atv::unicast_scan(filter.hosts, filter.protocols, filter.timeout);
    std::vector<sdbus::ObjectPath> paths;
    for (const atv::DeviceConfig& config : configs) {
        if (!config.ready()) {
            continue;
        }
        auto device = upsert(config, std::nullopt);
        if (filter.identifiers.empty() || device->answers_to(filter.identifiers)) {
            paths.emplace_back(device->path());
        }
    }
    context_.loop.kick();
    notify_change();
    if (!filter.identifiers.empty() && paths.size() > 1) {
        paths.resize(1);
    }
    co_return paths;
}

void Manager::AddDevice(sdbus::Result<sdbus::ObjectPath>&& result, std::string address,
                        std::string name,
                        std::vector<sdbus::Struct<std::string, uint16_t, std::string,
                                                  std::map<std::string, std::string>, std::string>>
                            services) {
    guarded([&] {
        context_.authorization.require_admin(current_caller(getObject()), "AddDevice");
        if (services.empty()) {
            throw bus_error(atv::ErrorKind::no_service, "a device needs at least one service");
        }
        if (!is_ip_address(address)) {
            throw bus_error(atv::ErrorKind::invalid_arguments,
                            "'" + address + "' is not an IPv4 or IPv6 address");
        }
        atv::DeviceConfig config;
        config.address = address;
        config.name = name;
        atv::CredentialsMap credentials;
        for (const auto& entry : services) {
            const std::string& protocol_name = std::get<0>(entry);
            const std::uint16_t port = std::get<1>(entry);
            const std::string& identifier = std::get<2>(entry);
            const auto& properties = std::get<3>(entry);
            const std::string& secret = std::get<4>(entry);
            const atv::Protocol protocol = protocol_argument(protocol_name);
            if (port == 0) {
                throw bus_error(atv::ErrorKind::invalid_arguments,
                                "the port of the " + protocol_name + " service must not be 0");
            }
            if (config.service(protocol) != nullptr) {
                throw bus_error(atv::ErrorKind::invalid_arguments,
                                "the " + protocol_name + " service is listed twice");
            }
            atv::ServiceConfig service;
            service.protocol = protocol;
            service.port = port;
            service.identifier = identifier;
            service.properties = properties;
            config.services.push_back(std::move(service));
            if (!secret.empty()) {
                atv::validate_credentials(protocol, secret);
                credentials[protocol] = secret;
            }
        }
        if (!config.ready()) {
            throw bus_error(atv::ErrorKind::device_id_missing,
                            "no service carries an identifier; give at least one");
        }
        atv::complete_device_config(config);
        auto device = find_by_identifiers(config.all_identifiers());
        if (!device) {
            device = create_device(*config.identifier(), DeviceObject::Origin::manual);
        }
        device->configure(config);
        // The reply waits until the credentials are durable, so that a Connect right after it
        // finds them.
        reply_later(context_.io, context_.loop, ReplyOwner{}, std::move(result),
                    [this, device, credentials = std::move(credentials)]() mutable {
                        return store_manual_credentials(device, std::move(credentials));
                    });
    });
}

asio::awaitable<sdbus::ObjectPath> Manager::store_manual_credentials(
    std::shared_ptr<DeviceObject> device, atv::CredentialsMap credentials) {
    if (credentials.empty() && device->paired()) {
        // Paired already, perhaps at another address: the record follows the device.
        co_await device->save_record();
    }
    for (auto& [protocol, secret] : credentials) {
        co_await device->store_credentials(protocol, std::move(secret));
    }
    co_return sdbus::ObjectPath(device->path());
}

void Manager::RemoveDevice(sdbus::Result<>&& result, sdbus::ObjectPath path) {
    guarded([&] {
        context_.authorization.require_admin(current_caller(getObject()), "RemoveDevice");
        auto found = devices_.find(path);
        if (found == devices_.end()) {
            throw bus_error(atv::ErrorKind::not_found, "no device at " + std::string(path));
        }
        auto device = found->second;
        devices_.erase(found);
        reply_later(context_.io, context_.loop, ReplyOwner{}, std::move(result),
                    [this, device]() { return remove_device(device); });
    });
}

asio::awaitable<void> Manager::remove_device(std::shared_ptr<DeviceObject> device) {
    std::vector<std::uint64_t> keys;
    for (auto it = by_key_.begin(); it != by_key_.end();) {
        if (it->second.lock() == device) {
            keys.push_back(it->first);
            it = by_key_.erase(it);
        } else {
            ++it;
        }
    }
    co_await device->shut_down();
    device->retire();
    co_await context_.store.remove_async(device->device_id());
    log_about(spdlog::level::info, {device->device_id(), {}},
              "device {} removed with its credentials", device->device_id());
    device.reset();
    // Still on the network: back at once, as a new unpaired device.
    for (std::uint64_t key : keys) {
        if (auto snapshot = snapshots_.find(key); snapshot != snapshots_.end()) {
            upsert(snapshot->second, key);
        }
    }
    notify_change();
}

asio::awaitable<void> Manager::shut_down() {
    auto devices = devices_;
    for (auto& [path, device] : devices) {
        co_await device->shut_down();
    }
}

}  // namespace atvd
