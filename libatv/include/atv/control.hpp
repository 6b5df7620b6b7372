// Controlling a connected device: remote keys, what is playing, artwork, volume and the feature
// table. The vocabulary is pyatv's (its const.py), so that whoever knows pyatv's names maps them
// 1:1. Every protocol that can control a device offers a Control; a connection offers one that
// picks, per feature, the protocol that serves it.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/bytes.hpp"

namespace atv {

enum class Key : std::uint8_t {
    up,
    down,
    left,
    right,
    select,
    menu,
    home,
    top_menu,
    play,
    pause,
    play_pause,
    stop,
    next,
    previous,
    skip_forward,
    skip_backward,
    volume_up,
    volume_down,
    channel_up,
    channel_down,
    screensaver,
};

// "up", "top_menu", "play_pause", ... as RemoteControl1.Press names them.
std::string_view to_string(Key key);
std::optional<Key> key_from_string(std::string_view name);

enum class InputAction : std::uint8_t { single, double_tap, hold };

// "single", "double", "hold".
std::string_view to_string(InputAction action);
std::optional<InputAction> input_action_from_string(std::string_view name);

enum class PlaybackState : std::uint8_t {
    idle,
    no_media,
    loading,
    playing,
    paused,
    stopped,
    seeking
};
enum class MediaType : std::uint8_t { unknown, video, music, tv };
enum class ShuffleMode : std::uint8_t { off, songs, albums };
enum class RepeatMode : std::uint8_t { off, track, all };

// "idle", "no-media", "loading", "playing", "paused", "stopped", "seeking".
std::string_view to_string(PlaybackState state);
// "unknown", "video", "music", "tv".
std::string_view to_string(MediaType type);
// "off", "songs", "albums".
std::string_view to_string(ShuffleMode mode);
std::optional<ShuffleMode> shuffle_mode_from_string(std::string_view name);
// "off", "track", "all".
std::string_view to_string(RepeatMode mode);
std::optional<RepeatMode> repeat_mode_from_string(std::string_view name);

// The features of pyatv 0.18 that atvd reports, by pyatv's names.
enum class Feature : std::uint8_t {
    up,
    down,
    left,
    right,
    play,
    play_pause,
    pause,
    stop,
    next,
    previous,
    select,
    menu,
    volume_up,
    volume_down,
    home,
    home_hold,
    top_menu,
    suspend,
    wake_up,
    skip_forward,
    skip_backward,
    set_position,
    set_shuffle,
    set_repeat,
    channel_up,
    channel_down,
    screensaver,
    guide,
    control_center,
    title,
    artist,
    album,
    genre,
    total_time,
    position,
    shuffle,
    repeat,
    series_name,
    season_number,
    episode_number,
    content_identifier,
    itunes_store_identifier,
    artwork,
    app,
    push_updates,
    app_list,
    launch_app,
    account_list,
    switch_account,
    power_state,
    turn_on,
    turn_off,
    volume,
    set_volume,
    output_devices,
    add_output_devices,
    remove_output_devices,
    set_output_devices,
    text_focus_state,
    text_get,
    text_clear,
    text_append,
    text_set,
    play_url,
    stream_file,
    swipe,
    action,
    click,
};

inline constexpr std::size_t feature_count = static_cast<std::size_t>(Feature::click) + 1;

// "Up", "PlayPause", "iTunesStoreIdentifier", ... as pyatv names them.
std::string_view to_string(Feature feature);

// Unknown: the protocol cannot tell; Unsupported: never on this connection; Unavailable:
// supported, not now (nothing playing, say); Available: usable now.
enum class FeatureState : std::uint8_t { unknown, unsupported, unavailable, available };

// "unknown", "unsupported", "unavailable", "available".
std::string_view to_string(FeatureState state);

using FeatureMap = std::map<Feature, FeatureState>;

// The feature pressing `key` with `action` needs (Home held is HomeHold).
Feature feature_of(Key key, InputAction action);

// What is playing, as one value: unknown strings are empty, unknown numbers 0.
struct NowPlaying {
    PlaybackState state = PlaybackState::idle;
    MediaType media_type = MediaType::unknown;
    std::string title;
    std::string artist;
    std::string album;
    std::string genre;
    std::string series_name;
    std::uint32_t season_number = 0;
    std::uint32_t episode_number = 0;
    std::chrono::microseconds duration{0};
    // The position at position_timestamp, advancing at rate from then on.
    std::chrono::microseconds position{0};
    std::chrono::system_clock::time_point position_timestamp{};
    double rate = 0.0;
    ShuffleMode shuffle = ShuffleMode::off;
    RepeatMode repeat = RepeatMode::off;
    std::string content_identifier;
    std::string itunes_store_identifier;
    std::string app;                 // the app's name
    std::string app_identifier;      // its bundle id
    std::string artwork_identifier;  // changes whenever the artwork does; empty without one

