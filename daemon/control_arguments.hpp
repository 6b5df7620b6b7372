// Validation of what D-Bus callers send to the control interfaces (RemoteControl1, Player1,
// Audio1). Kept apart from the objects (no bus, no loop) so that tests can call it. Every
// function throws sdbus::Error org.atvd.Error.InvalidArguments with a message naming the culprit.
#pragma once

#include <sdbus-c++/Types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "atv/control.hpp"

namespace atvd {

// A key as RemoteControl1.Press names it (up, top_menu, play_pause, ...).
atv::Key key_argument(const std::string& name);

struct PressOptions {
    atv::InputAction action = atv::InputAction::single;
    std::optional<double> interval;  // seconds; skip keys only
};

// Press's options: Action (s: single, double, hold), Interval (d, seconds > 0, skip keys only).
PressOptions parse_press_options(atv::Key key,
                                 const std::map<std::string, sdbus::Variant>& options);

atv::ShuffleMode shuffle_argument(const std::string& name);
atv::RepeatMode repeat_argument(const std::string& name);
// SetPosition's microseconds; values beyond what a clock can hold are refused.
std::chrono::microseconds position_argument(std::uint64_t microseconds);
// SetVolume's level: a number from 0 to 100.
double volume_argument(double volume);

}  // namespace atvd
