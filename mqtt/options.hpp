// Command line and /etc/atvd/mqtt.conf of atvd-mqtt.
#pragma once

#include <optional>
#include <string>

namespace atvd::mqtt {

struct Options {
    // The broker: host, port, whether TLS is used.
    std::string host = "localhost";
    int port = 1883;
    bool tls = false;
    std::string ca_file;
    std::string ca_path;
    std::string cert_file;
    std::string key_file;
    std::string username;
    std::string password_file;
    std::string password;  // read from password_file
    std::string client_id;
    int keepalive = 30;  // seconds

    std::string prefix = "atvd";
    std::string node_id;  // defaults to the host name
    bool discovery = true;
    std::string discovery_prefix = "homeassistant";
    std::size_t max_payload = 65536;
    bool artwork = true;

    std::string bus_address;  // empty: DBUS_SYSTEM_BUS_ADDRESS or the standard system bus
    std::string log_level = "info";
    std::string config_file;

    bool exit_now = false;
    int exit_code = 0;
};

// Parses argv over the configuration file (argv wins). Prints help, version and problems.
Options parse_options(int argc, char** argv);

// A broker URL, mqtt://HOST[:PORT] or mqtts://HOST[:PORT]; the problem in `problem` if not.
bool parse_broker_url(const std::string& url, Options& options, std::string& problem);

// A topic prefix: levels separated by '/', none empty, no wildcard, no NUL, not starting
// with '$' (the broker's own topics).
bool valid_topic_prefix(const std::string& prefix);

// A node id: 1-64 of [A-Za-z0-9_-], which Home Assistant also accepts in discovery topics.
bool valid_node_id(const std::string& id);

}  // namespace atvd::mqtt
