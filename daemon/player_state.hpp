// How the control state of a connection is shown on the bus, without the bus: which interfaces
// a feature table calls for, the Features property, and which Player1 properties a new
// now-playing state changes. Pure functions, so that tests can call them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
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

// Player1's properties, in the order of the interface.
enum class PlayerProperty : std::uint8_t {
    state,
    media_type,
    title,
    artist,
    album,
    genre,
    series_name,
    season_number,
    episode_number,
    duration,
    position,
    position_timestamp,
    rate,
    shuffle,
    repeat,
    content_identifier,
    itunes_store_identifier,
    app,
    app_identifier,
    artwork_identifier,
};
inline constexpr std::size_t player_property_count = 20;
// Its name on the bus.
std::string_view to_string(PlayerProperty property);

// A set of Player1 properties, one bit each: what changed between two signals costs no
// allocation on the path of every device update.
class PlayerChanges {
  public:
    void add(PlayerProperty property) { bits_ |= bit(property); }
    PlayerChanges& operator|=(PlayerChanges other) {
        bits_ |= other.bits_;
        return *this;
    }
    [[nodiscard]] bool contains(PlayerProperty property) const {
        return (bits_ & bit(property)) != 0;
    }
    [[nodiscard]] bool empty() const { return bits_ == 0; }
    void clear() { bits_ = 0; }
    // The names, in the order of the interface.
    [[nodiscard]] std::vector<std::string> names() const;

    // Calls `visit` with each property in the set, in the order of the interface.
    template <typename Visit>
    void for_each(Visit&& visit) const {
        for (std::size_t index = 0; index < player_property_count; ++index) {
            if ((bits_ & (std::uint32_t{1} << index)) != 0) {
                visit(static_cast<PlayerProperty>(index));
            }
        }
    }

  private:
    static std::uint32_t bit(PlayerProperty property) {
        return std::uint32_t{1} << static_cast<unsigned>(property);
    }
    std::uint32_t bits_ = 0;
};

// Turns `shown` into what Player1 shows after `reported` (see PlayerUpdate), in place, reusing
// its strings' storage; returns the properties whose values changed.
PlayerChanges apply_player_update(atv::NowPlaying& shown, const atv::NowPlaying& reported);

struct PlayerUpdate {
    // What Player1 shows from now on: `reported`, except that the position and its timestamp
    // stay as they were while the position runs on as extrapolated and the rate is the same.
    atv::NowPlaying shown;
    // The Player1 properties whose values differ between the old and the new `shown`.
    std::vector<std::string> changed;
};
// apply_player_update on a copy.
PlayerUpdate player_update(const atv::NowPlaying& shown, const atv::NowPlaying& reported);

// Microseconds since the epoch of a point in time; 0 for the epoch itself or before.
std::uint64_t epoch_microseconds(std::chrono::system_clock::time_point at);

// The text as valid UTF-8, every invalid byte replaced by U+FFFD: D-Bus carries nothing else.
std::string valid_utf8(std::string_view text);
// True when valid_utf8 would return the text unchanged.
bool is_valid_utf8(std::string_view text);

}  // namespace atvd
