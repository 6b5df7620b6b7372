#include "control_arguments.hpp"

#include <cmath>
#include <limits>

#include "bus_errors.hpp"

namespace atvd {

namespace {

sdbus::Error invalid(const std::string& message) {
    return bus_error(atv::ErrorKind::invalid_arguments, message);
}

bool is_skip_key(atv::Key key) {
    return key == atv::Key::skip_forward || key == atv::Key::skip_backward;
}

std::string action_option(const sdbus::Variant& value) {
    if (!value.containsValueOfType<std::string>()) {
        throw invalid("option 'Action' must be of type 's'");
    }
    return value.get<std::string>();
}

double interval_option(atv::Key key, const sdbus::Variant& value) {
    if (!is_skip_key(key)) {
        throw invalid("option 'Interval' is for skip_forward and skip_backward only, not " +
                      std::string(atv::to_string(key)));
    }
    if (!value.containsValueOfType<double>()) {
        throw invalid("option 'Interval' must be of type 'd' (seconds)");
    }
    const double seconds = value.get<double>();
    if (!std::isfinite(seconds) || seconds <= 0) {
        throw invalid("option 'Interval' must be a number of seconds greater than zero");
    }
    return seconds;
}

}  // namespace

atv::Key key_argument(const std::string& name) {
    if (auto key = atv::key_from_string(name)) {
        return *key;
    }
    std::string known;
    for (int index = 0; index <= static_cast<int>(atv::Key::screensaver); ++index) {
        known +=
            (known.empty() ? "" : ", ") + std::string(atv::to_string(static_cast<atv::Key>(index)));
    }
    throw invalid("unknown key '" + name + "' (known: " + known + ")");
}

PressOptions parse_press_options(atv::Key key,
                                 const std::map<std::string, sdbus::Variant>& options) {
    PressOptions parsed;
    for (const auto& [name, value] : options) {
        if (name == "Action") {
            const std::string action = action_option(value);
            const auto known = atv::input_action_from_string(action);
            if (!known) {
                throw invalid("unknown action '" + action + "' (known: single, double, hold)");
            }
            parsed.action = *known;
        } else if (name == "Interval") {
            parsed.interval = interval_option(key, value);
        } else {
            throw invalid("unknown option '" + name + "' (known: Action, Interval)");
        }
    }
    return parsed;
}

atv::ShuffleMode shuffle_argument(const std::string& name) {
    if (auto mode = atv::shuffle_mode_from_string(name)) {
        return *mode;
    }
    throw invalid("unknown shuffle mode '" + name + "' (known: off, songs, albums)");
}

atv::RepeatMode repeat_argument(const std::string& name) {
    if (auto mode = atv::repeat_mode_from_string(name)) {
        return *mode;
    }
    throw invalid("unknown repeat mode '" + name + "' (known: off, track, all)");
}

std::chrono::microseconds position_argument(std::uint64_t microseconds) {
    using Rep = std::chrono::microseconds::rep;
    if (microseconds > static_cast<std::uint64_t>(std::numeric_limits<Rep>::max())) {
        throw invalid("position " + std::to_string(microseconds) + " µs is out of range");
    }
    return std::chrono::microseconds(static_cast<Rep>(microseconds));
}

double volume_argument(double volume) {
    if (!std::isfinite(volume) || volume < 0 || volume > 100) {
        throw invalid("volume must be a number from 0 to 100");
    }
    return volume;
}

}  // namespace atvd
