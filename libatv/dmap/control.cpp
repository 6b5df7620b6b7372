#include "dmap/control.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <cmath>
#include <functional>
#include <tuple>
#include <utility>

#include "atv/error.hpp"
#include "dmap/connection.hpp"
#include "mrp/player_state.hpp"

namespace atv::dmap {

namespace {

constexpr double max_skip_seconds = 3600.0;
constexpr std::size_t max_string_bytes = 1024;
// A time of all ones means "not known" to the device.
constexpr std::uint64_t unknown_time = 0xFFFFFFFF;

// Play states of caps, as the device numbers them.
constexpr std::uint64_t caps_loading = 1;
constexpr std::uint64_t caps_stopped = 2;
constexpr std::uint64_t caps_paused = 3;
constexpr std::uint64_t caps_playing = 4;
constexpr std::uint64_t caps_seeking_forward = 5;
constexpr std::uint64_t caps_seeking_backward = 6;

// cmcc of a control prompt entry: a named key, or a touch event on the Remote app's pad.
constexpr std::uint8_t prompt_key = 0;
constexpr std::uint8_t prompt_touch = 0x30;

std::optional<std::uint64_t> uint_of(const Tag& status, std::string_view name) {
    const Tag* tag = status.find(name);
    if (tag == nullptr || tag->type != TagType::uint) {
        return std::nullopt;
    }
    return tag->as_uint();
}

std::optional<std::uint64_t> time_of(const Tag& status, std::string_view name) {
    const auto value = uint_of(status, name);
    if (!value || *value >= unknown_time) {
        return std::nullopt;
    }
    return value;
}

std::string string_of(const Tag& status, std::string_view name) {
    const Tag* tag = status.find(name);
    if (tag == nullptr || tag->type != TagType::string) {
        return {};
    }
    return mrp::PlayerState::sanitize(atv::to_string(tag->value), max_string_bytes);
}

bool has(const Tag& status, std::string_view name) {
    return status.find(name) != nullptr;
}

PlaybackState playback_state(std::optional<std::uint64_t> caps) {
    switch (caps.value_or(0)) {
        case caps_loading:
            return PlaybackState::loading;
        case caps_stopped:
            return PlaybackState::stopped;
        case caps_paused:
            return PlaybackState::paused;
        case caps_playing:
            return PlaybackState::playing;
        case caps_seeking_forward:
        case caps_seeking_backward:
            return PlaybackState::seeking;
        default:
            return PlaybackState::idle;
    }
}

// iTunes media kinds (cmmk) by what they hold.
std::optional<MediaType> media_kind(std::uint64_t kind) {
    switch (kind) {
        case 1:
        case 32770:
            return MediaType::unknown;
        case 3:
        case 7:
        case 11:
        case 12:
        case 13:
        case 18:
        case 32:
            return MediaType::video;
        case 2:
        case 4:
        case 10:
        case 14:
        case 17:
        case 21:
        case 36:
            return MediaType::music;
        case 8:
        case 64:
            return MediaType::tv;
        default:
            return std::nullopt;
    }
}

bool loaded(PlaybackState state) {
    return state != PlaybackState::idle && state != PlaybackState::stopped &&
           state != PlaybackState::no_media;
}

FeatureState available_if(bool condition) {
    return condition ? FeatureState::available : FeatureState::unavailable;
}

// The artwork changes with the item: canp names it when the device sends it.
std::string artwork_identifier(const Tag& status, const NowPlaying& playing) {
    if (!loaded(playing.state)) {
        return {};
    }
    if (const Tag* ids = status.find("canp"); ids != nullptr && !ids->value.empty()) {
        return to_hex(ids->value);
    }
    const std::string item = playing.title + '\n' + playing.artist + '\n' + playing.album + '\n' +
                             std::to_string(playing.duration.count());
    return fmt::format("{:016x}", std::hash<std::string>{}(item));
}

// The width and height of a PNG's IHDR, which follows the 8-byte signature.
std::pair<std::uint32_t, std::uint32_t> png_size(const Bytes& data) {
    static constexpr std::array<std::uint8_t, 8> signature{0x89, 'P',  'N',  'G',
                                                           '\r', '\n', 0x1a, '\n'};
    constexpr std::size_t width_at = 16;
    if (data.size() < width_at + 8 ||
        !std::equal(signature.begin(), signature.end(), data.begin()) ||
        std::string_view(reinterpret_cast<const char*>(data.data()) + 12, 4) != "IHDR") {
        return {0, 0};
    }
    const auto read32 = [&data](std::size_t at) {
        return (std::uint32_t{data[at]} << 24) | (std::uint32_t{data[at + 1]} << 16) |
               (std::uint32_t{data[at + 2]} << 8) | std::uint32_t{data[at + 3]};
    };
    return {read32(width_at), read32(width_at + 4)};
}

// The touch events of a short swipe on the Remote app's pad: down, five moves, up.
std::vector<std::string> swipe_events(Key key) {
    struct Swipe {
        int x;
        int y;
        int dx;
        int dy;
    };
    constexpr int step = 5;
    const Swipe swipe = key == Key::up     ? Swipe{20, 275, 0, -step}
                        : key == Key::down ? Swipe{20, 250, 0, step}
                        : key == Key::left ? Swipe{75, 100, -step, 0}
                                           : Swipe{50, 100, step, 0};
    constexpr int moves = 5;
    std::vector<std::string> events;
    for (int time = 0; time <= moves + 1; ++time) {
        const int moved = std::min(time, moves);
        const char* phase = time == 0 ? "Down" : (time == moves + 1 ? "Up" : "Move");
        events.push_back(fmt::format("touch{}&time={}&point={},{}", phase, time,
                                     swipe.x + swipe.dx * moved, swipe.y + swipe.dy * moved));
    }
    return events;
}

std::optional<std::string_view> command_of(Key key) {
    switch (key) {
        case Key::play:
            return "play";
        case Key::pause:
            return "pause";
        case Key::play_pause:
            return "playpause";
        case Key::stop:
            return "stop";
        case Key::next:
            return "nextitem";
        case Key::previous:
            return "previtem";
        default:
            return std::nullopt;
    }
}

std::optional<std::string_view> prompt_of(Key key) {
    switch (key) {
        case Key::select:
            return "select";
        case Key::menu:
            return "menu";
        case Key::top_menu:
            return "topmenu";
        default:
            return std::nullopt;
    }
}

bool navigation(Key key) {
    return prompt_of(key) || key == Key::up || key == Key::down || key == Key::left ||
           key == Key::right;
}

}  // namespace

NowPlaying now_playing_from(const Tag& status, std::chrono::system_clock::time_point now) {
    NowPlaying playing;
    const auto caps = uint_of(status, "caps");
    playing.state = playback_state(caps);
    playing.title = string_of(status, "cann");
    playing.artist = string_of(status, "cana");
    playing.album = string_of(status, "canl");
    playing.genre = string_of(status, "cang");
    if (caps.value_or(0) != 0) {
        const auto kind = uint_of(status, "cmmk");
        const std::optional<MediaType> known = kind ? media_kind(*kind) : std::nullopt;
        if (known) {
            playing.media_type = *known;
        } else if (!kind) {
            // Without a kind, artist or album mean music; video has neither.
            const bool music = !playing.artist.empty() || !playing.album.empty();
            playing.media_type = music ? MediaType::music : MediaType::video;
        }
    }
    const auto total = time_of(status, "cast");
    const auto remaining = time_of(status, "cant");
    if (total) {
        playing.duration = std::chrono::milliseconds(*total);
    }
    if (total && remaining && *remaining <= *total) {
        playing.position = std::chrono::milliseconds(*total - *remaining);
    }
    playing.position_timestamp = now;
    playing.rate = playing.state == PlaybackState::playing ? 1.0 : 0.0;
    // DMAP knows no album shuffle: any shuffle is of songs.
    playing.shuffle =
        uint_of(status, "cash").value_or(0) != 0 ? ShuffleMode::songs : ShuffleMode::off;
    switch (uint_of(status, "carp").value_or(0)) {
        case 1:
            playing.repeat = RepeatMode::track;
            break;
        case 2:
            playing.repeat = RepeatMode::all;
            break;
        default:
            playing.repeat = RepeatMode::off;
            break;
    }
    playing.artwork_identifier = artwork_identifier(status, playing);
    return playing;
}

FeatureMap features_from(const Tag& status) {
    FeatureMap features;
    for (std::size_t i = 0; i < feature_count; ++i) {
        features[static_cast<Feature>(i)] = FeatureState::unsupported;
    }
    for (const Feature always :
         {Feature::up, Feature::down, Feature::left, Feature::right, Feature::select, Feature::menu,
          Feature::top_menu, Feature::push_updates}) {
        features[always] = FeatureState::available;
    }
    const bool playing = loaded(playback_state(uint_of(status, "caps")));
    for (const Feature key :
         {Feature::play, Feature::pause, Feature::play_pause, Feature::stop, Feature::next,
          Feature::previous, Feature::set_shuffle, Feature::set_repeat, Feature::artwork}) {
        features[key] = available_if(playing);
    }
    const bool timed = playing && time_of(status, "cast").has_value();
    for (const Feature seek :
         {Feature::set_position, Feature::skip_forward, Feature::skip_backward}) {
        features[seek] = available_if(timed);
    }
    features[Feature::title] = available_if(has(status, "cann"));
    features[Feature::artist] = available_if(has(status, "cana"));
    features[Feature::album] = available_if(has(status, "canl"));
    features[Feature::genre] = available_if(has(status, "cang"));
    features[Feature::total_time] = available_if(has(status, "cast"));
    features[Feature::position] = available_if(has(status, "cast") && has(status, "cant"));
    features[Feature::shuffle] = available_if(has(status, "cash"));
    features[Feature::repeat] = available_if(has(status, "carp"));
    const Tag* controllable = status.find("cavc");
    const bool volume = controllable != nullptr && controllable->type == TagType::boolean &&
                        controllable->as_bool();
    for (const Feature level :
         {Feature::volume, Feature::set_volume, Feature::volume_up, Feature::volume_down}) {
        features[level] = available_if(volume);
    }
    return features;
}

Bytes prompt_entry(std::string_view entry, std::uint8_t kind) {
    Bytes body = encode_string("cmbe", entry);
    const Bytes kind_tag = encode_uint("cmcc", kind, 1);
    body.insert(body.end(), kind_tag.begin(), kind_tag.end());
    return body;
}

DmapControl::DmapControl(DmapConnection& connection, asio::any_io_executor executor,
                         std::chrono::milliseconds request_timeout)
    : connection_(connection), executor_(std::move(executor)), timeout_(request_timeout) {
    features_ =
        features_from(Tag{.name = "cmst", .type = TagType::container, .value = {}, .children = {}});
}

DmapControl::~DmapControl() {
    *alive_ = false;
}

std::optional<double> DmapControl::volume() const {
    return volume_controllable_ ? volume_ : std::nullopt;
}

// Posted, so listeners never run inside the poll or a caller's call.
void DmapControl::update(const Tag& status) {
    if (const auto revision = uint_of(status, "cmsr")) {
        revision_ = static_cast<std::uint32_t>(*revision);
    }
    NowPlaying playing = now_playing_from(status, std::chrono::system_clock::now());
    NowPlaying same_time = playing;
    same_time.position_timestamp = now_playing_.position_timestamp;
    std::optional<NowPlaying> changed_playing;
    if (!(same_time == now_playing_)) {
        now_playing_ = playing;
        changed_playing = std::move(playing);
    }
    FeatureMap features = features_from(status);
    std::optional<FeatureMap> changed_features;
    if (features != features_) {
        features_ = features;
        changed_features = std::move(features);
    }
    const bool controllable = features_[Feature::volume] == FeatureState::available;
    const bool volume_changed = controllable != volume_controllable_;
    volume_controllable_ = controllable;
    const std::optional<double> level = volume();
    if (controllable && events_.volume) {
        asio::co_spawn(executor_, follow_volume(), asio::detached);
    }
    asio::post(executor_,
               [this, alive = std::weak_ptr<bool>(alive_), playing = std::move(changed_playing),
                features = std::move(changed_features), volume_changed, level] {
                   if (alive.expired()) {
                       return;
                   }
                   if (playing && events_.now_playing) {
                       events_.now_playing(*playing);
                   }
                   if (volume_changed && events_.volume) {
                       events_.volume(level);
                   }
                   if (features && events_.features) {
                       events_.features(*features);
                   }
               });
}

void DmapControl::report_volume(std::optional<double> level) {
    if (level == volume_) {
        return;
    }
    volume_ = level;
    asio::post(executor_, [this, alive = std::weak_ptr<bool>(alive_), reported = volume()] {
        if (!alive.expired() && events_.volume) {
            events_.volume(reported);
        }
    });
}

// The reply when the device took the request. A refused request (HTTP 500, as a device answers
// what it cannot do now) is not_supported; a forgotten session or a broken connection is the
// connection lost.
asio::awaitable<http::Response> DmapControl::checked(asio::awaitable<http::Response> exchange,
                                                     std::string_view what) {
    std::optional<Error> failure;
    http::Response reply;
    try {
        reply = co_await std::move(exchange);
    } catch (const Error& error) {
        failure = error;
    }
    if (failure) {
        if (failure->kind() == ErrorKind::connection_failed ||
            failure->kind() == ErrorKind::invalid_state) {
            throw Error(ErrorKind::connection_lost, failure->what());
        }
        throw *failure;
    }
    if (reply.status == 401 || reply.status == 403) {
        throw Error(ErrorKind::connection_lost, "the Apple TV ended the DMAP session (HTTP " +
                                                    std::to_string(reply.status) + ")");
    }
    if (reply.status < 200 || reply.status >= 300) {
        throw Error(ErrorKind::not_supported, "the Apple TV refused " + std::string(what) +
                                                  " (HTTP " + std::to_string(reply.status) + ")");
    }
    co_return reply;
}

asio::awaitable<void> DmapControl::command(std::string_view name) {
    const std::string target = "/ctrl-int/1/" + std::string(name) + "?prompt-id=0";
    co_await checked(connection_.post(target, {}, timeout_), name);
}

asio::awaitable<void> DmapControl::prompt(std::string_view entry, std::uint8_t kind) {
    co_await checked(connection_.post("/ctrl-int/1/controlpromptentry?prompt-id=0",
                                      prompt_entry(entry, kind), timeout_),
                     entry);
}

asio::awaitable<void> DmapControl::swipe(Key key) {
    for (const std::string& event : swipe_events(key)) {
        co_await prompt(event, prompt_touch);
    }
}

asio::awaitable<void> DmapControl::set_property(std::string_view property, std::int64_t value) {
    const std::string assignment = std::string(property) + "=" + std::to_string(value);
    co_await checked(connection_.post("/ctrl-int/1/setproperty?" + assignment, {}, timeout_),
                     assignment);
}

asio::awaitable<void> DmapControl::press(Key key, InputAction action,
                                         std::optional<double> interval) {
    if (action == InputAction::hold) {
        throw Error(ErrorKind::not_supported, "DMAP cannot hold a key");
    }
    if (action == InputAction::double_tap && !navigation(key)) {
        throw Error(ErrorKind::invalid_arguments,
                    "the key " + std::string(to_string(key)) + " takes only a single press");
    }
    const int presses = action == InputAction::double_tap ? 2 : 1;
    for (int press = 0; press < presses; ++press) {
        co_await press_once(key, interval);
    }
}

asio::awaitable<void> DmapControl::press_once(Key key, std::optional<double> interval) {
    if (const auto name = command_of(key)) {
        co_await command(*name);
    } else if (const auto entry = prompt_of(key)) {
        co_await prompt(*entry, prompt_key);
    } else if (key == Key::up || key == Key::down || key == Key::left || key == Key::right) {
        co_await swipe(key);
    } else if (key == Key::volume_up) {
        co_await volume_up();
    } else if (key == Key::volume_down) {
        co_await volume_down();
    } else if (key == Key::skip_forward || key == Key::skip_backward) {
        if (interval &&
            (!std::isfinite(*interval) || *interval <= 0 || *interval > max_skip_seconds)) {
            throw Error(ErrorKind::invalid_arguments,
                        "the skip interval must be more than 0 and at most 3600 seconds");
        }
        const double seconds = interval.value_or(default_dmap_skip_seconds);
        co_await skip(key == Key::skip_forward ? seconds : -seconds);
    } else {
        throw Error(ErrorKind::not_supported, "DMAP has no key " + std::string(to_string(key)));
    }
}

// DMAP has no skip: it seeks from where the item is now.
asio::awaitable<void> DmapControl::skip(double seconds) {
    if (features_[Feature::set_position] != FeatureState::available) {
        throw Error(ErrorKind::not_supported, "nothing with a known length plays to skip in");
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        (std::chrono::system_clock::now() - now_playing_.position_timestamp) * now_playing_.rate);
    const auto offset = std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6));
    const auto target = std::clamp(now_playing_.position + elapsed + offset,
                                   std::chrono::microseconds{0}, now_playing_.duration);
    co_await set_position(target);
}