    bool operator==(const NowPlaying&) const = default;
};

struct Artwork {
    std::string mime_type;
    Bytes data;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
};

enum class PowerState : std::uint8_t { unknown, off, on };
enum class FocusState : std::uint8_t { unknown, unfocused, focused };

// "unknown", "off", "on".
std::string_view to_string(PowerState state);
// "unknown", "unfocused", "focused".
std::string_view to_string(FocusState state);

// A launchable app or a user account: its identifier (bundle id, account id) and its name.
struct NamedItem {
    std::string identifier;
    std::string name;

    bool operator==(const NamedItem&) const = default;
};

// What a Control tells as the device reports it; each call carries the whole new value.
struct ControlEvents {
    std::function<void(const NowPlaying&)> now_playing;
    std::function<void(std::optional<double> volume)> volume;  // 0-100; nullopt: not available
    std::function<void(const FeatureMap&)> features;
    std::function<void(PowerState)> power_state;
    std::function<void(FocusState)> focus_state;
};

// Errors of every method: not_supported (the feature is not available now; the message names
// it), connection_lost, timeout, invalid_arguments.
class Control {
  public:
    virtual ~Control() = default;

    [[nodiscard]] virtual FeatureMap features() const = 0;
    // One feature's state, without a copy of the whole table where the protocol keeps one;
    // by default looked up in features().
    [[nodiscard]] virtual FeatureState feature_state(Feature feature) const;
    [[nodiscard]] virtual const NowPlaying& now_playing() const = 0;
    [[nodiscard]] virtual std::optional<double> volume() const = 0;
    // Replaces the listener; events come on the loop, never from inside a call.
    virtual void set_events(ControlEvents events) = 0;

    // Returns once the device took the key. `interval` is the skip keys' interval in seconds.
    virtual asio::awaitable<void> press(Key key, InputAction action,
                                        std::optional<double> interval) = 0;
    virtual asio::awaitable<void> set_position(std::chrono::microseconds position) = 0;
    virtual asio::awaitable<void> set_shuffle(ShuffleMode mode) = 0;
    virtual asio::awaitable<void> set_repeat(RepeatMode mode) = 0;
    // The current artwork scaled to fit width x height (0: the device's own size); not_found
    // when there is none.
    virtual asio::awaitable<Artwork> artwork(std::uint32_t width, std::uint32_t height) = 0;
    // 0-100.
    virtual asio::awaitable<void> set_volume(double volume) = 0;
    virtual asio::awaitable<void> volume_up() = 0;
    virtual asio::awaitable<void> volume_down() = 0;

    // Power, apps, accounts and text input: a protocol that has none of them keeps these
    // defaults, which report unknown states and fail with not_supported.
    [[nodiscard]] virtual PowerState power_state() const { return PowerState::unknown; }
    virtual asio::awaitable<void> turn_on();
    virtual asio::awaitable<void> turn_off();
    virtual asio::awaitable<std::vector<NamedItem>> apps();
    // A bundle id, or a URL the device opens.
    virtual asio::awaitable<void> launch(std::string app);
    virtual asio::awaitable<std::vector<NamedItem>> accounts();
    virtual asio::awaitable<void> switch_account(std::string identifier);
    [[nodiscard]] virtual FocusState focus_state() const { return FocusState::unknown; }
    virtual asio::awaitable<std::string> text();
    virtual asio::awaitable<void> set_text(std::string text);
    virtual asio::awaitable<void> append_text(std::string text);
    virtual asio::awaitable<void> clear_text();
};

}  // namespace atv
