// The names of atv/control.hpp's vocabulary: one table each, indexed by the enum.
#include <array>

#include "atv/control.hpp"
#include "atv/error.hpp"

namespace atv {

namespace {

template <typename Enum, std::size_t N>
std::string_view name_in(const std::array<std::string_view, N>& names, Enum value) {
    const auto index = static_cast<std::size_t>(value);
    return index < N ? names[index] : std::string_view("unknown");
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_in(const std::array<std::string_view, N>& names, std::string_view name) {
    for (std::size_t index = 0; index < N; ++index) {
        if (names[index] == name) {
            return static_cast<Enum>(index);
        }
    }
    return std::nullopt;
}

constexpr std::array<std::string_view, 21> key_names{
    "up",         "down",         "left",         "right",         "select",     "menu",
    "home",       "top_menu",     "play",         "pause",         "play_pause", "stop",
    "next",       "previous",     "skip_forward", "skip_backward", "volume_up",  "volume_down",
    "channel_up", "channel_down", "screensaver"};

constexpr std::array<std::string_view, 3> input_action_names{"single", "double", "hold"};

constexpr std::array<std::string_view, 7> playback_state_names{
    "idle", "no-media", "loading", "playing", "paused", "stopped", "seeking"};

constexpr std::array<std::string_view, 4> media_type_names{"unknown", "video", "music", "tv"};

constexpr std::array<std::string_view, 3> shuffle_names{"off", "songs", "albums"};

constexpr std::array<std::string_view, 3> repeat_names{"off", "track", "all"};

constexpr std::array<std::string_view, feature_count> feature_names{
    "Up",
    "Down",
    "Left",
    "Right",
    "Play",
    "PlayPause",
    "Pause",
    "Stop",
    "Next",
    "Previous",
    "Select",
    "Menu",
    "VolumeUp",
    "VolumeDown",
    "Home",
    "HomeHold",
    "TopMenu",
    "Suspend",
    "WakeUp",
    "SkipForward",
    "SkipBackward",
    "SetPosition",
    "SetShuffle",
    "SetRepeat",
    "ChannelUp",
    "ChannelDown",
    "Screensaver",
    "Guide",
    "ControlCenter",
    "Title",
    "Artist",
    "Album",
    "Genre",
    "TotalTime",
    "Position",
    "Shuffle",
    "Repeat",
    "SeriesName",
    "SeasonNumber",
    "EpisodeNumber",
    "ContentIdentifier",
    "iTunesStoreIdentifier",
    "Artwork",
    "App",
    "PushUpdates",
    "AppList",
    "LaunchApp",
    "AccountList",
    "SwitchAccount",
    "PowerState",
    "TurnOn",
    "TurnOff",
    "Volume",
    "SetVolume",
    "OutputDevices",
    "AddOutputDevices",
    "RemoveOutputDevices",
    "SetOutputDevices",
    "TextFocusState",
    "TextGet",
    "TextClear",
    "TextAppend",
    "TextSet",
    "PlayUrl",
    "StreamFile",
    "Swipe",
    "Action",
    "Click",
};

constexpr std::array<std::string_view, 3> power_state_names{"unknown", "off", "on"};

constexpr std::array<std::string_view, 3> focus_state_names{"unknown", "unfocused", "focused"};

constexpr std::array<std::string_view, 4> feature_state_names{"unknown", "unsupported",
                                                              "unavailable", "available"};

// The feature of each key, in the order of Key.
constexpr std::array<Feature, 21> key_features{
    Feature::up,         Feature::down,        Feature::left,         Feature::right,
    Feature::select,     Feature::menu,        Feature::home,         Feature::top_menu,
    Feature::play,       Feature::pause,       Feature::play_pause,   Feature::stop,
    Feature::next,       Feature::previous,    Feature::skip_forward, Feature::skip_backward,
    Feature::volume_up,  Feature::volume_down, Feature::channel_up,   Feature::channel_down,
    Feature::screensaver};

static_assert(key_features.size() == key_names.size());
static_assert(key_names.size() == static_cast<std::size_t>(Key::screensaver) + 1);
static_assert(input_action_names.size() == static_cast<std::size_t>(InputAction::hold) + 1);
static_assert(playback_state_names.size() == static_cast<std::size_t>(PlaybackState::seeking) + 1);
static_assert(media_type_names.size() == static_cast<std::size_t>(MediaType::tv) + 1);
static_assert(shuffle_names.size() == static_cast<std::size_t>(ShuffleMode::albums) + 1);
static_assert(repeat_names.size() == static_cast<std::size_t>(RepeatMode::all) + 1);
static_assert(feature_state_names.size() == static_cast<std::size_t>(FeatureState::available) + 1);

}  // namespace

std::string_view to_string(Key key) {
    return name_in(key_names, key);
}

std::optional<Key> key_from_string(std::string_view name) {
    return value_in<Key>(key_names, name);
}

Feature feature_of(Key key, InputAction action) {
    if (key == Key::home && action == InputAction::hold) {
        return Feature::home_hold;
    }
    const auto index = static_cast<std::size_t>(key);
    return index < key_features.size() ? key_features[index] : Feature::select;
}

std::string_view to_string(InputAction action) {
    return name_in(input_action_names, action);
}

std::optional<InputAction> input_action_from_string(std::string_view name) {
    return value_in<InputAction>(input_action_names, name);
}

std::string_view to_string(PlaybackState state) {
    return name_in(playback_state_names, state);
}

std::string_view to_string(MediaType type) {
    return name_in(media_type_names, type);
}

std::string_view to_string(ShuffleMode mode) {
    return name_in(shuffle_names, mode);
}

std::optional<ShuffleMode> shuffle_mode_from_string(std::string_view name) {
    return value_in<ShuffleMode>(shuffle_names, name);
}

std::string_view to_string(RepeatMode mode) {
    return name_in(repeat_names, mode);
}

std::optional<RepeatMode> repeat_mode_from_string(std::string_view name) {
    return value_in<RepeatMode>(repeat_names, name);
}

std::string_view to_string(Feature feature) {
    return name_in(feature_names, feature);
}

std::string_view to_string(FeatureState state) {
    return name_in(feature_state_names, state);
}

std::string_view to_string(PowerState state) {
    return name_in(power_state_names, state);
}

std::string_view to_string(FocusState state) {
    return name_in(focus_state_names, state);
}

namespace {

Error cannot(std::string_view feature) {
    return Error(ErrorKind::not_supported, "the connection cannot do " + std::string(feature));
}

}  // namespace

FeatureState Control::feature_state(Feature feature) const {
    const FeatureMap all = features();
    const auto found = all.find(feature);
    return found == all.end() ? FeatureState::unsupported : found->second;
}

asio::awaitable<void> Control::turn_on() {
    throw cannot(to_string(Feature::turn_on));
    co_return;
}

asio::awaitable<void> Control::turn_off() {
    throw cannot(to_string(Feature::turn_off));
    co_return;
}

asio::awaitable<std::vector<NamedItem>> Control::apps() {
    throw cannot(to_string(Feature::app_list));
    co_return std::vector<NamedItem>{};
}

asio::awaitable<void> Control::launch(std::string /*app*/) {
    throw cannot(to_string(Feature::launch_app));
    co_return;
}

asio::awaitable<std::vector<NamedItem>> Control::accounts() {
    throw cannot(to_string(Feature::account_list));
    co_return std::vector<NamedItem>{};
}

asio::awaitable<void> Control::switch_account(std::string /*identifier*/) {
    throw cannot(to_string(Feature::switch_account));
    co_return;
}

asio::awaitable<std::string> Control::text() {
    throw cannot(to_string(Feature::text_get));
    co_return std::string{};
}

asio::awaitable<void> Control::set_text(std::string /*text*/) {
    throw cannot(to_string(Feature::text_set));
    co_return;
}

asio::awaitable<void> Control::append_text(std::string /*text*/) {
    throw cannot(to_string(Feature::text_append));
    co_return;
}

asio::awaitable<void> Control::clear_text() {
    throw cannot(to_string(Feature::text_clear));
    co_return;
}

}  // namespace atv
