// atvctl: command-line client of atvd's D-Bus API.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <random>

#include "atvd-config.h"
#include "cli.hpp"
#include "client.hpp"
#include "control.hpp"
#include "monitor.hpp"
#include "output.hpp"
#include "system.hpp"

namespace atv::ctl {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_atvd_error = 1;
constexpr int exit_usage = 2;
constexpr int exit_not_found = 3;
constexpr int exit_interrupted = 130;
constexpr const char* interrupted_error = "org.atvd.ctl.Interrupted";

const std::vector<std::string> known_protocols = {"mrp", "airplay", "companion", "dmap", "raop"};

void print_line(const std::string& line) {
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

// Progress goes to stderr so stdout stays parseable.
class Progress {
  public:
    explicit Progress(const std::string& what) : interactive_(::isatty(STDERR_FILENO) == 1) {
        std::fprintf(stderr, "%s%s", what.c_str(), interactive_ ? "" : "\n");
    }
    ~Progress() {
        if (interactive_) {
            std::fputc('\n', stderr);
        }
    }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void tick() {
        if (interactive_ && ++ticks_ % 4 == 0) {
            std::fputc('.', stderr);
            std::fflush(stderr);
        }
    }

  private:
    bool interactive_;
    unsigned ticks_ = 0;
};

std::string device_json(const Device& device) {
    std::string services = "{";
    for (const auto& [protocol, properties] : device.services) {
        services += (services.size() > 1 ? ", " : "") + json_quote(protocol) + ": " +
                    properties_to_json(properties,
                                       {"\"Path\": " + json_quote(device.path + "/" + protocol)});
    }
    return properties_to_json(device.properties, {"\"Path\": " + json_quote(device.path),
                                                  "\"Services\": " + services + "}"});
}

std::string device_flags(const Device& device) {
    std::string flags = text_property(device.properties, "Present") == "yes" ? "present" : "absent";
    if (text_property(device.properties, "Connected") == "yes") {
        flags += ",connected";
    }
    for (const auto& [protocol, properties] : device.services) {
        if (text_property(properties, "Paired") == "yes") {
            flags += ",paired:" + protocol;
        }
    }
    return flags;
}

void print_device_list(const std::vector<Device>& devices, bool json) {
    if (json) {
        std::string out = "{\"Devices\": [";
        for (std::size_t i = 0; i < devices.size(); ++i) {
            out += (i ? ", " : "") + device_json(devices[i]);
        }
        print_line(out + "]}");
        return;
    }
    char line[512];
    std::snprintf(line, sizeof line, "%-38s %-24s %-16s %-14s %s", "IDENTIFIER", "NAME", "ADDRESS",
                  "MODEL", "STATE");
    print_line(line);
    for (const auto& device : devices) {
        const auto& p = device.properties;
        std::snprintf(line, sizeof line, "%-38s %-24s %-16s %-14s %s",
                      text_property(p, "Identifier").c_str(), text_property(p, "Name").c_str(),
                      text_property(p, "Address").c_str(), text_property(p, "Model").c_str(),
                      device_flags(device).c_str());
        print_line(line);
    }
}

void print_properties(const Properties& properties, const std::string& indent) {
    for (const auto& [name, value] : properties) {
        print_line(indent + name + ": " + variant_to_text(value));
    }
}

int command_devices(Client& client, const CommandLine& line) {
    print_device_list(client.devices(), line.json);
    return exit_ok;
}

std::uint32_t parse_timeout(const std::string& text) {
    if (text.empty() || text.size() > 9 ||
        !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
        throw UsageError("--timeout takes milliseconds, got '" + text + "'");
    }
    return static_cast<std::uint32_t>(std::stoul(text));
}

int command_scan(Client& client, const CommandLine& line) {
    std::map<std::string, sdbus::Variant> filter;
    if (auto hosts = line.option("hosts")) {
        filter["Hosts"] = split_list(*hosts, "hosts");
    }
    if (auto protocols = line.option("protocols")) {
        filter["Protocols"] = split_list(*protocols, "protocols");
    }
    if (auto id = line.option("id")) {
        filter["Identifiers"] = split_list(*id, "id");
    }
    std::uint32_t timeout_ms = 3000;
    if (auto timeout = line.option("timeout")) {
        timeout_ms = parse_timeout(*timeout);
        filter["Timeout"] = timeout_ms;
    }
    auto manager = client.proxy(manager_path);
    auto call = manager->createMethodCall(manager_interface, "Scan");
    call << filter;
    auto reply =
        client.call_waiting(*manager, call, std::chrono::seconds(timeout_ms / 1000 + 30), nullptr);
    std::vector<sdbus::ObjectPath> found;
    reply >> found;
    std::vector<Device> devices;
    for (auto& device : client.devices()) {
        if (std::find(found.begin(), found.end(), device.path) != found.end()) {
            devices.push_back(std::move(device));
        }
    }
    print_device_list(devices, line.json);
    return exit_ok;
}

int command_info(Client& client, const CommandLine& line) {
    const Device device = client.resolve(line.arguments[0]);
    if (line.json) {
        print_line(device_json(device));
        return exit_ok;
    }
    print_line("Device " + device.path);
    print_properties(device.properties, "  ");
    for (const auto& [protocol, properties] : device.services) {
        print_line("  Service " + protocol + " (" + device.path + "/" + protocol + ")");
        print_properties(properties, "    ");
    }
    return exit_ok;
}

bool all_digits(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string check_pin(const std::string& pin) {
    if (!all_digits(pin) || pin.size() > 16) {
        throw UsageError("a PIN is 1 to 16 digits");
    }
    return pin;
}

std::string random_pin() {
    std::random_device random;
    std::uniform_int_distribution<int> digit(0, 9);
    std::string pin;
    for (int i = 0; i < 4; ++i) {
        pin += static_cast<char>('0' + digit(random));
    }
    return pin;
}

std::string ask_pin(const std::string& device_name) {
    std::fprintf(stderr, "Enter the PIN shown on %s: ", device_name.c_str());
    std::fflush(stderr);
    std::string pin;
    if (!std::getline(std::cin, pin)) {
        throw UsageError("no PIN given on stdin");
    }
    while (!pin.empty() && std::isspace(static_cast<unsigned char>(pin.back()))) {
        pin.pop_back();
    }
    return check_pin(pin);
}

void check_protocol(const std::string& protocol) {
    if (std::find(known_protocols.begin(), known_protocols.end(), protocol) ==
        known_protocols.end()) {
        throw UsageError("unknown protocol '" + protocol +
                         "' (mrp, airplay, companion, dmap or raop)");
    }
}

// Longer than atvd lets a step wait on the device (Finish of a DMAP pairing waits for the person
// at the device, up to the handler's five-minute timeout), so atvd's own error arrives.
constexpr std::chrono::seconds handler_step_limit{310};

// A handler step that may wait on the device, with progress on stderr.
void handler_step(Client& client, sdbus::IProxy& handler, const std::string& step,
                  const std::string& waiting, const std::string& pin = {}) {
    auto call = handler.createMethodCall(handler_interface, step);
    if (!pin.empty()) {
        call << pin;
    }
    Progress progress(waiting);
    client.call_waiting(handler, call, handler_step_limit, [&] { progress.tick(); });
}

void run_pairing(Client& client, sdbus::IProxy& handler, const CommandLine& line,
                 const std::string& name) {
    handler_step(client, handler, "Begin", "Starting to pair with " + name + "...");
    const bool device_provides_pin =
        handler.getProperty("DeviceProvidesPin").onInterface(handler_interface).get<bool>();
    std::string pin;
    if (device_provides_pin) {
        pin = line.option("pin") ? check_pin(*line.option("pin")) : ask_pin(name);
    } else {
        pin = line.option("pin") ? check_pin(*line.option("pin")) : random_pin();
        std::fprintf(stderr, "Type the PIN %s on %s\n", pin.c_str(), name.c_str());
    }
    handler_step(client, handler, "Pin", "Sending the PIN...", pin);
    handler_step(client, handler, "Finish", "Waiting for " + name + " to finish pairing...");
}

int command_pair(Client& client, const CommandLine& line) {
    const std::string& protocol = line.arguments[1];
    check_protocol(protocol);
    if (auto pin = line.option("pin")) {
        check_pin(*pin);
    }
    const Device device = client.resolve(line.arguments[0]);
    const std::string name = text_property(device.properties, "Name");
    std::map<std::string, sdbus::Variant> options;
    options["Name"] = line.option("name").value_or("atvctl");
    sdbus::ObjectPath handler_path;
    client.proxy(device.path)
        ->callMethod("Pair")
        .onInterface(device_interface)
        .withArguments(protocol, options)
        .storeResultsTo(handler_path);
    auto handler = client.proxy(handler_path);
    try {
        run_pairing(client, *handler, line, name);
    } catch (...) {
        try {
            handler->callMethod("Close").onInterface(handler_interface);
        } catch (const sdbus::Error&) {
            // The handler may be gone already; the first error is the one to report.
        }
        throw;
    }
    handler->callMethod("Close").onInterface(handler_interface);
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) +
                   ", \"Protocol\": " + json_quote(protocol) + ", \"Paired\": true}");
    } else {
        print_line("Paired with " + name + " (" + protocol + ")");
    }
    return exit_ok;
}

