#include "options.hpp"

#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>

#include "atvd-config.h"

namespace atvd::mqtt {

namespace {

constexpr const char* usage = R"(Usage: atvd-mqtt [OPTIONS]

Publishes the Apple TVs that atvd knows to an MQTT broker (state, artwork, availability and
Home Assistant discovery) and carries out the commands published to it.

  --config FILE            read settings from FILE (default /etc/atvd/mqtt.conf if it exists);
                           options on the command line win
  --broker URL             mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS)
  --prefix PREFIX          topic prefix (default atvd)
  --node-id ID             this bridge's name under the prefix (default the host name)
  --discovery-prefix P     Home Assistant's discovery prefix (default homeassistant)
  --bus-address ADDR       atvd's bus (default $DBUS_SYSTEM_BUS_ADDRESS, else the system bus)
  --log-level LEVEL        debug, info, warning, error or off (default info)
  -v, --verbose            log debug messages
  --help                   show this help
  --version                show the version
)";

constexpr const char* default_config = "/etc/atvd/mqtt.conf";

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r");
    return std::string(text.substr(first, last - first + 1));
}

bool valid_level(std::string_view level) {
    for (std::string_view known : {"debug", "info", "warning", "error", "off"}) {
        if (level == known) {
            return true;
        }
    }
    return false;
}

bool parse_bool(const std::string& value, bool& out) {
    if (value == "yes" || value == "true") {
        out = true;
        return true;
    }
    if (value == "no" || value == "false") {
        out = false;
        return true;
    }
    return false;
}

bool parse_number(const std::string& value, long low, long high, long& out) {
    if (value.empty() || value.size() > 12) {
        return false;
    }
    char* end = nullptr;
    out = std::strtol(value.c_str(), &end, 10);
    return *end == '\0' && out >= low && out <= high;
}

// mqtt.conf: "key = value" lines, '#' comments; an unknown key or a bad value is an error.
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
        std::string problem;
        long number_value = 0;
        if (key == "broker") {
            if (!parse_broker_url(value, options, problem)) {
                return where + problem;
            }
        } else if (key == "ca-file") {
            options.ca_file = value;
        } else if (key == "ca-path") {
            options.ca_path = value;
        } else if (key == "cert-file") {
            options.cert_file = value;
        } else if (key == "key-file") {
            options.key_file = value;
        } else if (key == "username") {
            options.username = value;
        } else if (key == "password-file") {
            options.password_file = value;
        } else if (key == "client-id") {
            if (value.empty() || value.size() > 128) {
                return where + "client-id takes 1 to 128 characters";
            }
            options.client_id = value;
        } else if (key == "keepalive") {
            if (!parse_number(value, 5, 3600, number_value)) {
                return where + "keepalive takes seconds from 5 to 3600";
            }
            options.keepalive = static_cast<int>(number_value);
        } else if (key == "prefix") {
            if (!valid_topic_prefix(value)) {
                return where + "prefix '" + value +
                       "' is not a topic prefix (levels joined by '/', " +
                       "no '+', '#' or NUL, not starting with '$')";
            }
            options.prefix = value;
        } else if (key == "node-id") {
            if (!valid_node_id(value)) {
                return where + "node-id takes 1 to 64 of A-Z, a-z, 0-9, '_' and '-'";
            }
            options.node_id = value;
        } else if (key == "discovery") {
            if (!parse_bool(value, options.discovery)) {
                return where + "discovery takes yes or no";
            }
        } else if (key == "discovery-prefix") {
            if (!valid_topic_prefix(value)) {
                return where + "discovery-prefix '" + value + "' is not a topic prefix";
            }
            options.discovery_prefix = value;
        } else if (key == "max-payload") {
            if (!parse_number(value, 64, 16 * 1024 * 1024, number_value)) {
                return where + "max-payload takes bytes from 64 to 16777216";
            }
            options.max_payload = static_cast<std::size_t>(number_value);
        } else if (key == "artwork") {
            if (!parse_bool(value, options.artwork)) {
                return where + "artwork takes yes or no";
            }
        } else if (key == "bus-address") {
            options.bus_address = value;
        } else if (key == "log-level") {
            if (!valid_level(value)) {
                return where + "unknown log level '" + value + "'";
            }
            options.log_level = value;
        } else {
            return where + "unknown key '" + key +
                   "' (known: broker, ca-file, ca-path, cert-file, key-file, username, "
                   "password-file, client-id, keepalive, prefix, node-id, discovery, "
                   "discovery-prefix, max-payload, artwork, bus-address, log-level)";
        }
    }
    return {};
}

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

