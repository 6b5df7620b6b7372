#include "options.hpp"

#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "atvd-config.h"

namespace atvd {

namespace {

constexpr const char* usage = R"(Usage: atvd [OPTIONS]

Finds Apple TVs, HomePods and AirPlay devices on the local network and offers pairing and
connecting to them on D-Bus (org.atvd).

  --system               use the system bus (default)
  --user                 use the session bus; state under $XDG_STATE_HOME/atvd
  --bus-address ADDR     use the bus at ADDR (for tests)
  --state-dir DIR        keep credentials in DIR
  -v, --verbose          log more (repeat for the most)
  --log-level LEVEL      trace, debug, info, warning, error or off (default info)
  --log-target TARGET    auto, journal or stderr (default auto: the journal when stderr
                         is connected to it)
  --vanish-grace MS      how long a vanished unpaired device stays before it is removed
                         (default 5000)
  --config FILE          read settings from FILE (default /etc/atvd/atvd.conf if it exists);
                         options on the command line win
  --help                 show this help
  --version              show the version
)";

std::filesystem::path default_state_dir(BusKind bus) {
    if (const char* systemd = std::getenv("STATE_DIRECTORY"); systemd != nullptr && *systemd) {
        return std::string_view(systemd).substr(0, std::string_view(systemd).find(':'));
    }
    if (bus != BusKind::user) {
        return "/var/lib/atvd";
    }
    if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg) {
        return std::filesystem::path(xdg) / "atvd";
    }
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : "/tmp") / ".local/state/atvd";
}

constexpr const char* default_config = "/etc/atvd/atvd.conf";

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r");
    return std::string(text.substr(first, last - first + 1));
}

bool valid_level(std::string_view level);

// The settings atvd.conf gives in milliseconds, by key.
std::chrono::milliseconds* milliseconds_setting(Settings& settings, std::string_view key) {
    if (key == "vanish-grace-ms") {
        return &settings.vanish_grace;
    }
    if (key == "reconnect-first-ms") {
        return &settings.reconnect_first;
    }
    if (key == "reconnect-max-ms") {
        return &settings.reconnect_longest;
    }
    return nullptr;
}

// atvd.conf(5): "key = value" lines, '#' comments. Returns an error text, empty when fine.
std::string apply_config_file(Options& options, const std::string& path, bool required) {
    std::ifstream in(path);
    if (!in) {
        return required ? "cannot read the configuration file " + path : std::string();
    }
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const std::string content = trim(line.substr(0, line.find('#')));
        if (content.empty()) {
            continue;
        }
        const auto equals = content.find('=');
        const std::string where = path + ":" + std::to_string(number) + ": ";
        if (equals == std::string::npos) {
            return where + "expected 'key = value'";
        }
        const std::string key = trim(content.substr(0, equals));
        const std::string value = trim(content.substr(equals + 1));
        if (key == "log-level") {
            if (!valid_level(value)) {
                return where + "unknown log level '" + value + "'";
            }
            options.log_level = value;
        } else if (key == "log-target") {
            const auto target = log_target_from_string(value);
            if (!target) {
                return where + "unknown log target '" + value + "' (known: auto, journal, stderr)";
            }
            options.log_target = *target;
        } else if (auto* setting = milliseconds_setting(options.settings, key)) {
            char* end = nullptr;
            const long ms = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || ms < 0 || (ms == 0 && key != "vanish-grace-ms")) {
                return where + key + " takes a number of milliseconds" +
                       (key == "vanish-grace-ms" ? "" : " above 0");
            }
            *setting = std::chrono::milliseconds(ms);
        } else if (key == "state-dir") {
            options.state_dir = value;
        } else {
            return where + "unknown key '" + key +
                   "' (known: log-level, log-target, vanish-grace-ms, reconnect-first-ms, "
                   "reconnect-max-ms, state-dir)";
        }
    }
    return {};
}

// The --config FILE given on the command line, if any; getopt reads it again later.
std::optional<std::string> config_argument(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            return argv[i + 1];
        }
        if (arg.starts_with("--config=")) {
            return std::string(arg.substr(9));
        }
    }
    return std::nullopt;
}

bool valid_level(std::string_view level) {
    for (std::string_view known : {"trace", "debug", "info", "warning", "error", "off"}) {
        if (level == known) {
            return true;
        }
    }
    return false;
}

