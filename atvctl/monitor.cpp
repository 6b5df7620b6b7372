#include "monitor.hpp"

#include <cstdio>

#include "control.hpp"
#include "system.hpp"

namespace atv::ctl {

namespace {

void emit(const std::string& line) {
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

std::string quoted_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += (i ? ", " : "") + json_quote(items[i]);
    }
    return out + "]";
}

std::string kind_of(const std::string& interface) {
    if (interface == device_interface)
        return "device";
    if (interface == service_interface)
        return "service";
    if (interface == handler_interface)
        return "pairing";
    if (interface == remote_interface)
        return "remote-control";
    if (interface == player_interface)
        return "player";
    if (interface == audio_interface)
        return "audio";
    if (interface == power_interface)
        return "power";
    if (interface == apps_interface)
        return "apps";
    if (interface == keyboard_interface)
        return "keyboard";
    return interface;
}

void on_interfaces_added(sdbus::Message& message, bool json) {
    sdbus::ObjectPath path;
    std::map<std::string, Properties> interfaces;
    message >> path >> interfaces;
    if (json) {
        std::string members = "{";
        for (const auto& [interface, properties] : interfaces) {
            members += (members.size() > 1 ? ", " : "") + json_quote(interface) + ": " +
                       properties_to_json(properties);
        }
        emit("{\"Event\": \"added\", \"Path\": " + json_quote(path) +
             ", \"Interfaces\": " + members + "}}");
        return;
    }
    for (const auto& [interface, properties] : interfaces) {
        if (!interface.starts_with("org.atvd.")) {
            continue;
        }
        std::string line = "added " + kind_of(interface) + " " + std::string(path);
        if (interface == device_interface) {
            // A new device often gets its name in a "changed" event just after.
            line += " identifier=" + text_property(properties, "Identifier");
            if (const auto name = text_property(properties, "Name"); !name.empty()) {
                line += " name=" + name;
            }
        }
        emit(line);
    }
}

void on_interfaces_removed(sdbus::Message& message, bool json) {
    sdbus::ObjectPath path;
    std::vector<std::string> interfaces;
    message >> path >> interfaces;
    if (json) {
        emit("{\"Event\": \"removed\", \"Path\": " + json_quote(path) +
             ", \"Interfaces\": " + quoted_list(interfaces) + "}");
        return;
    }
    for (const auto& interface : interfaces) {
        if (interface.starts_with("org.atvd.")) {
            emit("removed " + kind_of(interface) + " " + std::string(path));
        }
    }
}

void on_properties_changed(sdbus::Message& message, bool json) {
    std::string interface;
    Properties changed;
    std::vector<std::string> invalidated;
    message >> interface >> changed >> invalidated;
    if (json) {
        emit("{\"Event\": \"changed\", \"Path\": " + json_quote(message.getPath()) +
             ", \"Interface\": " + json_quote(interface) + ", \"Changed\": " +
             properties_to_json(changed) + ", \"Invalidated\": " + quoted_list(invalidated) + "}");
        return;
    }
    // What plays is the change people watch for: it gets a line of its own kind.
    std::string line = interface == player_interface
                           ? "playing " + message.getPath()
                           : "changed " + kind_of(interface) + " " + message.getPath();
    for (const auto& [name, value] : changed) {
        line += " " + name + "=" + variant_to_text(value);
    }
    emit(line);
}

void on_connection_lost(sdbus::Message& message, bool json) {
    std::string reason;
    message >> reason;
    if (json) {
        emit("{\"Event\": \"connection-lost\", \"Path\": " + json_quote(message.getPath()) +
             ", \"Reason\": " + json_quote(reason) + "}");
    } else {
        emit("connection-lost device " + message.getPath() + " " + reason);
    }
}

void on_owner_changed(sdbus::Message& message, bool json) {
    std::string name, old_owner, new_owner;
    message >> name >> old_owner >> new_owner;
    const std::string event = new_owner.empty() ? "atvd-stopped" : "atvd-started";
    emit(json ? "{\"Event\": \"" + event + "\"}" : event);
}

void on_atvd_signal(sdbus::Message& message, bool json) {
    const std::string interface = message.getInterfaceName();
    const std::string member = message.getMemberName();
    if (interface == "org.freedesktop.DBus.ObjectManager" && member == "InterfacesAdded") {
        on_interfaces_added(message, json);
    } else if (interface == "org.freedesktop.DBus.ObjectManager" && member == "InterfacesRemoved") {
        on_interfaces_removed(message, json);
    } else if (interface == "org.freedesktop.DBus.Properties" && member == "PropertiesChanged") {
        on_properties_changed(message, json);
    } else if (interface == device_interface && member == "ConnectionLost") {
        on_connection_lost(message, json);
    }
}

}  // namespace

int command_monitor(Client& client, const CommandLine& line) {
    const bool json = line.json;
    // Matched by path, not sender: the bus delivers atvd's signals from its unique name.
    auto atvd_signals = client.connection().addMatch(
        "type='signal',path_namespace='/org/atvd'",
        [json](sdbus::Message& message) { on_atvd_signal(message, json); });
    auto owner_changes = client.connection().addMatch(
        "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.atvd'",
        [json](sdbus::Message& message) { on_owner_changed(message, json); });
    if (!json) {
        std::fputs("Monitoring atvd; press Ctrl-C to stop.\n", stderr);
    }
    client.run_until([] { return false; }, nullptr);
    return 0;
}

}  // namespace atv::ctl
