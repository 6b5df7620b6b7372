#include "cli.hpp"

#include <set>

namespace atv::ctl {

const char* const usage_text =
    "Usage: atvctl [--json] [--system|--user|--bus-address ADDR] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  devices                              list the devices atvd knows\n"
    "  scan [--hosts A,B] [--protocols P,Q] [--id ID] [--timeout MS]\n"
    "                                       look for devices and list them\n"
    "  info DEVICE                          show a device and its services\n"
    "  pair DEVICE PROTOCOL [--name NAME] [--pin PIN]\n"
    "                                       pair with a service of a device\n"
    "  connect DEVICE                       connect to a paired device\n"
    "  close DEVICE                         close the connections to a device\n"
    "  forget DEVICE                        forget a device and its credentials\n"
    "  set-credentials DEVICE PROTOCOL      store credentials read from stdin\n"
    "  monitor                              print events until interrupted\n"
    "  press DEVICE KEY [--double|--hold]   press a key of the remote\n"
    "  playing DEVICE                       show what is playing\n"
    "  artwork DEVICE -o FILE [--size WxH]  save the artwork of what is playing\n"
    "  volume DEVICE [N|up|down]            show or set the volume (0 to 100)\n"
    "  power DEVICE [on|off]                show the power state, or turn on or off\n"
    "  apps DEVICE                          list the apps that can be launched\n"
    "  launch DEVICE APP                    launch an app by bundle id, or open a URL\n"
    "  accounts DEVICE                      list the user accounts\n"
    "  switch-account DEVICE ID             make an account the current one\n"
    "  text DEVICE [get|set|append|clear] [TEXT]\n"
    "                                       show or change the focused text field\n"
    "\n"
    "DEVICE is an identifier, a name or an object path. PROTOCOL is one of\n"
    "mrp, airplay, companion, dmap, raop. KEY is one of up, down, left, right,\n"
    "select, menu, home, top_menu, play, pause, play_pause, stop, next, previous,\n"
    "skip_forward, skip_backward, volume_up, volume_down, channel_up,\n"
    "channel_down, screensaver.\n"
    "\n"
    "Options:\n"
    "  --json            machine-readable output (see atvctl(1) / docs/atvctl.md)\n"
    "  --system          use the system bus (default)\n"
    "  --user            use the session bus\n"
    "  --bus-address A   use the bus at address A\n"
    "  --help            show this help\n"
    "  --version         show the version\n"
    "\n"
    "Exit codes: 0 success, 1 error reported by atvd or the bus, 2 usage error,\n"
    "3 device or service not found, or a name that matches several devices.\n";

namespace {

struct CommandSpec {
    std::size_t arguments;
    std::set<std::string> options;
    std::size_t optional_arguments = 0;  // that may follow `arguments`
};

const std::map<std::string, CommandSpec>& commands() {
    static const std::map<std::string, CommandSpec> specs = {
        {"devices", {0, {}}},   {"scan", {0, {"hosts", "protocols", "id", "timeout"}}},
        {"info", {1, {}}},      {"pair", {2, {"name", "pin"}}},
        {"connect", {1, {}}},   {"close", {1, {}}},
        {"forget", {1, {}}},    {"set-credentials", {2, {}}},
        {"monitor", {0, {}}},   {"press", {2, {"double", "hold"}}},
        {"playing", {1, {}}},   {"artwork", {1, {"output", "size"}}},
        {"volume", {1, {}, 1}}, {"power", {1, {}, 1}},
        {"apps", {1, {}}},      {"launch", {2, {}}},
        {"accounts", {1, {}}},  {"switch-account", {2, {}}},
        {"text", {1, {}, 2}},
    };
    return specs;
}

// Command options that take no value.
const std::set<std::string> command_flags = {"double", "hold"};
// Short forms of command options.
const std::map<std::string, std::string> short_options = {{"-o", "output"}};

bool is_global_flag(const std::string& name, CommandLine& line) {
    if (name == "json") {
        line.json = true;
    } else if (name == "help") {
        line.help = true;
    } else if (name == "version") {
        line.version = true;
    } else if (name == "system") {
        line.bus = BusKind::system;
    } else if (name == "user") {
        line.bus = BusKind::user;
    } else {
        return false;
    }
    return true;
}

void check_arguments(const CommandLine& line) {
    const auto spec = commands().find(line.command);
    if (spec == commands().end()) {
        throw UsageError("unknown command '" + line.command + "'");
    }
    for (const auto& [name, value] : line.options) {
        if (!spec->second.options.contains(name)) {
            throw UsageError("'" + line.command + "' has no option --" + name);
        }
    }
    const std::size_t least = spec->second.arguments;
    const std::size_t most = least + spec->second.optional_arguments;
    if (line.arguments.size() < least || line.arguments.size() > most) {
        const std::string count =
            std::to_string(least) + (most > least ? " to " + std::to_string(most) : std::string{});
        throw UsageError("'" + line.command + "' takes " + count + " argument(s), got " +
                         std::to_string(line.arguments.size()));
    }
}

}  // namespace

std::optional<std::string> CommandLine::option(const std::string& name) const {
    const auto found = options.find(name);
    if (found == options.end()) {
        return std::nullopt;
    }
    return found->second;
}

CommandLine parse_command_line(const std::vector<std::string>& args) {
    CommandLine line;
    std::vector<std::string> positionals;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (const auto short_option = short_options.find(arg);
            short_option != short_options.end()) {
            if (i + 1 >= args.size()) {
                throw UsageError("option " + arg + " needs a value");
            }
            line.options[short_option->second] = args[++i];
            continue;
        }
        if (arg.size() < 3 || !arg.starts_with("--")) {
            if (arg.starts_with("-") && arg != "-") {
                throw UsageError("unknown option '" + arg + "'");
            }
            positionals.push_back(arg);
            continue;
        }
        std::string name = arg.substr(2);
        std::optional<std::string> value;
        if (const auto equals = name.find('='); equals != std::string::npos) {
            value = name.substr(equals + 1);
            name.resize(equals);
        }
        if (!value && is_global_flag(name, line)) {
            continue;
        }
        if (!value && command_flags.contains(name)) {
            line.options[name] = "";
            continue;
        }
        if (!value) {
            if (i + 1 >= args.size()) {
                throw UsageError("option --" + name + " needs a value");
            }
            value = args[++i];
        }
        if (name == "bus-address") {
            line.bus = BusKind::address;
            line.bus_address = *value;
        } else {
            line.options[name] = *value;
        }
    }
    if (line.help || line.version) {
        return line;
    }
    if (positionals.empty()) {
        throw UsageError("no command given");
    }
    line.command = positionals.front();
    line.arguments.assign(positionals.begin() + 1, positionals.end());
    check_arguments(line);
    return line;
}

std::vector<std::string> split_list(const std::string& text, const std::string& option) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (true) {
        const auto comma = text.find(',', start);
        std::string item = text.substr(start, comma - start);
        if (item.empty()) {
            throw UsageError("--" + option + " has an empty item");
        }
        items.push_back(std::move(item));
        if (comma == std::string::npos) {
            return items;
        }
        start = comma + 1;
    }
}

}  // namespace atv::ctl
