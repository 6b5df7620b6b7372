#include "system.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "control.hpp"

namespace atv::ctl {

namespace {

using NamedItems = std::vector<sdbus::Struct<std::string, std::string>>;

void print_line(const std::string& line) {
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

std::string name_of(const Device& device) {
    return text_property(device.properties, "Name");
}

// The connected device, once its Features show that the interface serving `what` is there: an
// interface is there while any of its features is not unsupported (docs/dbus-api.md).
Device device_offering(Client& client, const std::string& wanted, const std::string& what,
                       const std::vector<std::string>& features) {
    Device device = connected_device(client, wanted);
    std::map<std::string, std::string> states;
    if (const auto found = device.properties.find("Features");
        found != device.properties.end() &&
        found->second.containsValueOfType<std::map<std::string, std::string>>()) {
        states = found->second.get<std::map<std::string, std::string>>();
    }
    const bool offered = std::any_of(features.begin(), features.end(), [&](const auto& feature) {
        const auto state = states.find(feature);
        return state != states.end() && state->second != "unsupported";
    });
    if (!offered) {
        std::string names;
        for (const auto& feature : features) {
            names += (names.empty() ? "" : ", ") + feature;
        }
        throw std::runtime_error(name_of(device) + " offers no " + what +
                                 ": its connection supports none of " + names);
    }
    return device;
}

const std::vector<std::string> power_features = {"PowerState", "TurnOn", "TurnOff"};
const std::vector<std::string> apps_features = {"AppList", "LaunchApp", "AccountList",
                                                "SwitchAccount"};
const std::vector<std::string> keyboard_features = {"TextFocusState", "TextGet", "TextSet",
                                                    "TextAppend", "TextClear"};

NamedItems list_of(Client& client, const Device& device, const std::string& method) {
    NamedItems items;
    client.proxy(device.path)->callMethod(method).onInterface(apps_interface).storeResultsTo(items);
    return items;
}

// One "IDENTIFIER  NAME" line per item, or {"Path": …, "<key>": [{"Identifier", "Name"}, …]}.
void print_items(const Device& device, const NamedItems& items, const std::string& key, bool json) {
    if (json) {
        std::string out = "{\"Path\": " + json_quote(device.path) + ", " + json_quote(key) + ": [";
        for (std::size_t i = 0; i < items.size(); ++i) {
            out += std::string(i ? ", " : "") +
                   "{\"Identifier\": " + json_quote(std::get<0>(items[i])) +
                   ", \"Name\": " + json_quote(std::get<1>(items[i])) + "}";
        }
        print_line(out + "]}");
        return;
    }
    std::size_t width = 0;
    for (const auto& item : items) {
        width = std::max(width, std::get<0>(item).size());
    }
    for (const auto& item : items) {
        const std::string& identifier = std::get<0>(item);
        print_line(identifier + std::string(width - identifier.size() + 2, ' ') +
                   std::get<1>(item));
    }
}

std::string nonempty(const std::string& value, const std::string& what) {
    if (value.empty()) {
        throw UsageError(what + " is empty");
    }
    return value;
}

}  // namespace

int command_power(Client& client, const CommandLine& line) {
    const std::string wanted = line.arguments.size() > 1 ? line.arguments[1] : std::string{};
    if (!wanted.empty() && wanted != "on" && wanted != "off") {
        throw UsageError("'power' takes on or off, got '" + wanted + "'");
    }
    const Device device =
        device_offering(client, line.arguments[0], "power control", power_features);
    auto proxy = client.proxy(device.path);
    if (!wanted.empty()) {
        proxy->callMethod(wanted == "on" ? "TurnOn" : "TurnOff").onInterface(power_interface);
        if (line.json) {
            print_line("{\"Path\": " + json_quote(device.path) +
                       ", \"Requested\": " + json_quote(wanted) + "}");
        } else {
            print_line("Turned " + wanted + " " + name_of(device));
        }
        return 0;
    }
    const std::string state =
        proxy->getProperty("PowerState").onInterface(power_interface).get<std::string>();
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) +
                   ", \"PowerState\": " + json_quote(state) + "}");
    } else {
        print_line("Power of " + name_of(device) + ": " + state);
    }
    return 0;
}

int command_apps(Client& client, const CommandLine& line) {
    const Device device = device_offering(client, line.arguments[0], "apps", apps_features);
    print_items(device, list_of(client, device, "ListApps"), "Apps", line.json);
    return 0;
}

int command_launch(Client& client, const CommandLine& line) {
    const std::string app = nonempty(line.arguments[1], "the app");
    const Device device = device_offering(client, line.arguments[0], "apps", apps_features);
    client.proxy(device.path)->callMethod("Launch").onInterface(apps_interface).withArguments(app);
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) + ", \"App\": " + json_quote(app) + "}");
    } else {
        print_line("Launched " + app + " on " + name_of(device));
    }
    return 0;
}

int command_accounts(Client& client, const CommandLine& line) {
    const Device device = device_offering(client, line.arguments[0], "accounts", apps_features);
    print_items(device, list_of(client, device, "ListAccounts"), "Accounts", line.json);
    return 0;
}

int command_switch_account(Client& client, const CommandLine& line) {
    const std::string account = nonempty(line.arguments[1], "the account identifier");
    const Device device = device_offering(client, line.arguments[0], "accounts", apps_features);
    client.proxy(device.path)
        ->callMethod("SwitchAccount")
        .onInterface(apps_interface)
        .withArguments(account);
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) +
                   ", \"Account\": " + json_quote(account) + "}");
    } else {
        print_line("Switched " + name_of(device) + " to the account " + account);
    }
    return 0;
}

int command_text(Client& client, const CommandLine& line) {
    const std::string action = line.arguments.size() > 1 ? line.arguments[1] : "get";
    const bool takes_text = action == "set" || action == "append";
    if (!takes_text && action != "get" && action != "clear") {
        throw UsageError("'text' takes get, set, append or clear, got '" + action + "'");
    }
    if (takes_text != (line.arguments.size() == 3)) {
        throw UsageError(takes_text ? "'text " + action + "' needs TEXT"
                                    : "'text " + action + "' takes no TEXT");
    }
    const Device device =
        device_offering(client, line.arguments[0], "text input", keyboard_features);
    auto proxy = client.proxy(device.path);
    if (action == "get") {
        std::string text;
        proxy->callMethod("GetText").onInterface(keyboard_interface).storeResultsTo(text);
        print_line(line.json ? "{\"Path\": " + json_quote(device.path) +
                                   ", \"Text\": " + json_quote(text) + "}"
                             : text);
        return 0;
    }
    if (action == "clear") {
        proxy->callMethod("ClearText").onInterface(keyboard_interface);
    } else {
        proxy->callMethod(action == "set" ? "SetText" : "AppendText")
            .onInterface(keyboard_interface)
            .withArguments(line.arguments[2]);
    }
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) + ", \"Action\": " + json_quote(action) +
                   "}");
    } else {
        const std::string done = action == "set"      ? "Set the text on "
                                 : action == "append" ? "Appended to the text on "
                                                      : "Cleared the text on ";
        print_line(done + name_of(device));
    }
    return 0;
}

}  // namespace atv::ctl
