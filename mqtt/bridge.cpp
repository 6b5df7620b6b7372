#include "bridge.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "atvd-config.h"
#include "log.hpp"
#include "topics.hpp"

namespace atvd::mqtt {

namespace {

using json = nlohmann::json;

constexpr const char* atvd_name = "org.atvd";
constexpr const char* manager_path = "/org/atvd";
constexpr const char* devices_path = "/org/atvd/devices/";
constexpr const char* device_interface = "org.atvd.Device1";
constexpr const char* remote_interface = "org.atvd.RemoteControl1";
constexpr const char* player_interface = "org.atvd.Player1";
constexpr const char* audio_interface = "org.atvd.Audio1";
constexpr const char* power_interface = "org.atvd.Power1";
constexpr const char* apps_interface = "org.atvd.Apps1";
constexpr const char* keyboard_interface = "org.atvd.Keyboard1";
constexpr const char* error_prefix = "org.atvd.mqtt.Error.";

// Keys of RemoteControl1.Press, each also a command of its own with an empty payload.
const std::set<std::string> press_keys = {
    "up",         "down",         "left",         "right",         "select",     "menu",
    "home",       "top_menu",     "play",         "pause",         "play_pause", "stop",
    "next",       "previous",     "skip_forward", "skip_backward", "volume_up",  "volume_down",
    "channel_up", "channel_down", "screensaver"};

// The keys offered as Home Assistant buttons.
const std::vector<std::pair<std::string, std::string>> button_keys = {
    {"up", "Up"},
    {"down", "Down"},
    {"left", "Left"},
    {"right", "Right"},
    {"select", "Select"},
    {"menu", "Menu"},
    {"home", "Home"},
    {"top_menu", "Top menu"},
    {"play", "Play"},
    {"pause", "Pause"},
    {"play_pause", "Play/pause"},
    {"stop", "Stop"},
    {"next", "Next"},
    {"previous", "Previous"},
    {"skip_forward", "Skip forward"},
    {"skip_backward", "Skip backward"},
    {"volume_up", "Volume up"},
    {"volume_down", "Volume down"},
};

template <typename T>
T value_of(const std::map<std::string, sdbus::Variant>& properties, const std::string& name,
           T fallback) {
    const auto found = properties.find(name);
    if (found == properties.end() || !found->second.containsValueOfType<T>()) {
        return fallback;
    }
    return found->second.get<T>();
}

std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A refusal of a command before anything reaches atvd.
struct Refusal {
    std::string name;
    std::string message;
};

// The fields of a command's JSON object: each taken once; what is left over is refused.
class Fields {
  public:
    explicit Fields(json object) : object_(std::move(object)) {}

    bool has(const std::string& key) const { return object_.contains(key); }

    std::string text(const std::string& key, bool required = true) {
        const auto found = object_.find(key);
        if (found == object_.end()) {
            if (required) {
                throw Refusal{"InvalidArguments", "'" + key + "' is missing"};
            }
            return {};
        }
        if (!found->is_string()) {
            throw Refusal{"InvalidArguments", "'" + key + "' must be a string"};
        }
        std::string value = found->get<std::string>();
        object_.erase(found);
        return value;
    }

    std::optional<double> number(const std::string& key, bool required = true) {
        const auto found = object_.find(key);
        if (found == object_.end()) {
            if (required) {
                throw Refusal{"InvalidArguments", "'" + key + "' is missing"};
            }
            return std::nullopt;
        }
        if (!found->is_number()) {
            throw Refusal{"InvalidArguments", "'" + key + "' must be a number"};
        }
        const double value = found->get<double>();
        object_.erase(found);
        if (!std::isfinite(value)) {
            throw Refusal{"InvalidArguments", "'" + key + "' must be a finite number"};
        }
        return value;
    }

    bool boolean(const std::string& key) {
        const auto found = object_.find(key);
        if (found == object_.end() || !found->is_boolean()) {
            throw Refusal{"InvalidArguments", "'" + key + "' must be true or false"};
        }
        const bool value = found->get<bool>();
        object_.erase(found);
        return value;
    }

    void done() const {
        if (!object_.empty()) {
            throw Refusal{"InvalidArguments", "unknown field '" + object_.begin().key() + "'"};
        }
    }