Options refuse(Options options, std::string problem, bool print) {
    if (print) {
        std::fprintf(stderr, "atvd: %s\n", problem.c_str());
    }
    options.problem = std::move(problem);
    options.exit_now = true;
    options.exit_code = 2;
    return options;
}

// The options of argv over those of the configuration file. With print, answers --help and
// --version and prints problems; without, only reports them (SIGHUP).
Options parse(int argc, char** argv, bool print) {
    enum {
        opt_system = 256,
        opt_user,
        opt_bus,
        opt_state,
        opt_level,
        opt_target,
        opt_grace,
        opt_config,
        opt_help,
        opt_version
    };
    static const option long_options[] = {
        {"system", no_argument, nullptr, opt_system},
        {"user", no_argument, nullptr, opt_user},
        {"bus-address", required_argument, nullptr, opt_bus},
        {"state-dir", required_argument, nullptr, opt_state},
        {"verbose", no_argument, nullptr, 'v'},
        {"log-level", required_argument, nullptr, opt_level},
        {"log-target", required_argument, nullptr, opt_target},
        {"vanish-grace", required_argument, nullptr, opt_grace},
        {"config", required_argument, nullptr, opt_config},
        {"help", no_argument, nullptr, opt_help},
        {"version", no_argument, nullptr, opt_version},
        {nullptr, 0, nullptr, 0},
    };
    Options options;
    const auto config = config_argument(argc, argv);
    options.config_file = config.value_or(default_config);
    if (std::string problem =
            apply_config_file(options, options.config_file.string(), config.has_value());
        !problem.empty()) {
        return refuse(std::move(options), std::move(problem), print);
    }
    int verbosity = 0;
    int choice = 0;
    opterr = print ? 1 : 0;
    optind = 0;  // getopt starts afresh: this runs again on SIGHUP
    while ((choice = getopt_long(argc, argv, "v", long_options, nullptr)) != -1) {
        switch (choice) {
            case opt_system:
                options.bus = BusKind::system;
                break;
            case opt_user:
                options.bus = BusKind::user;
                break;
            case opt_bus:
                options.bus = BusKind::address;
                options.bus_address = optarg;
                break;
            case opt_state:
                options.state_dir = optarg;
                break;
            case 'v':
                ++verbosity;
                break;
            case opt_level:
                if (!valid_level(optarg)) {
                    return refuse(std::move(options),
                                  "unknown log level '" + std::string(optarg) + "'", print);
                }
                options.log_level = optarg;
                break;
            case opt_target: {
                const auto target = log_target_from_string(optarg);
                if (!target) {
                    return refuse(std::move(options),
                                  "unknown log target '" + std::string(optarg) + "'", print);
                }
                options.log_target = *target;
                break;
            }
            case opt_grace: {
                char* end = nullptr;
                const long ms = std::strtol(optarg, &end, 10);
                if (end == optarg || *end != '\0' || ms < 0) {
                    return refuse(std::move(options), "--vanish-grace takes milliseconds", print);
                }
                options.settings.vanish_grace = std::chrono::milliseconds(ms);
                break;
            }
            case opt_config:
                break;  // read before the other options
            case opt_help:
                if (print) {
                    std::fputs(usage, stdout);
                }
                options.exit_now = true;
                return options;
            case opt_version:
                if (print) {
                    std::printf("atvd %s\n", ATVD_VERSION);
                }
                options.exit_now = true;
                return options;
            default:
                if (print) {
                    std::fputs("Try 'atvd --help'.\n", stderr);
                }
                options.exit_now = true;
                options.exit_code = 2;
                options.problem = "bad command line";
                return options;
        }
    }
    if (optind < argc) {
        return refuse(std::move(options),
                      "unexpected argument '" + std::string(argv[optind]) + "'\nTry 'atvd --help'.",
                      print);
    }
    if (verbosity == 1) {
        options.log_level = "debug";
    } else if (verbosity > 1) {
        options.log_level = "trace";
    }
    if (options.state_dir.empty()) {
        options.state_dir = default_state_dir(options.bus);
    }
    return options;
}

}  // namespace

Options parse_options(int argc, char** argv) {
    return parse(argc, argv, true);
}

Options reparse_options(int argc, char** argv) {
    return parse(argc, argv, false);
}

}  // namespace atvd
