// How the control state of a connection is shown on the bus, without the bus: which interfaces
// a feature table calls for, the Features property, and which Player1 properties a new
// now-playing state changes. Pure functions, so that tests can call them.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "atv/control.hpp"

namespace atvd {

// Device1.Features: every feature by pyatv's name, with its state; one absent from the map is
// unsupported.
std::map<std::string, std::string> feature_table(const atv::FeatureMap& features);

// The control interfaces a connection with these features offers: an interface is there when
// some part of it is not unsupported.
struct ControlInterfaces {
    bool remote_control = false;  // a key, SetPosition, SetShuffle or SetRepeat
    bool player = false;          // push updates or any piece of what is playing
    bool audio = false;           // Volume or SetVolume
    bool power = false;           // PowerState, TurnOn or TurnOff
    bool apps = false;            // AppList, LaunchApp, AccountList or SwitchAccount
    bool keyboard = false;        // TextFocusState, TextGet, TextSet, TextAppend or TextClear

    bool operator==(const ControlInterfaces&) const = default;
};
ControlInterfaces control_interfaces(const atv::FeatureMap& features);

// A position further than this from where the previous one extrapolates to is a jump.
inline constexpr std::chrono::microseconds position_tolerance{1'000'000};

// True when `after`'s position is not where `before`'s extrapolates to at after's timestamp,
// within position_tolerance.
bool position_jumped(const atv::NowPlaying& before, const atv::NowPlaying& after);

struct PlayerUpdate {
    // What Player1 shows from now on: `reported`, except that the position and its timestamp
    // stay as they were while the position runs on as extrapolated and the rate is the same.
    atv::NowPlaying shown;
    // The Player1 properties whose values differ between the old and the new `shown`.
    std::vector<std::string> changed;
};
PlayerUpdate player_update(const atv::NowPlaying& shown, const atv::NowPlaying& reported);

// Microseconds since the epoch of a point in time; 0 for the epoch itself or before.
std::uint64_t epoch_microseconds(std::chrono::system_clock::time_point at);

// The text as valid UTF-8, every invalid byte replaced by U+FFFD: D-Bus carries nothing else.
std::string valid_utf8(std::string_view text);

}  // namespace atvd