asio::awaitable<void> DmapControl::set_position(std::chrono::microseconds position) {
    if (position.count() < 0) {
        throw Error(ErrorKind::invalid_arguments, "the position must not be negative");
    }
    co_await set_property("dacp.playingtime",
                          std::chrono::duration_cast<std::chrono::milliseconds>(position).count());
}

asio::awaitable<void> DmapControl::set_shuffle(ShuffleMode mode) {
    co_await set_property("dacp.shufflestate", mode == ShuffleMode::off ? 0 : 1);
}

asio::awaitable<void> DmapControl::set_repeat(RepeatMode mode) {
    const int state = mode == RepeatMode::off ? 0 : (mode == RepeatMode::track ? 1 : 2);
    co_await set_property("dacp.repeatstate", state);
}

asio::awaitable<Artwork> DmapControl::artwork(std::uint32_t width, std::uint32_t height) {
    const std::string target = "/ctrl-int/1/nowplayingartwork?mw=" + std::to_string(width) +
                               "&mh=" + std::to_string(height);
    std::optional<Error> failure;
    http::Response reply;
    try {
        reply = co_await checked(connection_.get(target, timeout_), "the artwork");
    } catch (const Error& error) {
        failure = error;
    }
    // Without artwork a device answers with nothing, or refuses.
    if ((failure && failure->kind() == ErrorKind::not_supported) ||
        (!failure && reply.body.empty())) {
        throw Error(ErrorKind::not_found, "the Apple TV has no artwork for what is playing");
    }
    if (failure) {
        throw *failure;
    }
    Artwork artwork;
    const std::string type(reply.headers.get("Content-Type").value_or(""));
    artwork.mime_type = type.starts_with("image/")
                            ? mrp::PlayerState::sanitize(type, max_string_bytes)
                            : std::string("image/png");
    std::tie(artwork.width, artwork.height) = png_size(reply.body);
    artwork.data = std::move(reply.body);
    co_return artwork;
}

