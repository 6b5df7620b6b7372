#include "bridge.hpp"

#include <algorithm>
#include <asio/post.hpp>
#include <utility>
#include <vector>

#include "log.hpp"

namespace atvd::mpris {

namespace {

constexpr const char* atvd_name = "org.atvd";
constexpr const char* devices_prefix = "/org/atvd/devices/";
constexpr const char* object_manager = "org.freedesktop.DBus.ObjectManager";
constexpr auto longest_backoff = std::chrono::seconds(30);

using ManagedObjects =
    std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>>;

// The <ID> of a device object's path, or empty for any other path (services, handlers).
std::string device_id(const std::string& path) {
    if (!path.starts_with(devices_prefix)) {
        return {};
    }
    std::string id = path.substr(std::string_view(devices_prefix).size());
    const bool valid = !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
    // A bus name element may not start with a digit; atvd's IDs never do, but check.
    return valid && !(id[0] >= '0' && id[0] <= '9') ? id : std::string{};
}

void set_interface(DeviceState& device, const std::string& interface, bool present) {
    if (interface == player_interface) {
        device.has_player = present;
        if (!present) {
            device.playing = {};
        }
    } else if (interface == remote_interface) {
        device.has_remote = present;
    } else if (interface == audio_interface) {
        device.has_audio = present;
        if (!present) {
            device.volume = 0.0;
        }
    }
}

// Runs a bus callback so that nothing but a log line escapes into sd-bus.
template <typename F>
void guarded(const char* what, F&& body) {
    try {
        body();
    } catch (const sdbus::Error& error) {
        log::warn("{}: {}: {}", what, error.getName(), error.getMessage());
    } catch (const std::exception& error) {
        log::warn("{}: {}", what, error.what());
    }
}

}  // namespace

Bridge::Bridge(asio::io_context& io, BridgeSettings settings)
    : io_(io), settings_(std::move(settings)), retry_(io) {}

Bridge::~Bridge() {
    retry_.cancel();
    devices_.clear();
    proxies_.clear();
    driver_.reset();
    owner_match_.reset();
    signal_match_.reset();
    loop_.reset();
    system_.reset();
}

std::size_t Bridge::player_count() const {
    return static_cast<std::size_t>(
        std::count_if(devices_.begin(), devices_.end(),
                      [](const auto& entry) { return entry.second.player != nullptr; }));
}

void Bridge::start() {
    connect();
}

void Bridge::connect() {
    try {
        system_ = settings_.system_address.empty()
                      ? sdbus::createSystemBusConnection()
                      : sdbus::createSessionBusConnectionWithAddress(settings_.system_address);
        loop_ = std::make_unique<BusLoop>(io_, *system_);
        loop_->on_disconnect([this] { disconnected(); });
        owner_match_ = system_->addMatch(
            "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
            "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.atvd'",
            [this](sdbus::Message& message) {
                guarded("NameOwnerChanged", [&] {
                    std::string name, old_owner, new_owner;
                    message >> name >> old_owner >> new_owner;
                    owner_changed(new_owner);
                });
            });
        // By path, not by sender: signals come from atvd's unique name, checked in on_signal.
        signal_match_ = system_->addMatch("type='signal',path_namespace='/org/atvd'",
                                          [this](sdbus::Message& message) {
                                              guarded("atvd signal", [&] { on_signal(message); });
                                          });
        driver_ = sdbus::createProxy(*system_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        loop_->start();
    } catch (const std::exception& error) {
        log::warn("cannot reach the system bus ({}); trying again in {} ms", error.what(),
                  backoff_.count());
        owner_match_.reset();
        signal_match_.reset();
        driver_.reset();
        loop_.reset();
        system_.reset();
        retry_later();
        return;
    }
    backoff_ = std::chrono::milliseconds(500);
    ask_owner();
}

void Bridge::disconnected() {
    log::warn("lost the system bus; every player goes until atvd is back");
    drop_all();
    owner_.clear();
    ++generation_;
    proxies_.clear();
    driver_.reset();
    owner_match_.reset();
    signal_match_.reset();
    loop_.reset();
    system_.reset();
    retry_later();
}

void Bridge::retry_later() {
    retry_.expires_after(backoff_);
    backoff_ = std::min<std::chrono::milliseconds>(backoff_ * 2, longest_backoff);
    retry_.async_wait([this](std::error_code ec) {
        if (!ec) {
            connect();
        }
    });
}

void Bridge::ask_owner() {
    auto call = driver_->createMethodCall("org.freedesktop.DBus", "GetNameOwner");
    call << std::string(atvd_name);
    const std::uint64_t generation = generation_;
    driver_->callMethod(call,
                        [this, generation](sdbus::MethodReply& reply, const sdbus::Error* error) {
                            guarded("GetNameOwner", [&] {
                                if (generation != generation_) {
                                    return;
                                }
                                std::string owner;
                                if (error == nullptr) {
                                    reply >> owner;
                                } else {
                                    log::info("atvd is not running; waiting for it");
                                }
                                owner_changed(owner);
                            });
                        });
    loop_->kick();
}

void Bridge::owner_changed(const std::string& owner) {
    if (owner == owner_) {
        return;
    }
    if (!owner_.empty()) {
        log::info("atvd stopped; its players go");
    }
    drop_all();
    owner_ = owner;
    ++generation_;
    if (!owner_.empty()) {
        log::info("atvd is running as {}", owner_);
        synchronize();
    }
}

void Bridge::synchronize() {
    synchronizing_ = true;
    const std::uint64_t generation = generation_;
    sdbus::IProxy& manager = proxy("/org/atvd");
    auto call = manager.createMethodCall(object_manager, "GetManagedObjects");
    manager.callMethod(call,
                       [this, generation](sdbus::MethodReply& reply, const sdbus::Error* error) {
                           guarded("GetManagedObjects", [&] {
                               if (generation != generation_) {
                                   return;
                               }
                               synchronizing_ = false;
                               if (error != nullptr) {
                                   log::warn("atvd's objects unreadable: {}", error->getMessage());
                                   return;
                               }
                               on_managed_objects(reply);
                           });
                       });
    loop_->kick();
}

void Bridge::on_managed_objects(sdbus::MethodReply& reply) {
    ManagedObjects objects;
    reply >> objects;
    std::map<std::string, DeviceState> seen;
    for (const auto& [path, interfaces] : objects) {
        const std::string id = device_id(path);
        if (id.empty() || !interfaces.contains(device_interface)) {
            continue;
        }
        DeviceState& state = seen[path];
        state.path = path;
        state.id = id;
        for (const auto& [interface, properties] : interfaces) {
            set_interface(state, interface, true);
            state.apply(interface, properties);
        }
    }
    for (auto it = devices_.begin(); it != devices_.end();) {
        it = seen.contains(it->first) ? std::next(it) : devices_.erase(it);
    }
    for (auto& [path, state] : seen) {
        Entry& entry = devices_[path];
        entry.state = std::move(state);
        refresh(entry.state);
    }
}

void Bridge::on_signal(sdbus::Message& message) {
    if (owner_.empty() || synchronizing_ || message.getSender() != owner_) {
        return;
    }
    const std::string interface = message.getInterfaceName();
    const std::string member = message.getMemberName();
    if (interface == object_manager && member == "InterfacesAdded") {
        interfaces_added(message);
    } else if (interface == object_manager && member == "InterfacesRemoved") {
        interfaces_removed(message);
    } else if (interface == "org.freedesktop.DBus.Properties" && member == "PropertiesChanged") {
        properties_changed(message);
    }
}

void Bridge::interfaces_added(sdbus::Message& message) {
    sdbus::ObjectPath path;
    std::map<std::string, Properties> interfaces;
    message >> path >> interfaces;
    const std::string id = device_id(path);
    if (id.empty()) {
        return;
    }
    auto found = devices_.find(path);
    if (found == devices_.end()) {
        if (!interfaces.contains(device_interface)) {
            return;
        }
        found = devices_.emplace(path, Entry{}).first;
        found->second.state.path = path;
        found->second.state.id = id;
    }
    DeviceState& state = found->second.state;
    for (const auto& [interface, properties] : interfaces) {
        set_interface(state, interface, true);
        state.apply(interface, properties);
    }
    refresh(state);
}

void Bridge::interfaces_removed(sdbus::Message& message) {
    sdbus::ObjectPath path;
    std::vector<std::string> interfaces;
    message >> path >> interfaces;
    const auto found = devices_.find(path);
    if (found == devices_.end()) {
        return;
    }
    if (std::find(interfaces.begin(), interfaces.end(), device_interface) != interfaces.end()) {
        devices_.erase(found);
        return;
    }
    for (const auto& interface : interfaces) {
        set_interface(found->second.state, interface, false);
    }
    refresh(found->second.state);
}

void Bridge::properties_changed(sdbus::Message& message) {
    const auto found = devices_.find(message.getPath());
    if (found == devices_.end()) {
        return;
    }
    std::string interface;
    Properties changed;
    message >> interface >> changed;
    found->second.state.apply(interface, changed);
    refresh(found->second.state);
}

void Bridge::refresh(DeviceState& state) {
    Entry& entry = devices_.at(state.path);
    if (!state.has_player) {
        if (entry.player) {
            log::info("player {} goes", Player::bus_name_for(state.id));
            entry.player.reset();
        }
        return;
    }
    if (entry.player) {
        entry.player->update(state);
        return;
    }
    try {
        entry.player = std::make_unique<Player>(io_, *this, settings_.player, state);
        entry.player->on_disconnect([this] {
            if (session_lost_) {
                session_lost_();
            }
        });
    } catch (const std::exception& error) {
        log::error("cannot reach the session bus for {}: {}", state.id, error.what());
        if (session_lost_) {
            asio::post(io_, session_lost_);
        }
    }
}

void Bridge::drop_all() {
    if (!devices_.empty()) {
        log::debug("dropping {} devices", devices_.size());
    }
    devices_.clear();
    synchronizing_ = false;
}

sdbus::IProxy& Bridge::proxy(const std::string& path) {
    auto& slot = proxies_[path];
    if (!slot) {
        slot = sdbus::createProxy(*system_, atvd_name, path);
    }
    return *slot;
}

void Bridge::call(const std::string& path, const std::string& interface, const std::string& method,
                  const std::function<void(sdbus::MethodCall&)>& fill, Done done) {
    if (!system_) {
        const sdbus::Error error("org.freedesktop.DBus.Error.Disconnected",
                                 "atvd-mpris is not connected to the system bus");
        done(nullptr, &error);
        return;
    }
    try {
        sdbus::IProxy& target = proxy(path);
        auto call = target.createMethodCall(interface, method);
        fill(call);
        target.callMethod(
            call, [done, method](sdbus::MethodReply& reply, const sdbus::Error* error) {
                guarded(method.c_str(), [&] { done(error == nullptr ? &reply : nullptr, error); });
            });
        loop_->kick();
    } catch (const sdbus::Error& error) {
        done(nullptr, &error);
    }
}

}  // namespace atvd::mpris