Options refuse(Options options, const std::string& problem) {
    std::fprintf(stderr, "atvd-mqtt: %s\n", problem.c_str());
    options.exit_now = true;
    options.exit_code = 2;
    return options;
}

std::string default_node_id() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) {
        return "atvd";
    }
    std::string id;
    for (const char* c = name; *c != '\0' && *c != '.' && id.size() < 64; ++c) {
        const bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                           (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
        id += plain ? *c : '_';
    }
    return id.empty() ? "atvd" : id;
}

// The rest of the settings once both sources are read: defaults that depend on others, the
// password, and combinations that cannot work.
std::string finish(Options& options) {
    if (options.node_id.empty()) {
        options.node_id = default_node_id();
    }
    if (options.client_id.empty()) {
        options.client_id = "atvd-mqtt-" + options.node_id;
    }
    if (!options.password_file.empty()) {
        std::ifstream in(options.password_file);
        if (!in) {
            return "cannot read the password file " + options.password_file;
        }
        std::getline(in, options.password);
        if (!options.password.empty() && options.password.back() == '\r') {
            options.password.pop_back();
        }
        if (options.password.empty()) {
            return "the password file " + options.password_file + " is empty";
        }
        if (options.username.empty()) {
            return "password-file needs a username";
        }
    }
    if (!options.tls && (!options.ca_file.empty() || !options.ca_path.empty() ||
                         !options.cert_file.empty() || !options.key_file.empty())) {
        return "ca-file, ca-path, cert-file and key-file need an mqtts:// broker";
    }
    if (options.tls && options.ca_file.empty() && options.ca_path.empty()) {
        options.ca_path = "/etc/ssl/certs";
    }
    if (options.cert_file.empty() != options.key_file.empty()) {
        return "cert-file and key-file go together";
    }
    return {};
}

}  // namespace

bool parse_broker_url(const std::string& url, Options& options, std::string& problem) {
    std::string_view rest = url;
    bool tls = false;
    if (rest.starts_with("mqtt://")) {
        rest.remove_prefix(7);
    } else if (rest.starts_with("mqtts://")) {
        rest.remove_prefix(8);
        tls = true;
    } else {
        problem = "broker '" + url + "' is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]";
        return false;
    }
    if (!rest.empty() && rest.back() == '/') {
        rest.remove_suffix(1);
    }
    std::string_view host = rest;
    int port = tls ? 8883 : 1883;
    std::string_view port_text;
    if (rest.starts_with('[')) {  // [IPv6]:port
        const auto close = rest.find(']');
        if (close == std::string_view::npos) {
            problem = "broker '" + url + "': unclosed '['";
            return false;
        }
        host = rest.substr(1, close - 1);
        const auto after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                problem = "broker '" + url + "': expected ':PORT' after ']'";
                return false;
            }
            port_text = after.substr(1);
        }
    } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        port_text = rest.substr(colon + 1);
    }
    if (!port_text.empty() ||
        (rest.find(':') != std::string_view::npos && !rest.starts_with('['))) {
        long value = 0;
        if (!parse_number(std::string(port_text), 1, 65535, value)) {
            problem = "broker '" + url + "': the port must be a number from 1 to 65535";
            return false;
        }
        port = static_cast<int>(value);
    }
    if (host.empty() || host.find_first_of("/@?# ") != std::string_view::npos) {
        problem = "broker '" + url + "': no host name";
        return false;
    }
    options.host = std::string(host);
    options.port = port;
    options.tls = tls;
    return true;
}

