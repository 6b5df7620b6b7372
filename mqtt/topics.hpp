// The bridge's topics: what it may publish on, and a command topic taken apart.
#pragma once

#include <string>

namespace atvd::mqtt {

// A device id from a topic: the D-Bus path element atvd gives it ([A-Za-z0-9_]).
bool valid_device_id(const std::string& id);

// A topic the bridge may publish on: valid UTF-8, no wildcard, no NUL.
bool publishable(const std::string& topic);

// <base>/<device>/set/<command>, taken apart. `reply_topic` is where the answer goes: the
// device's result topic, or the bridge's own when the device part could not carry one.
struct CommandTopic {
    std::string device_id;
    std::string command;
    std::string reply_topic;
    bool well_formed = false;
};

// The command a topic under `base` + "/" names; `base` itself is the bridge's prefix/node.
CommandTopic parse_command_topic(const std::string& base, const std::string& topic);

}  // namespace atvd::mqtt