int command_connect(Client& client, const CommandLine& line) {
    const Device device = client.resolve(line.arguments[0]);
    const std::string name = text_property(device.properties, "Name");
    auto proxy = client.proxy(device.path);
    auto call = proxy->createMethodCall(device_interface, "Connect");
    {
        Progress progress("Connecting to " + name + "...");
        client.call_waiting(*proxy, call, std::chrono::seconds(120), [&] { progress.tick(); });
    }
    const auto properties = client.properties(device.path, device_interface);
    const auto protocols = properties.at("ConnectedProtocols");
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) +
                   ", \"Connected\": true, \"ConnectedProtocols\": " + variant_to_json(protocols) +
                   "}");
    } else {
        print_line("Connected to " + name + " (" + variant_to_text(protocols) + ")");
    }
    return exit_ok;
}

int command_close(Client& client, const CommandLine& line) {
    const Device device = client.resolve(line.arguments[0]);
    client.proxy(device.path)->callMethod("Close").onInterface(device_interface);
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) + ", \"Connected\": false}");
    } else {
        print_line("Closed " + text_property(device.properties, "Name"));
    }
    return exit_ok;
}

int command_forget(Client& client, const CommandLine& line) {
    const Device device = client.resolve(line.arguments[0]);
    client.proxy(manager_path)
        ->callMethod("RemoveDevice")
        .onInterface(manager_interface)
        .withArguments(sdbus::ObjectPath{device.path});
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) + ", \"Removed\": true}");
    } else {
        print_line("Forgot " + text_property(device.properties, "Name") + " (" + device.path + ")");
    }
    return exit_ok;
}

