#include "topics.hpp"

#include <mosquitto.h>

#include <algorithm>
#include <vector>

namespace atvd::mqtt {

bool valid_device_id(const std::string& id) {
    return !id.empty() && id.size() <= 255 && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

bool publishable(const std::string& topic) {
    return mosquitto_validate_utf8(topic.data(), static_cast<int>(topic.size())) ==
               MOSQ_ERR_SUCCESS &&
           topic.find('\0') == std::string::npos &&
           mosquitto_pub_topic_check2(topic.data(), topic.size()) == MOSQ_ERR_SUCCESS;
}

CommandTopic parse_command_topic(const std::string& base, const std::string& topic) {
    CommandTopic parsed;
    const std::string bridge_result = base + "/result";
    const std::string rest = topic.substr(std::min(topic.size(), base.size() + 1));
    std::vector<std::string> levels;
    for (std::size_t start = 0;;) {
        const auto slash = rest.find('/', start);
        levels.push_back(rest.substr(start, slash - start));
        if (slash == std::string::npos) {
            break;
        }
        start = slash + 1;
    }
    parsed.device_id = levels.front();
    parsed.reply_topic = base + "/" + parsed.device_id + "/result";
    // A device part with a wildcard or a NUL would make the answer unpublishable.
    if (parsed.device_id.empty() || !publishable(parsed.reply_topic)) {
        parsed.reply_topic = bridge_result;
    }
    parsed.command = levels.size() >= 3 ? levels[2] : std::string();
    parsed.well_formed = topic.starts_with(base + "/") && levels.size() == 3 &&
                         !parsed.device_id.empty() && levels[1] == "set" &&
                         !parsed.command.empty() && publishable(topic);
    return parsed;
}

}  // namespace atvd::mqtt