bool valid_topic_prefix(const std::string& prefix) {
    if (prefix.empty() || prefix.size() > 200 || prefix.front() == '$' || prefix.front() == '/' ||
        prefix.back() == '/' || prefix.find("//") != std::string::npos) {
        return false;
    }
    for (const char c : prefix) {
        if (c == '+' || c == '#' || c == '\0' || static_cast<unsigned char>(c) < 0x20) {
            return false;
        }
    }
    return true;
}

bool valid_node_id(const std::string& id) {
    if (id.empty() || id.size() > 64) {
        return false;
    }
    for (const char c : id) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!plain) {
            return false;
        }
    }
    return true;
}

Options parse_options(int argc, char** argv) {
    enum {
        opt_config = 256,
        opt_broker,
        opt_prefix,
        opt_node,
        opt_discovery_prefix,
        opt_bus,
        opt_level,
        opt_help,
        opt_version
    };
    static const option long_options[] = {
        {"config", required_argument, nullptr, opt_config},
        {"broker", required_argument, nullptr, opt_broker},
        {"prefix", required_argument, nullptr, opt_prefix},
        {"node-id", required_argument, nullptr, opt_node},
        {"discovery-prefix", required_argument, nullptr, opt_discovery_prefix},
        {"bus-address", required_argument, nullptr, opt_bus},
        {"log-level", required_argument, nullptr, opt_level},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, opt_help},
        {"version", no_argument, nullptr, opt_version},
        {nullptr, 0, nullptr, 0},
    };
    Options options;
    const auto config = config_argument(argc, argv);
    options.config_file = config.value_or(default_config);
    if (std::string problem = apply_config_file(options, options.config_file, config.has_value());
        !problem.empty()) {
        return refuse(std::move(options), problem);
    }
    int choice = 0;
    while ((choice = getopt_long(argc, argv, "v", long_options, nullptr)) != -1) {
        std::string problem;
        switch (choice) {
            case opt_config:
                break;  // read before the other options
            case opt_broker:
                if (!parse_broker_url(optarg, options, problem)) {
                    return refuse(std::move(options), problem);
                }
                break;
            case opt_prefix:
                if (!valid_topic_prefix(optarg)) {
                    return refuse(std::move(options), "--prefix '" + std::string(optarg) +
                                                          "' is not a topic prefix (levels " +
                                                          "joined by '/', no '+', '#' or NUL, " +
                                                          "not starting with '$')");
                }
                options.prefix = optarg;
                break;
            case opt_node:
                if (!valid_node_id(optarg)) {
                    return refuse(std::move(options),
                                  "--node-id takes 1 to 64 of A-Z, a-z, 0-9, '_' and '-'");
                }
                options.node_id = optarg;
                break;
            case opt_discovery_prefix:
                if (!valid_topic_prefix(optarg)) {
                    return refuse(std::move(options), "--discovery-prefix '" + std::string(optarg) +
                                                          "' is not a topic prefix");
                }
                options.discovery_prefix = optarg;
                break;
            case opt_bus:
                options.bus_address = optarg;
                break;
            case opt_level:
                if (!valid_level(optarg)) {
                    return refuse(std::move(options),
                                  "unknown log level '" + std::string(optarg) + "'");
                }
                options.log_level = optarg;
                break;
            case 'v':
                options.log_level = "debug";
                break;
            case opt_help:
                std::fputs(usage, stdout);
                options.exit_now = true;
                return options;
            case opt_version:
                std::printf("atvd-mqtt %s\n", ATVD_VERSION);
                options.exit_now = true;
                return options;
            default:
                std::fputs("Try 'atvd-mqtt --help'.\n", stderr);
                options.exit_now = true;
                options.exit_code = 2;
                return options;
        }
    }
    if (optind < argc) {
        return refuse(std::move(options), "unexpected argument '" + std::string(argv[optind]) +
                                              "'\nTry 'atvd-mqtt --help'.");
    }
    if (std::string problem = finish(options); !problem.empty()) {
        return refuse(std::move(options), problem);
    }
    return options;
}

}  // namespace atvd::mqtt