// Credentials come from stdin only, so they never show up in a process listing.
std::string read_credentials() {
    std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.pop_back();
    }
    if (text.empty()) {
        throw UsageError("no credentials on stdin");
    }
    return text;
}

int command_set_credentials(Client& client, const CommandLine& line) {
    const std::string& protocol = line.arguments[1];
    check_protocol(protocol);
    const Device device = client.resolve(line.arguments[0]);
    std::string credentials = read_credentials();
    bool stored = false;
    client.proxy(device.path)
        ->callMethod("SetCredentials")
        .onInterface(device_interface)
        .withArguments(protocol, credentials)
        .storeResultsTo(stored);
    std::fill(credentials.begin(), credentials.end(), '\0');
    if (!stored) {
        throw NotFound(text_property(device.properties, "Name") + " has no " + protocol +
                       " service");
    }
    if (line.json) {
        print_line("{\"Path\": " + json_quote(device.path) +
                   ", \"Protocol\": " + json_quote(protocol) + ", \"Stored\": true}");
    } else {
        print_line("Stored " + protocol + " credentials for " +
                   text_property(device.properties, "Name"));
    }
    return exit_ok;
}

int run(const CommandLine& line) {
    Client client(line.bus, line.bus_address);
    static const std::map<std::string, int (*)(Client&, const CommandLine&)> handlers = {
        {"devices", command_devices},   {"scan", command_scan},
        {"info", command_info},         {"pair", command_pair},
        {"connect", command_connect},   {"close", command_close},
        {"forget", command_forget},     {"set-credentials", command_set_credentials},
        {"monitor", command_monitor},   {"press", command_press},
        {"playing", command_playing},   {"artwork", command_artwork},
        {"volume", command_volume},     {"power", command_power},
        {"apps", command_apps},         {"launch", command_launch},
        {"accounts", command_accounts}, {"switch-account", command_switch_account},
        {"text", command_text},
    };
    return handlers.at(line.command)(client, line);
}

}  // namespace
}  // namespace atv::ctl

int main(int argc, char** argv) {
    using namespace atv::ctl;
    try {
        const CommandLine line = parse_command_line({argv + 1, argv + argc});
        if (line.help) {
            std::fputs(usage_text, stdout);
            return exit_ok;
        }
        if (line.version) {
            print_line(std::string("atvctl ") + ATVD_VERSION);
            return exit_ok;
        }
        return run(line);
    } catch (const UsageError& error) {
        std::fprintf(stderr, "atvctl: %s\nTry 'atvctl --help'.\n", error.what());
        return exit_usage;
    } catch (const NotFound& error) {
        std::fprintf(stderr, "atvctl: %s\n", error.what());
        return exit_not_found;
    } catch (const sdbus::Error& error) {
        if (error.getName() == interrupted_error) {
            std::fprintf(stderr, "atvctl: interrupted\n");
            return exit_interrupted;
        }
        std::fprintf(stderr, "atvctl: %s: %s\n", error.getName().c_str(),
                     error.getMessage().c_str());
        return exit_atvd_error;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "atvctl: %s\n", error.what());
        return exit_atvd_error;
    }
}