// ---- volume ----

void DmapControl::ensure_volume() const {
    if (!volume_controllable_) {
        throw Error(ErrorKind::not_supported, "the Apple TV offers no volume control now");
    }
}

asio::awaitable<double> DmapControl::fetch_volume() {
    const http::Response reply = co_await checked(
        connection_.get("/ctrl-int/1/getproperty?properties=dmcp.volume", timeout_), "the volume");
    const Tag properties = decode_one(reply.body, "cmgt");
    const auto level = uint_of(properties, "cmvo");
    if (!level) {
        throw Error(ErrorKind::not_supported, "the Apple TV did not tell its volume");
    }
    co_return static_cast<double>(std::min<std::uint64_t>(*level, 100));
}

asio::awaitable<void> DmapControl::refresh_volume() {
    if (!volume_controllable_) {
        co_return;
    }
    try {
        report_volume(co_await fetch_volume());
    } catch (const std::exception& error) {
        spdlog::debug("dmap: reading the volume failed: {}", error.what());
    }
}

asio::awaitable<void> DmapControl::follow_volume() {
    if (volume_reading_) {
        volume_stale_ = true;
        co_return;
    }
    const std::weak_ptr<bool> alive = alive_;
    volume_reading_ = true;
    do {
        volume_stale_ = false;
        std::optional<double> level;
        try {
            auto reading = fetch_volume();
            level = co_await std::move(reading);
        } catch (const std::exception& error) {
            spdlog::debug("dmap: reading the volume failed: {}", error.what());
        }
        if (alive.expired()) {
            co_return;
        }
        if (level && volume_controllable_) {
            report_volume(level);
        }
    } while (volume_stale_ && volume_controllable_);
    volume_reading_ = false;
}

asio::awaitable<void> DmapControl::set_volume(double level) {
    if (!std::isfinite(level) || level < 0.0 || level > 100.0) {
        throw Error(ErrorKind::invalid_arguments, "the volume must be from 0 to 100");
    }
    ensure_volume();
    const auto rounded = static_cast<std::int64_t>(std::lround(level));
    co_await set_property("dmcp.volume", rounded);
    report_volume(static_cast<double>(rounded));
}

asio::awaitable<void> DmapControl::volume_up() {
    co_await step_volume("volumeup");
}

asio::awaitable<void> DmapControl::volume_down() {
    co_await step_volume("volumedown");
}

// The device steps by its own amount; the level it reached is read back.
asio::awaitable<void> DmapControl::step_volume(std::string_view command_name) {
    ensure_volume();
    co_await command(command_name);
    report_volume(co_await fetch_volume());
}

}  // namespace atv::dmap