  private:
    json object_;
};

}  // namespace

Bridge::Bridge(const Options& options, sdbus::IConnection& bus)
    : options_(options),
      bus_(bus),
      broker_(options, Broker::Callbacks{[this] { on_connected(); }, nullptr,
                                         [this](const mosquitto_message& m) { on_message(m); }}),
      base_(options.prefix + "/" + options.node_id),
      bridge_availability_(base_ + "/availability") {
    broker_.will(bridge_availability_, "offline");
}

// ---- D-Bus side ----

void Bridge::start() {
    matches_.push_back(bus_.addMatch(
        "type='signal',interface='org.freedesktop.DBus.ObjectManager',path='/org/atvd'",
        [this](sdbus::Message& message) {
            if (!from_atvd(message)) {
                return;
            }
            if (message.getMemberName() == "InterfacesAdded") {
                on_interfaces_added(message);
            } else if (message.getMemberName() == "InterfacesRemoved") {
                on_interfaces_removed(message);
            }
        }));
    matches_.push_back(bus_.addMatch(
        "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
        "path_namespace='/org/atvd/devices'",
        [this](sdbus::Message& message) {
            if (from_atvd(message)) {
                on_properties_changed(message);
            }
        }));
    matches_.push_back(bus_.addMatch(
        "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
        "member='NameOwnerChanged',arg0='org.atvd'",
        [this](sdbus::Message& message) {
            std::string name, old_owner, new_owner;
            message >> name >> old_owner >> new_owner;
            on_owner(new_owner);
        }));
    manager_ = sdbus::createProxy(bus_, atvd_name, manager_path);
    manager_->finishRegistration();
    auto bus_proxy = sdbus::createProxy(bus_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    auto call = bus_proxy->createMethodCall("org.freedesktop.DBus", "GetNameOwner");
    call << std::string(atvd_name);
    const auto id = next_call_++;
    bus_proxy->callMethod(
        call,
        [this, id](sdbus::MethodReply& reply, const sdbus::Error* error) {
            if (error == nullptr) {
                std::string owner;
                reply >> owner;
                on_owner(owner);
            } else {
                log(Level::info, "atvd is not on the bus yet; waiting for it");
            }
            finished_calls_.push_back(std::move(calls_[id]));
            calls_.erase(id);
        },
        std::chrono::seconds(10));
    calls_[id] = std::move(bus_proxy);
    broker_.start();
}

bool Bridge::from_atvd(const sdbus::Message& message) const {
    return !owner_.empty() && message.getSender() == owner_;
}

void Bridge::on_owner(const std::string& owner) {
    if (owner == owner_) {
        return;
    }
    owner_ = owner;
    ++generation_;
    if (owner.empty()) {
        log(Level::warning, "atvd left the bus; its devices are offline until it returns");
        for (auto& [path, device] : devices_) {
            device.remove_at.reset();
            device.interfaces.erase(remote_interface);
            device.interfaces.erase(player_interface);
            device.interfaces.erase(audio_interface);
            device.interfaces.erase(power_interface);
            device.interfaces.erase(apps_interface);
            device.interfaces.erase(keyboard_interface);
            auto& properties = device.interfaces[device_interface];
            properties["Connected"] = sdbus::Variant(false);
            properties["ConnectionState"] = sdbus::Variant(std::string("disconnected"));
            properties["Features"] = sdbus::Variant(std::map<std::string, std::string>{});
            device.dirty = true;
        }
        return;
    }
    log(Level::info, "atvd is on the bus as " + owner);
    fetch_objects();
}

void Bridge::fetch_objects() {
    auto call =
        manager_->createMethodCall("org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
    const auto generation = generation_;
    manager_->callMethod(
        call,
        [this, generation](sdbus::MethodReply& reply, const sdbus::Error* error) {
            if (generation != generation_) {
                return;
            }
            if (error != nullptr) {
                log(Level::warning,
                    "cannot read atvd's objects: " + error->getName() + ": " + error->getMessage());
                return;
            }
            on_objects(reply);
        },
        std::chrono::seconds(30));
}

void Bridge::on_objects(sdbus::MethodReply& reply) {
    std::map<sdbus::ObjectPath, std::map<std::string, Properties>> objects;
    reply >> objects;
    std::set<std::string> seen;
    for (auto& [path, interfaces] : objects) {
        if (interfaces.count(device_interface) != 0) {
            seen.insert(path);
            // A fresh picture: interfaces a connection withdrew meanwhile go too.
            if (auto* device = device_at(path)) {
                std::set<std::string> names;
                for (const auto& [name, properties] : device->interfaces) {
                    names.insert(name);
                }
                device->interfaces.clear();
                interfaces_changed(*device, names);
            }
            add_interfaces(path, std::move(interfaces));
        }
    }
    std::vector<std::string> gone;
    for (const auto& [path, device] : devices_) {
        if (seen.count(path) == 0) {
            gone.push_back(path);
        }
    }
    for (const auto& path : gone) {
        remove_device(path);
    }
}

Bridge::Device* Bridge::device_at(const std::string& path) {
    const auto found = devices_.find(path);
    return found == devices_.end() ? nullptr : &found->second;
}

void Bridge::on_interfaces_added(sdbus::Message& message) {
    sdbus::ObjectPath path;
    std::map<std::string, Properties> interfaces;
    message >> path >> interfaces;
    add_interfaces(path, std::move(interfaces));
}

void Bridge::add_interfaces(const std::string& path, std::map<std::string, Properties> interfaces) {
    const std::string_view text = path;
    if (!text.starts_with(devices_path) ||
        text.substr(std::string_view(devices_path).size()).find('/') != std::string_view::npos) {
        return;  // services and pairing handlers
    }
    auto* device = device_at(path);
    if (device == nullptr) {
        if (interfaces.count(device_interface) == 0) {
            return;
        }
        Device fresh;
        fresh.path = path;
        fresh.id = path.substr(std::string_view(devices_path).size());
        device = &devices_.emplace(path, std::move(fresh)).first->second;
        log(Level::info, "device " + device->id + " appeared");
        discovery_due_ = true;
    }
    if (interfaces.count(device_interface) != 0) {
        device->remove_at.reset();
    }
    std::set<std::string> names;
    for (auto& [name, properties] : interfaces) {
        names.insert(name);
        auto& known = device->interfaces[name];
        for (auto& [key, value] : properties) {
            known[key] = std::move(value);
        }
    }
    interfaces_changed(*device, names);
}

void Bridge::on_interfaces_removed(sdbus::Message& message) {
    sdbus::ObjectPath path;
    std::vector<std::string> names;
    message >> path >> names;
    auto* device = device_at(path);
    if (device == nullptr) {
        return;
    }
    if (std::find(names.begin(), names.end(), device_interface) != names.end()) {
        device->interfaces.erase(remote_interface);
        device->interfaces.erase(player_interface);
        device->interfaces.erase(audio_interface);
        device->interfaces.erase(power_interface);
        device->interfaces.erase(apps_interface);
        device->interfaces.erase(keyboard_interface);
        device->interfaces[device_interface]["Connected"] = sdbus::Variant(false);
        device->dirty = true;
        device->remove_at = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        return;
    }
    for (const auto& name : names) {
        device->interfaces.erase(name);
    }
    interfaces_changed(*device, {names.begin(), names.end()});
}

void Bridge::on_properties_changed(sdbus::Message& message) {
    std::string interface;
    Properties changed;
    message >> interface >> changed;
    auto* device = device_at(message.getPath());
    if (device == nullptr) {
        return;
    }
    const auto present = device->interfaces.find(interface);
    if (present == device->interfaces.end()) {
        return;  // an interface withdrawn already
    }
    for (auto& [key, value] : changed) {
        present->second[key] = std::move(value);
    }
    device->dirty = true;
    if (interface == player_interface && changed.count("ArtworkIdentifier") != 0) {
        fetch_artwork(*device);
    }
    if (interface == device_interface &&
        (changed.count("Name") != 0 || changed.count("Model") != 0 ||
         changed.count("Version") != 0)) {
        discovery_due_ = true;
    }
}

void Bridge::interfaces_changed(Device& device, const std::set<std::string>& names) {
    device.dirty = true;
    if (names.count(apps_interface) != 0) {
        if (device.interfaces.count(apps_interface) != 0) {
            fetch_apps(device);
        } else {
            device.apps.clear();
            discovery_due_ = true;
        }
    }
    if (names.count(player_interface) != 0) {
        fetch_artwork(device);
    }
    if (names.count(device_interface) != 0) {
        discovery_due_ = true;
    }
}

void Bridge::remove_device(const std::string& path) {
    const auto found = devices_.find(path);
    if (found == devices_.end()) {
        return;
    }
    log(Level::info, "device " + found->second.id + " was removed");
    clear_device(found->second);
    devices_.erase(found);
}

template <typename Reply>
void Bridge::call(const std::string& path, const std::string& interface, const std::string& method,
                  const std::function<void(sdbus::MethodCall&)>& arguments, Reply reply,
                  std::chrono::seconds timeout) {
    // A proxy per call, kept until its reply: a device removed meanwhile still gets its answer.
    auto proxy = sdbus::createProxy(bus_, atvd_name, path);
    auto message = proxy->createMethodCall(interface, method);
    if (arguments) {
        arguments(message);
    }
    const auto id = next_call_++;
    proxy->callMethod(
        message,
        [this, id, reply = std::move(reply)](sdbus::MethodReply& answer,
                                             const sdbus::Error* error) mutable {
            reply(answer, error);
            // Destroyed after the callback returns, not inside it.
            if (auto found = calls_.find(id); found != calls_.end()) {
                finished_calls_.push_back(std::move(found->second));
                calls_.erase(found);
            }
        },
        timeout);
    calls_[id] = std::move(proxy);
}

void Bridge::fetch_apps(Device& device) {
    const std::string path = device.path;
    const auto generation = generation_;
    call(path, apps_interface, "ListApps", nullptr,
         [this, path, generation](sdbus::MethodReply& reply, const sdbus::Error* error) {
             auto* device = device_at(path);
             if (device == nullptr || generation != generation_) {
                 return;
             }
             if (error != nullptr) {
                 log(Level::debug, "no app list for " + device->id + ": " + error->getMessage());
                 return;
             }
             std::vector<sdbus::Struct<std::string, std::string>> apps;
             reply >> apps;
             device->apps.clear();
             for (const auto& app : apps) {
                 device->apps.emplace_back(app.get<0>(), app.get<1>());
             }
             discovery_due_ = true;
         });
}

void Bridge::fetch_artwork(Device& device) {
    if (!options_.artwork) {
        return;
    }
    const auto player = device.interfaces.find(player_interface);
    const std::string wanted = player == device.interfaces.end()
                                   ? std::string()
                                   : value_of<std::string>(player->second, "ArtworkIdentifier", "");
    if (wanted == device.artwork_id) {
        return;
    }
    device.artwork_id = wanted;
    const std::string topic = device_topic(device.id) + "/artwork";
    if (wanted.empty()) {
        clear_retained(topic);
        return;
    }
    const std::string path = device.path;
    call(
        path, player_interface, "GetArtwork",
        [](sdbus::MethodCall& message) { message << std::uint32_t{0} << std::uint32_t{0}; },
        [this, path, wanted, topic](sdbus::MethodReply& reply, const sdbus::Error* error) {
            auto* device = device_at(path);
            if (device == nullptr || device->artwork_id != wanted) {
                return;  // gone, or another artwork came meanwhile
            }
            if (error != nullptr) {
                log(Level::debug, "no artwork for " + device->id + ": " + error->getMessage());
                clear_retained(topic);
                return;
            }
            sdbus::Struct<std::string, std::vector<std::uint8_t>, std::uint32_t, std::uint32_t>
                artwork;
            reply >> artwork;
            if (device->artwork_type != artwork.get<0>()) {
                device->artwork_type = artwork.get<0>();
                discovery_due_ = true;
            }
            publish_retained_bytes(topic, std::move(artwork.get<1>()));
        });
}

// ---- broker side ----

std::string Bridge::device_topic(const std::string& id) const {
    return base_ + "/" + id;
}

void Bridge::publish_retained(const std::string& topic, std::string payload) {
    cleared_.erase(topic);
    auto& known = retained_[topic];
    if (known == payload) {
        return;
    }
    known = std::move(payload);
    broker_.publish(topic, known, true);
}

void Bridge::publish_retained_bytes(const std::string& topic, std::vector<std::uint8_t> bytes) {
    cleared_.erase(topic);
    auto& known = retained_bytes_[topic];
    known = std::move(bytes);
    broker_.publish(topic, known.data(), known.size(), true);
}

void Bridge::clear_retained(const std::string& topic) {
    const bool had = retained_.erase(topic) + retained_bytes_.erase(topic) > 0;
    if (!had) {
        return;
    }
    // An empty retained message deletes the retained one at the broker.
    if (!broker_.publish(topic, nullptr, 0, true)) {
        cleared_.insert(topic);
    }
}

void Bridge::clear_config(const std::string& topic) {
    if (configs_.erase(topic) == 0) {
        return;
    }
    if (!broker_.publish(topic, nullptr, 0, true)) {
        cleared_.insert(topic);
    }
}

void Bridge::on_connected() {
    // Commands for every device of this node; '#' so that malformed ones get an answer too.
    broker_.subscribe(base_ + "/+/set/#");
    if (options_.discovery) {
        broker_.subscribe(options_.discovery_prefix + "/status");
    }
    broker_.publish(bridge_availability_, std::string("online"), true);
    for (const auto& topic : cleared_) {
        broker_.publish(topic, nullptr, 0, true);
    }
    cleared_.clear();
    // The broker may have lost its retained messages (restarted without persistence).
    for (const auto& [topic, payload] : retained_) {
        broker_.publish(topic, payload, true);
    }
    for (const auto& [topic, bytes] : retained_bytes_) {
        broker_.publish(topic, bytes.data(), bytes.size(), true);
    }
    for (const auto& [path, device] : devices_) {
        publish_discovery(device, true);
    }
    while (!outbox_.empty()) {
        broker_.publish(outbox_.front().first, outbox_.front().second, false);
        outbox_.pop_front();
    }
}

void Bridge::answer(const std::string& topic, const std::string& command,
                    const std::string& id_json, const std::string& error,
                    const std::string& message) {
    json result = {{"command", command}, {"ok", error.empty()}};
    if (!id_json.empty()) {
        result["id"] = json::parse(id_json);
    }
    if (!error.empty()) {
        result["error"] = error;
        result["message"] = message;
        log(Level::info, "command " + command + " on " + topic + ": " + error + ": " + message);
    }
    std::string payload = dump(result);
    if (!broker_.publish(topic, payload, false)) {
        // Kept until the broker is back: a command taken is always answered.
        outbox_.emplace_back(topic, std::move(payload));
        if (outbox_.size() > 1000) {
            outbox_.pop_front();
        }
    }
}

void Bridge::on_message(const mosquitto_message& message) {
    const std::string topic = message.topic != nullptr ? message.topic : "";
    const std::string payload(static_cast<const char*>(message.payload),
                              message.payload != nullptr ? message.payloadlen : 0);
    if (options_.discovery && topic == options_.discovery_prefix + "/status") {
        if (payload == "online") {
            // Home Assistant restarted: its discovery configs again, as it asks.
            for (const auto& [path, device] : devices_) {
                publish_discovery(device, true);
            }
        }
        return;
    }
    if (!topic.starts_with(base_ + "/")) {
        return;
    }
    const CommandTopic parsed = parse_command_topic(base_, topic);
    const std::string& reply_topic = parsed.reply_topic;
    const std::string& command = parsed.command;
    const std::string& device_id = parsed.device_id;
    if (!parsed.well_formed) {
        answer(reply_topic, command, {}, std::string(error_prefix) + "InvalidTopic",
               "commands go to " + base_ + "/<device>/set/<command>");
        return;
    }
    if (message.retain) {
        // A retained command would be carried out again at every restart.
        answer(reply_topic, command, {}, std::string(error_prefix) + "Retained",
               "commands are not taken from retained messages; publish without retain "
               "(and clear this one with an empty retained message)");
        return;
    }
    if (payload.size() > options_.max_payload) {
        answer(reply_topic, command, {}, std::string(error_prefix) + "PayloadTooLarge",
               "the payload has " + std::to_string(payload.size()) + " bytes; at most " +
                   std::to_string(options_.max_payload) + " are taken");
        return;
    }
    on_command(device_id, command, payload, reply_topic);
}

void Bridge::on_command(const std::string& device_id, const std::string& command,
                        const std::string& payload, const std::string& reply_topic) {
    std::string id_json;
    try {
        json object = json::object();
        if (payload.find('\0') != std::string::npos) {
            // The JSON parser would take a NUL for the end of the text.
            throw Refusal{"InvalidJson", "the payload contains a NUL byte"};
        }
        if (!payload.empty()) {
            object = json::parse(payload);  // refuses invalid UTF-8 as well
            if (!object.is_object()) {
                throw Refusal{"InvalidJson", "the payload must be a JSON object"};
            }
        }
        if (const auto id = object.find("id"); id != object.end()) {
            id_json = dump(*id);
            object.erase(id);
        }
        const std::string path = std::string(devices_path) + device_id;
        if (!valid_device_id(device_id) || device_at(path) == nullptr) {
            throw Refusal{"UnknownDevice", "atvd has no device '" + device_id + "'"};
        }
        Fields fields(std::move(object));
        std::string interface;
        std::string method;
        std::function<void(sdbus::MethodCall&)> arguments;
        auto seconds = std::chrono::seconds(30);
        if (press_keys.count(command) != 0 || command == "press") {
            const std::string key = command == "press" ? fields.text("key") : command;
            if (press_keys.count(key) == 0) {
                throw Refusal{"InvalidArguments", "unknown key '" + key + "'"};
            }
            std::map<std::string, sdbus::Variant> press_options;
            if (fields.has("action")) {
                press_options["Action"] = sdbus::Variant(fields.text("action"));
            }
            if (const auto interval = fields.number("interval", false)) {
                press_options["Interval"] = sdbus::Variant(*interval);
            }
            interface = remote_interface;
            method = "Press";
            arguments = [key, press_options](sdbus::MethodCall& call) {
                call << key << press_options;
            };
        } else if (command == "volume") {
            const double level = *fields.number("level");
            if (level < 0 || level > 100) {
                throw Refusal{"InvalidArguments", "'level' goes from 0 to 100"};
            }
            interface = audio_interface;
            method = "SetVolume";
            arguments = [level](sdbus::MethodCall& call) { call << level; };
        } else if (command == "power") {
            const std::string state = fields.text("state");
            if (state != "on" && state != "off") {
                throw Refusal{"InvalidArguments", "'state' is \"on\" or \"off\""};
            }
            interface = power_interface;
            method = state == "on" ? "TurnOn" : "TurnOff";
        } else if (command == "launch") {
            std::string app = fields.text("app");
            // A name as the app list gives it (Home Assistant's select) stands for its id.
            for (const auto& [bundle, name] : device_at(path)->apps) {
                if (name == app) {
                    app = bundle;
                    break;
                }
            }
            interface = apps_interface;
            method = "Launch";
            arguments = [app](sdbus::MethodCall& call) { call << app; };
        } else if (command == "text") {
            const int given = static_cast<int>(fields.has("set")) +
                              static_cast<int>(fields.has("append")) +
                              static_cast<int>(fields.has("clear"));
            if (given != 1) {
                throw Refusal{"InvalidArguments", "give one of 'set', 'append' and 'clear'"};
            }
            interface = keyboard_interface;
            if (fields.has("clear")) {
                if (!fields.boolean("clear")) {
                    throw Refusal{"InvalidArguments", "'clear' must be true"};
                }
                method = "ClearText";
            } else {
                const bool append = fields.has("append");
                const std::string text = fields.text(append ? "append" : "set");
                method = append ? "AppendText" : "SetText";
                arguments = [text](sdbus::MethodCall& call) { call << text; };
            }
        } else if (command == "position") {
            const double position = *fields.number("position");
            if (position < 0 || position > 1e9) {
                throw Refusal{"InvalidArguments", "'position' is seconds from 0"};
            }
            interface = remote_interface;
            method = "SetPosition";
            const auto micros = static_cast<std::uint64_t>(std::llround(position * 1e6));
            arguments = [micros](sdbus::MethodCall& call) { call << micros; };
        } else if (command == "shuffle" || command == "repeat") {
            const std::string mode = fields.text("mode");
            interface = remote_interface;
            method = command == "shuffle" ? "SetShuffle" : "SetRepeat";
            arguments = [mode](sdbus::MethodCall& call) { call << mode; };
        } else if (command == "connect" || command == "close") {
            interface = device_interface;
            method = command == "connect" ? "Connect" : "Close";
            seconds = std::chrono::seconds(120);
        } else if (command == "auto_connect") {
            const bool enable = fields.boolean("enable");
            interface = device_interface;
            method = "SetAutoConnect";
            arguments = [enable](sdbus::MethodCall& call) { call << enable; };
        } else {
            throw Refusal{"UnknownCommand",
                          "unknown command '" + command +
                              "' (known: press, the keys, volume, power, launch, text, position, "
                              "shuffle, repeat, connect, close, auto_connect)"};
        }
        fields.done();
        log(Level::debug, "command " + command + " for " + device_id);
        call(
            path, interface, method, arguments,
            [this, reply_topic, command, id_json](sdbus::MethodReply&, const sdbus::Error* error) {
                if (error == nullptr) {
                    answer(reply_topic, command, id_json);
                } else {
                    answer(reply_topic, command, id_json, error->getName(), error->getMessage());
                }
            },
            seconds);
    } catch (const Refusal& refusal) {
        answer(reply_topic, command, id_json, error_prefix + refusal.name, refusal.message);
    } catch (const json::exception& error) {
        answer(reply_topic, command, id_json, std::string(error_prefix) + "InvalidJson",
               error.what());
    }
}

// ---- what is published ----

std::string Bridge::state_json(const Device& device) const {
    static const Properties none;
    const auto interface = [&](const char* name) -> const Properties& {
        const auto found = device.interfaces.find(name);
        return found == device.interfaces.end() ? none : found->second;
    };
    const auto& info = interface(device_interface);
    const auto& player = interface(player_interface);
    const bool playing_known = device.interfaces.count(player_interface) != 0;
    json state = {
        {"name", value_of<std::string>(info, "Name", "")},
        {"identifier", value_of<std::string>(info, "Identifier", "")},
        {"address", value_of<std::string>(info, "Address", "")},
        {"model", value_of<std::string>(info, "Model", "")},
        {"present", value_of<bool>(info, "Present", false)},
        {"connected", value_of<bool>(info, "Connected", false)},
        {"connection_state",
         value_of<std::string>(
             info, "ConnectionState",
             value_of<bool>(info, "Connected", false) ? "connected" : "disconnected")},
        {"protocols", value_of<std::vector<std::string>>(info, "ConnectedProtocols", {})},
        {"auto_connect", value_of<bool>(info, "AutoConnect", false)},
        {"power", value_of<std::string>(interface(power_interface), "PowerState", "unknown")},
        {"app", value_of<std::string>(player, "App", "")},
        {"app_id", value_of<std::string>(player, "AppIdentifier", "")},
        {"features", value_of<std::map<std::string, std::string>>(info, "Features", {})},
    };
    if (device.interfaces.count(audio_interface) != 0) {
        state["volume"] = value_of<double>(interface(audio_interface), "Volume", 0);
    } else {
        state["volume"] = nullptr;
    }
    if (device.interfaces.count(keyboard_interface) != 0) {
        state["focus"] = value_of<std::string>(interface(keyboard_interface), "FocusState", "");
    }
    const auto seconds = [&](const char* name) {
        return static_cast<double>(value_of<std::uint64_t>(player, name, 0)) / 1e6;
    };
    state["now_playing"] = {
        {"state", playing_known ? value_of<std::string>(player, "State", "idle") : "idle"},
        {"media_type", value_of<std::string>(player, "MediaType", "unknown")},
        {"title", value_of<std::string>(player, "Title", "")},
        {"artist", value_of<std::string>(player, "Artist", "")},
        {"album", value_of<std::string>(player, "Album", "")},
        {"genre", value_of<std::string>(player, "Genre", "")},
        {"series_name", value_of<std::string>(player, "SeriesName", "")},
        {"season", value_of<std::uint32_t>(player, "SeasonNumber", 0)},
        {"episode", value_of<std::uint32_t>(player, "EpisodeNumber", 0)},
        {"duration", seconds("Duration")},
        {"position", seconds("Position")},
        {"position_updated_at", seconds("PositionTimestamp")},
        {"rate", value_of<double>(player, "Rate", 0)},
        {"shuffle", value_of<std::string>(player, "Shuffle", "")},
        {"repeat", value_of<std::string>(player, "Repeat", "")},
        {"content_id", value_of<std::string>(player, "ContentIdentifier", "")},
        {"artwork_id", value_of<std::string>(player, "ArtworkIdentifier", "")},
    };
    return dump(state);
}

void Bridge::publish_device(Device& device) {
    const std::string topic = device_topic(device.id);
    publish_retained(topic + "/state", state_json(device));
    const auto& info = device.interfaces[device_interface];
    const bool online = !owner_.empty() && value_of<bool>(info, "Connected", false);
    publish_retained(topic + "/availability", online ? "online" : "offline");
    device.dirty = false;
}

std::string Bridge::discovery_topic(const std::string& component, const Device& device,
                                    const std::string& object) const {
    return options_.discovery_prefix + "/" + component + "/atvd_" + options_.node_id + "_" +
           device.id + "/" + object + "/config";
}

void Bridge::publish_discovery(const Device& device, bool force) {
    if (!options_.discovery) {
        return;
    }
    const auto info_found = device.interfaces.find(device_interface);
    const Properties& info = info_found->second;
    const std::string topic = device_topic(device.id);
    const std::string unique = "atvd_" + options_.node_id + "_" + device.id;
    std::string name = value_of<std::string>(info, "Name", "");
    if (name.empty()) {
        name = device.id;
    }
    json ha_device = {
        {"identifiers", json::array({unique})},
        {"name", name},
        {"manufacturer", "Apple"},
        {"model", value_of<std::string>(info, "Model", "Unknown")},
    };
    if (const auto version = value_of<std::string>(info, "Version", ""); !version.empty()) {
        ha_device["sw_version"] = version;
    }
    if (const auto mac = value_of<std::string>(info, "MacAddress", ""); !mac.empty()) {
        ha_device["connections"] = json::array({json::array({"mac", mac})});
    }
    const json availability = json::array({
        {{"topic", bridge_availability_}},
        {{"topic", topic + "/availability"}},
    });
    const auto entity = [&](const std::string& object, const std::string& entity_name) {
        return json{
            {"name", entity_name},
            {"unique_id", unique + "_" + object},
            {"device", ha_device},
            {"availability", availability},
            {"availability_mode", "all"},
            {"origin", {{"name", "atvd-mqtt"}, {"sw_version", ATVD_VERSION}}},
        };
    };
    const auto put = [&](const std::string& component, const std::string& object,
                         const json& config) {
        const std::string where = discovery_topic(component, device, object);
        const std::string payload = dump(config);
        const auto hash = std::hash<std::string>{}(payload);
        const auto known = configs_.find(where);
        if (!force && known != configs_.end() && known->second == hash) {
            return;
        }
        configs_[where] = hash;
        cleared_.erase(where);
        broker_.publish(where, payload, true);
    };
    const std::vector<std::tuple<std::string, std::string, std::string, std::string>> sensors = {
        {"state", "State", "{{ value_json.now_playing.state }}", "mdi:play-pause"},
        {"title", "Title", "{{ value_json.now_playing.title }}", "mdi:music-note"},
        {"artist", "Artist", "{{ value_json.now_playing.artist }}", "mdi:account-music"},
        {"app", "App", "{{ value_json.app }}", "mdi:apps"},
    };
    for (const auto& [object, label, value_template, icon] : sensors) {
        json config = entity(object, label);
        config["state_topic"] = topic + "/state";
        config["value_template"] = value_template;
        config["icon"] = icon;
        put("sensor", object, config);
    }
    for (const auto& [key, label] : button_keys) {
        json config = entity(key, label);
        config["command_topic"] = topic + "/set/" + key;
        config["payload_press"] = "{}";
        config["retain"] = false;
        config["qos"] = 1;
        put("button", key, config);
    }
    json power = entity("power", "Power");
    power["command_topic"] = topic + "/set/power";
    power["state_topic"] = topic + "/state";
    power["value_template"] = "{{ value_json.power }}";
    power["payload_on"] = R"({"state": "on"})";
    power["payload_off"] = R"({"state": "off"})";
    power["state_on"] = "on";
    power["state_off"] = "off";
    power["qos"] = 1;
    put("switch", "power", power);

    json volume = entity("volume", "Volume");
    volume["command_topic"] = topic + "/set/volume";
    volume["command_template"] = R"({"level": {{ value }}})";
    volume["state_topic"] = topic + "/state";
    volume["value_template"] = "{{ value_json.volume }}";
    volume["min"] = 0;
    volume["max"] = 100;
    volume["step"] = 1;
    volume["unit_of_measurement"] = "%";
    volume["qos"] = 1;
    put("number", "volume", volume);

    const std::string select_topic = discovery_topic("select", device, "app_select");
    if (device.apps.empty()) {
        // Home Assistant needs at least one option: no select until the apps are known.
        clear_config(select_topic);
    } else {
        json select = entity("app_select", "Launch app");
        select["command_topic"] = topic + "/set/launch";
        select["command_template"] = "{{ {'app': value} | tojson }}";
        select["state_topic"] = topic + "/state";
        select["value_template"] = "{{ value_json.app }}";
        json names = json::array();
        for (const auto& [bundle, app_name] : device.apps) {
            names.push_back(app_name);
        }
        select["options"] = names;
        select["qos"] = 1;
        put("select", "app_select", select);
    }

    json image = entity("artwork", "Artwork");
    image["image_topic"] = topic + "/artwork";
    image["content_type"] = device.artwork_type.empty() ? "image/jpeg" : device.artwork_type;
    put("image", "artwork", image);
}

void Bridge::clear_device(const Device& device) {
    const std::string topic = device_topic(device.id);
    for (const char* leaf : {"/state", "/artwork", "/availability"}) {
        clear_retained(topic + leaf);
    }
    const std::string mark = "/atvd_" + options_.node_id + "_" + device.id + "/";
    std::vector<std::string> configs;
    for (const auto& [where, hash] : configs_) {
        if (where.find(mark) != std::string::npos) {
            configs.push_back(where);
        }
    }
    for (const auto& where : configs) {
        clear_config(where);
    }
}

std::chrono::steady_clock::time_point Bridge::deadline() const {
    auto soonest = std::chrono::steady_clock::time_point::max();
    for (const auto& [path, device] : devices_) {
        if (device.remove_at) {
            soonest = std::min(soonest, *device.remove_at);
        }
    }
    return soonest;
}

void Bridge::flush() {
    finished_calls_.clear();
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::string> removed;
    for (const auto& [path, device] : devices_) {
        if (device.remove_at && *device.remove_at <= now) {
            removed.push_back(path);
        }
    }
    for (const auto& path : removed) {
        remove_device(path);
    }
    for (auto& [path, device] : devices_) {
        if (discovery_due_) {
            publish_discovery(device, false);
        }
        if (device.dirty) {
            publish_device(device);
        }
    }
    discovery_due_ = false;
}

void Bridge::shutdown() {
    for (auto& [path, device] : devices_) {
        broker_.publish(device_topic(device.id) + "/availability", std::string("offline"), true);
    }
    broker_.publish(bridge_availability_, std::string("offline"), true);
    broker_.stop(std::chrono::milliseconds(1000));
}

}  // namespace atvd::mqtt
