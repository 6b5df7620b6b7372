#include "fake_media.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>

#include "script_words.hpp"

namespace atv::fakes {

namespace {

using mrp::ProtocolMessage;
namespace proto = mrp::proto;

constexpr double cocoa_epoch_unix_seconds = 978307200.0;
constexpr std::string_view default_player = "MediaRemote-DefaultPlayer";
constexpr double volume_key_step = 0.05;
constexpr std::size_t max_flood = 1000000;
constexpr std::size_t max_hostile_bytes = 8 * 1024 * 1024;
constexpr std::size_t max_hostile_count = 100000;
constexpr std::string_view foreign_player = "hostile-player";
constexpr std::string_view foreign_client = "com.example.hostile";
// Not UTF-8: stray continuation and lead bytes, a lead byte cut short, an overlong '/', a
// UTF-16 surrogate, and a control character.
constexpr std::string_view invalid_utf8 =
    "ab\xff\xfe\xc3(cd\xc0\xaf\xed\xa0\x80\x07"
    "ef";

double cocoa_time(FakeMedia::Clock::time_point when) {
    return std::chrono::duration<double>(when.time_since_epoch()).count() -
           cocoa_epoch_unix_seconds;
}

std::int64_t monotonic_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// The names scripts give the commands.
constexpr std::pair<std::string_view, mrp::Command> command_names[] = {
    {"play", proto::Command::Play},
    {"pause", proto::Command::Pause},
    {"play_pause", proto::Command::TogglePlayPause},
    {"stop", proto::Command::Stop},
    {"next", proto::Command::NextTrack},
    {"previous", proto::Command::PreviousTrack},
    {"skip_forward", proto::Command::SkipForward},
    {"skip_backward", proto::Command::SkipBackward},
    {"set_position", proto::Command::SeekToPlaybackPosition},
    {"shuffle", proto::Command::ChangeShuffleMode},
    {"repeat", proto::Command::ChangeRepeatMode},
};

std::vector<mrp::Command> every_command() {
    std::vector<mrp::Command> all;
    for (const auto& [name, command] : command_names) {
        all.push_back(command);
    }
    return all;
}

std::string app_name_of(const std::string& bundle) {
    if (bundle == "com.apple.TVMusic") {
        return "Music";
    }
    if (bundle == "com.apple.TVWatchList") {
        return "TV";
    }
    return bundle;
}

std::optional<double> number(std::string_view text) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

// Any double, NaN and infinities included, as a hostile device may send them.
std::optional<double> raw_number(std::string_view text) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<std::size_t> count_of(std::string_view text, std::size_t limit) {
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value > limit) {
        return std::nullopt;
    }
    return value;
}

// `bytes` bytes of text: 'x', then 'é' (two bytes) repeated, so that a cut at any odd length
// falls inside a character.
std::string long_title(std::size_t bytes) {
    std::string title = bytes > 0 ? "x" : "";
    title.reserve(bytes);
    while (title.size() + 2 <= bytes) {
        title += "\xc3\xa9";
    }
    if (title.size() < bytes) {
        title += 'x';
    }
    return title;
}

std::optional<proto::PlaybackState::Enum> state_named(std::string_view name) {
    if (name == "playing")
        return proto::PlaybackState::Playing;
    if (name == "paused")
        return proto::PlaybackState::Paused;
    if (name == "stopped")
        return proto::PlaybackState::Stopped;
    if (name == "loading")
        return proto::PlaybackState::Interrupted;
    if (name == "seeking")
        return proto::PlaybackState::Seeking;
    return std::nullopt;
}

std::optional<proto::ShuffleMode::Enum> shuffle_named(std::string_view name) {
    if (name == "off")
        return proto::ShuffleMode::Off;
    if (name == "songs")
        return proto::ShuffleMode::Songs;
    if (name == "albums")
        return proto::ShuffleMode::Albums;
    return std::nullopt;
}

std::optional<proto::RepeatMode::Enum> repeat_named(std::string_view name) {
    if (name == "off")
        return proto::RepeatMode::Off;
    if (name == "track")
        return proto::RepeatMode::One;
    if (name == "all")
        return proto::RepeatMode::All;
    return std::nullopt;
}

std::string mime_type_of(std::string_view path) {
    const auto ends_with = [&](std::string_view suffix) {
        return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
    };
    if (ends_with(".png"))
        return "image/png";
    if (ends_with(".jpg") || ends_with(".jpeg"))
        return "image/jpeg";
    return "application/octet-stream";
}

}  // namespace

FakeMedia::FakeMedia(std::string output_device_uid)
    : output_device_uid_(std::move(output_device_uid)), commands_(every_command()) {}

// ---- scripting ----

void FakeMedia::play(FakeItem item, std::string app, std::string app_name) {
    if (app.empty()) {
        app = app_.empty() ? "com.apple.TVMusic" : app_;
    }
    if (app_name.empty()) {
        app_name = app == app_ && !app_name_.empty() ? app_name_ : app_name_of(app);
    }
    const bool announce = app != app_ || app_name != app_name_;
    app_ = std::move(app);
    app_name_ = std::move(app_name);
    item_ = std::move(item);
    item_since_ = Clock::now();
    item_identifier_ = "item-" + std::to_string(++serial_);
    if (!artwork_.empty()) {
        artwork_identifier_ = "artwork-" + std::to_string(++serial_);
    }
    push_now_playing(announce);
}

void FakeMedia::update(const std::function<void(FakeItem&)>& change) {
    if (!item_) {
        return;
    }
    settle_position();
    change(*item_);
    ProtocolMessage message = mrp::make_message(ProtocolMessage::UPDATE_CONTENT_ITEM_MESSAGE);
    auto* inner = message.MutableExtension(proto::updateContentItemMessage);
    *inner->add_contentitems() = content_item(false);
    *inner->mutable_playerpath() = player_path();
    push(message);
}

void FakeMedia::set_state(proto::PlaybackState::Enum state) {
    if (!item_) {
        return;
    }
    settle_position();
    item_->state = state;
    item_->rate = state == proto::PlaybackState::Playing ? 1.0 : 0.0;
    push(full_state());
}

void FakeMedia::seek(double seconds) {
    const double end = item_ && item_->duration ? *item_->duration : seconds;
    update([&](FakeItem& item) { item.position = std::clamp(seconds, 0.0, end); });
}

void FakeMedia::clear() {
    if (app_.empty()) {
        return;
    }
    ProtocolMessage message = mrp::make_message(ProtocolMessage::REMOVE_CLIENT_MESSAGE);
    message.MutableExtension(proto::removeClientMessage)
        ->mutable_client()
        ->set_bundleidentifier(app_);
    app_.clear();
    app_name_.clear();
    item_.reset();
    push(message);
}

void FakeMedia::set_commands(std::vector<mrp::Command> commands) {
    commands_ = std::move(commands);
    if (!app_.empty()) {
        push(full_state());
    }
}

void FakeMedia::set_shuffle(proto::ShuffleMode::Enum mode) {
    shuffle_ = mode;
    if (!app_.empty()) {
        push(full_state());
    }
}

void FakeMedia::set_repeat(proto::RepeatMode::Enum mode) {
    repeat_ = mode;
    if (!app_.empty()) {
        push(full_state());
    }
}

void FakeMedia::set_artwork(Bytes data, std::string mime_type, std::uint32_t width,
                            std::uint32_t height) {
    artwork_ = std::move(data);
    artwork_mime_type_ = std::move(mime_type);
    artwork_width_ = width;
    artwork_height_ = height;
    artwork_identifier_ = artwork_.empty() ? "" : "artwork-" + std::to_string(++serial_);
    if (item_) {
        push(full_state());
    }
}

void FakeMedia::set_volume(double level) {
    level = std::clamp(level, 0.0, 1.0);
    if (level == volume_) {
        return;
    }
    volume_ = level;
    push_volume();
}

void FakeMedia::set_volume_available(bool available) {
    volume_available_ = available;
    ProtocolMessage message =
        mrp::make_message(ProtocolMessage::VOLUME_CONTROL_CAPABILITIES_DID_CHANGE_MESSAGE);
    auto* inner = message.MutableExtension(proto::volumeControlCapabilitiesDidChangeMessage);
    inner->mutable_capabilities()->set_volumecontrolavailable(available);
    inner->mutable_capabilities()->set_volumecapabilities(
        available ? proto::VolumeCapabilities::Both : proto::VolumeCapabilities::None);
    inner->set_outputdeviceuid(output_device_uid_);
    push(message);
    if (available) {
        push_volume();
    }
}

void FakeMedia::flood(std::size_t count) {
    if (!item_) {
        return;
    }
    settle_position();
    for (std::size_t index = 0; index < count; ++index) {
        item_->position += 1.0;
        push(full_state());
    }
}

std::optional<std::string> FakeMedia::script(std::string_view line) {
    const auto words = split_words(line);
    if (!words) {
        return "a quote is not closed";
    }
    if (words->empty()) {
        return std::nullopt;
    }
    const std::string& verb = words->front();
    const std::vector<std::string> arguments(words->begin() + 1, words->end());
    const auto single = [&]() -> std::optional<std::string> {
        if (arguments.size() != 1) {
            return std::nullopt;
        }
        return arguments.front();
    };
    if (verb == "play" || verb == "set") {
        // A change keeps the position where it has run to, as a device reports it.
        settle_position();
        FakeItem item = verb == "set" && item_ ? *item_ : FakeItem{};
        std::string app;
        std::string app_name;
        std::optional<proto::ShuffleMode::Enum> shuffle;
        std::optional<proto::RepeatMode::Enum> repeat;
        bool rate_given = false;
        for (const std::string& argument : arguments) {
            const auto pair = key_value(argument);
            if (!pair) {
                return "expected key=value, got " + argument;
            }
            const std::string& key = pair->key;
            const std::string& value = pair->value;
            const auto numeric = number(value);
            if (key == "title") {
                item.title = value;
            } else if (key == "artist") {
                item.artist = value;
            } else if (key == "album") {
                item.album = value;
            } else if (key == "genre") {
                item.genre = value;
            } else if (key == "series") {
                item.series_name = value;
            } else if (key == "id") {
                item.content_identifier = value;
            } else if ((key == "season" || key == "episode") && numeric && *numeric >= 0) {
                (key == "season" ? item.season_number : item.episode_number) =
                    static_cast<std::uint32_t>(*numeric);
            } else if (key == "duration" && numeric && *numeric >= 0) {
                item.duration = *numeric;
            } else if (key == "position" && numeric && *numeric >= 0) {
                item.position = *numeric;
            } else if (key == "rate" && numeric) {
                item.rate = *numeric;
                rate_given = true;
            } else if (key == "state" && state_named(value)) {
                item.state = *state_named(value);
            } else if (key == "media" &&
                       (value == "music" || value == "video" || value == "unknown")) {
                item.media_type = value == "music"   ? proto::ContentItemMetadata::Audio
                                  : value == "video" ? proto::ContentItemMetadata::Video
                                                     : proto::ContentItemMetadata::UnknownMediaType;
            } else if (key == "app" && verb == "play" && !value.empty()) {
                app = value;
            } else if (key == "app_name" && verb == "play" && !value.empty()) {
                app_name = value;
            } else if (key == "shuffle" && shuffle_named(value)) {
                shuffle = shuffle_named(value);
            } else if (key == "repeat" && repeat_named(value)) {
                repeat = repeat_named(value);
            } else {
                return "bad " + key + " in " + verb;
            }
        }
        if (!rate_given) {
            item.rate = item.state == proto::PlaybackState::Playing ? 1.0 : 0.0;
        }
        if (shuffle) {
            shuffle_ = *shuffle;
        }
        if (repeat) {
            repeat_ = *repeat;
        }
        if (verb == "play") {
            play(std::move(item), std::move(app), std::move(app_name));
        } else if (!item_) {
            return "nothing plays";
        } else if (item.state != item_->state) {
            item_since_ = Clock::now();
            item_ = std::move(item);
            push(full_state());
        } else {
            update([&](FakeItem& current) { current = std::move(item); });
            if (shuffle || repeat) {
                push(full_state());
            }
        }
        return std::nullopt;
    }
    if ((verb == "pause" || verb == "resume" || verb == "stop") && arguments.empty()) {
        if (!item_) {
            return "nothing plays";
        }
        set_state(verb == "pause"    ? proto::PlaybackState::Paused
                  : verb == "resume" ? proto::PlaybackState::Playing
                                     : proto::PlaybackState::Stopped);
        return std::nullopt;
    }
    if (verb == "seek" && single() && number(*single()) && *number(*single()) >= 0) {
        if (!item_) {
            return "nothing plays";
        }
        seek(*number(*single()));
        return std::nullopt;
    }
    if (verb == "clear" && arguments.empty()) {
        clear();
        return std::nullopt;
    }
    if (verb == "commands" && single()) {
        std::vector<mrp::Command> commands;
        const std::string names = arguments.front();
        std::string_view list = names;
        while (!list.empty() && list != "none") {
            const auto comma = list.find(',');
            const std::string_view name = list.substr(0, comma);
            const auto found = std::find_if(std::begin(command_names), std::end(command_names),
                                            [&](const auto& entry) { return entry.first == name; });
            if (found == std::end(command_names)) {
                return "unknown command " + std::string(name);
            }
            commands.push_back(found->second);
            list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        }
        set_commands(std::move(commands));
        return std::nullopt;
    }
    if (verb == "shuffle" && single() && shuffle_named(*single())) {
        set_shuffle(*shuffle_named(*single()));
        return std::nullopt;
    }
    if (verb == "repeat" && single() && repeat_named(*single())) {
        set_repeat(*repeat_named(*single()));
        return std::nullopt;
    }
    if (verb == "artwork" && !arguments.empty() && arguments.size() <= 2) {
        if (arguments[0] == "none") {
            set_artwork({});
            return std::nullopt;
        }
        std::ifstream file(arguments[0], std::ios::binary);
        if (!file) {
            return "cannot read " + arguments[0];
        }
        Bytes data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        std::uint32_t width = 600;
        std::uint32_t height = 600;
        if (arguments.size() == 2) {
            const auto x = arguments[1].find('x');
            const auto w = number(arguments[1].substr(0, x));
            const auto h =
                x == std::string::npos ? std::nullopt : number(arguments[1].substr(x + 1));
            if (!w || !h || *w < 1 || *h < 1) {
                return "the artwork size must be WIDTHxHEIGHT";
            }
            width = static_cast<std::uint32_t>(*w);
            height = static_cast<std::uint32_t>(*h);
        }
        set_artwork(std::move(data), mime_type_of(arguments[0]), width, height);
        return std::nullopt;
    }
    if (verb == "volume" && single()) {
        if (*single() == "on" || *single() == "off") {
            set_volume_available(*single() == "on");
            return std::nullopt;
        }
        const auto level = number(*single());
        if (!level || *level < 0 || *level > 100) {
            return "the volume must be from 0 to 100, on or off";
        }
        set_volume(*level / 100.0);
        return std::nullopt;
    }
    if (verb == "flood" && single() && number(*single()) && *number(*single()) >= 0 &&
        *number(*single()) <= static_cast<double>(max_flood)) {
        flood(static_cast<std::size_t>(*number(*single())));
        return std::nullopt;
    }
    if (verb == "hostile" && !arguments.empty()) {
        return hostile(arguments);
    }
    return "cannot read the script line: " + std::string(line);
}

std::optional<std::string> FakeMedia::hostile(const std::vector<std::string>& arguments) {
    const std::string& what = arguments[0];
    const std::string value = arguments.size() == 2 ? arguments[1] : std::string();
    const bool one_value = arguments.size() == 2;
    if ((what == "remove-player" || what == "remove-client") && one_value) {
        ProtocolMessage message;
        if (what == "remove-player") {
            message = mrp::make_message(ProtocolMessage::REMOVE_PLAYER_MESSAGE);
            auto* path = message.MutableExtension(proto::removePlayerMessage)->mutable_playerpath();
            *path = player_path();
            path->mutable_player()->set_identifier(value);
        } else {
            message = mrp::make_message(ProtocolMessage::REMOVE_CLIENT_MESSAGE);
            message.MutableExtension(proto::removeClientMessage)
                ->mutable_client()
                ->set_bundleidentifier(value);
        }
        push(message);
        return std::nullopt;
    }
    if (!item_) {
        return "nothing plays";
    }
    if (what == "title-bytes" && one_value) {
        const auto bytes = count_of(value, max_hostile_bytes);
        if (!bytes) {
            return "the title length must be from 0 to " + std::to_string(max_hostile_bytes);
        }
        const std::string title = long_title(*bytes);
        push_raw_update([&](proto::ContentItemMetadata& metadata) { metadata.set_title(title); });
        return std::nullopt;
    }
    if (what == "invalid-utf8" && arguments.size() == 1) {
        push_raw_update([](proto::ContentItemMetadata& metadata) {
            metadata.set_title(std::string(invalid_utf8));
            metadata.set_trackartistname(std::string(invalid_utf8));
            metadata.set_albumname(std::string(invalid_utf8));
        });
        return std::nullopt;
    }
    const auto number_value = one_value ? raw_number(value) : std::nullopt;
    if (number_value && (what == "duration" || what == "position" || what == "rate")) {
        const double raw = *number_value;
        push_raw_update([&](proto::ContentItemMetadata& metadata) {
            if (what == "duration") {
                metadata.set_duration(raw);
            } else if (what == "position") {
                metadata.set_elapsedtime(raw);
            } else {
                metadata.set_playbackrate(static_cast<float>(raw));
            }
        });
        return std::nullopt;
    }
    if (number_value && (what == "season" || what == "episode") &&
        *number_value >= std::numeric_limits<std::int32_t>::min() &&
        *number_value <= std::numeric_limits<std::int32_t>::max()) {
        const auto raw = static_cast<std::int32_t>(*number_value);
        push_raw_update([&](proto::ContentItemMetadata& metadata) {
            what == "season" ? metadata.set_seasonnumber(raw) : metadata.set_episodenumber(raw);
        });
        return std::nullopt;
    }
    if ((what == "other-player" || what == "other-client") && one_value) {
        push_foreign_state(what == "other-client" ? std::string(foreign_client) : app_,
                           std::string(foreign_player), value);
        return std::nullopt;
    }
    if ((what == "players" || what == "clients") && one_value) {
        const auto count = count_of(value, max_hostile_count);
        if (!count) {
            return "the count must be from 0 to " + std::to_string(max_hostile_count);
        }
        for (std::size_t index = 0; index < *count; ++index) {
            const std::string serial = std::to_string(++serial_);
            if (what == "players") {
                push_foreign_state(app_, std::string(foreign_player) + "-" + serial, serial);
            } else {
                push_foreign_state(std::string(foreign_client) + "-" + serial,
                                   std::string(foreign_player), serial);
            }
        }
        return std::nullopt;
    }
    return "cannot read the hostile line";
}

void FakeMedia::push_raw_update(const std::function<void(proto::ContentItemMetadata&)>& fill) {
    ProtocolMessage message = mrp::make_message(ProtocolMessage::UPDATE_CONTENT_ITEM_MESSAGE);
    auto* inner = message.MutableExtension(proto::updateContentItemMessage);
    proto::ContentItem* content = inner->add_contentitems();
    content->set_identifier(item_identifier_);
    fill(*content->mutable_metadata());
    *inner->mutable_playerpath() = player_path();
    push(message);
}

void FakeMedia::push_foreign_state(const std::string& bundle, const std::string& player,
                                   const std::string& title) {
    ProtocolMessage message = mrp::make_message(ProtocolMessage::SET_STATE_MESSAGE);
    auto* state = message.MutableExtension(proto::setStateMessage);
    state->set_playbackstate(proto::PlaybackState::Playing);
    auto* info = state->mutable_supportedcommands()->add_supportedcommands();
    info->set_command(proto::Command::Play);
    info->set_enabled(true);
    auto* queue = state->mutable_playbackqueue();
    queue->set_location(0);
    proto::ContentItem* content = queue->add_contentitems();
    content->set_identifier("foreign-item-" + std::to_string(++serial_));
    content->mutable_metadata()->set_title(title);
    content->mutable_metadata()->set_duration(100.0);
    auto* path = state->mutable_playerpath();
    *path = player_path();
    if (bundle != app_) {
        path->mutable_client()->set_bundleidentifier(bundle);
        path->mutable_client()->set_displayname(bundle);
    }
    path->mutable_player()->set_identifier(player);
    path->mutable_player()->set_displayname(player);
    push(message);
}

double FakeMedia::position() const {
    if (!item_) {
        return 0;
    }
    double position = item_->position;
    if (item_->state == proto::PlaybackState::Playing) {
        position += item_->rate * std::chrono::duration<double>(Clock::now() - item_since_).count();
    }
    if (item_->duration) {
        position = std::min(position, *item_->duration);
    }
    return std::max(position, 0.0);
}

void FakeMedia::settle_position() {
    if (item_) {
        item_->position = position();
        item_since_ = Clock::now();
    }
}

// ---- messages ----

void FakeMedia::record(std::string line) {
    if (log_handler_) {
        log_handler_(line);
    }
    log_.push_back(std::move(line));
}

void FakeMedia::push(const ProtocolMessage& message) {
    // A copy: a subscriber may unsubscribe while it is told.
    const auto subscribers = subscribers_;
    for (const auto& [id, subscriber] : subscribers) {
        subscriber(message);
    }
}

int FakeMedia::subscribe(Push push) {
    subscribers_.emplace(++next_subscriber_, std::move(push));
    return next_subscriber_;
}

void FakeMedia::unsubscribe(int id) {
    subscribers_.erase(id);
}

void FakeMedia::push_now_playing(bool announce_client) {
    if (announce_client) {
        ProtocolMessage client = mrp::make_message(ProtocolMessage::SET_NOW_PLAYING_CLIENT_MESSAGE);
        *client.MutableExtension(proto::setNowPlayingClientMessage)->mutable_client() =
            player_path().client();
        push(client);
        ProtocolMessage player = mrp::make_message(ProtocolMessage::SET_NOW_PLAYING_PLAYER_MESSAGE);
        *player.MutableExtension(proto::setNowPlayingPlayerMessage)->mutable_playerpath() =
            player_path();
        push(player);
    }
    push(full_state());
}

void FakeMedia::push_volume() {
    ProtocolMessage message = mrp::make_message(ProtocolMessage::VOLUME_DID_CHANGE_MESSAGE);
    auto* inner = message.MutableExtension(proto::volumeDidChangeMessage);
    inner->set_volume(static_cast<float>(volume_));
    inner->set_outputdeviceuid(output_device_uid_);
    push(message);
}

std::vector<ProtocolMessage> FakeMedia::snapshot() const {
    std::vector<ProtocolMessage> messages;
    if (!app_.empty()) {
        ProtocolMessage client = mrp::make_message(ProtocolMessage::SET_NOW_PLAYING_CLIENT_MESSAGE);
        *client.MutableExtension(proto::setNowPlayingClientMessage)->mutable_client() =
            player_path().client();
        messages.push_back(client);
        ProtocolMessage player = mrp::make_message(ProtocolMessage::SET_NOW_PLAYING_PLAYER_MESSAGE);
        *player.MutableExtension(proto::setNowPlayingPlayerMessage)->mutable_playerpath() =
            player_path();
        messages.push_back(player);
        messages.push_back(full_state());
    }
    ProtocolMessage capabilities =
        mrp::make_message(ProtocolMessage::VOLUME_CONTROL_CAPABILITIES_DID_CHANGE_MESSAGE);
    auto* inner = capabilities.MutableExtension(proto::volumeControlCapabilitiesDidChangeMessage);
    inner->mutable_capabilities()->set_volumecontrolavailable(volume_available_);
    inner->mutable_capabilities()->set_volumecapabilities(
        volume_available_ ? proto::VolumeCapabilities::Both : proto::VolumeCapabilities::None);
    inner->set_outputdeviceuid(output_device_uid_);
    messages.push_back(capabilities);
    if (volume_available_) {
        ProtocolMessage volume = mrp::make_message(ProtocolMessage::VOLUME_DID_CHANGE_MESSAGE);
        auto* level = volume.MutableExtension(proto::volumeDidChangeMessage);
        level->set_volume(static_cast<float>(volume_));
        level->set_outputdeviceuid(output_device_uid_);
        messages.push_back(volume);
    }
    return messages;
}

proto::PlayerPath FakeMedia::player_path() const {
    proto::PlayerPath path;
    path.mutable_origin()->set_type(proto::Origin::Local);
    path.mutable_origin()->set_identifier(1);
    path.mutable_client()->set_bundleidentifier(app_);
    path.mutable_client()->set_displayname(app_name_);
    path.mutable_player()->set_identifier(std::string(default_player));
    path.mutable_player()->set_displayname("Default Player");
    return path;
}

proto::ContentItem FakeMedia::content_item(bool with_artwork) const {
    proto::ContentItem content;
    content.set_identifier(item_identifier_);
    if (!item_) {
        return content;
    }
    auto* metadata = content.mutable_metadata();
    const auto set_text = [](const std::string& value, auto setter) {
        if (!value.empty()) {
            setter(value);
        }
    };
    set_text(item_->title, [&](const std::string& v) { metadata->set_title(v); });
    set_text(item_->artist, [&](const std::string& v) { metadata->set_trackartistname(v); });
    set_text(item_->album, [&](const std::string& v) { metadata->set_albumname(v); });
    set_text(item_->genre, [&](const std::string& v) { metadata->set_genre(v); });
    set_text(item_->series_name, [&](const std::string& v) { metadata->set_seriesname(v); });
    set_text(item_->content_identifier,
             [&](const std::string& v) { metadata->set_contentidentifier(v); });
    if (item_->season_number) {
        metadata->set_seasonnumber(static_cast<std::int32_t>(*item_->season_number));
    }
    if (item_->episode_number) {
        metadata->set_episodenumber(static_cast<std::int32_t>(*item_->episode_number));
    }
    if (item_->duration) {
        metadata->set_duration(*item_->duration);
    }
    metadata->set_elapsedtime(item_->position);
    metadata->set_elapsedtimetimestamp(cocoa_time(item_since_));
    metadata->set_playbackrate(static_cast<float>(item_->rate));
    metadata->set_mediatype(item_->media_type);
    metadata->set_artworkavailable(!artwork_.empty());
    if (!artwork_.empty()) {
        metadata->set_artworkidentifier(artwork_identifier_);
        metadata->set_artworkmimetype(artwork_mime_type_);
    }
    if (with_artwork && !artwork_.empty()) {
        content.set_artworkdata(artwork_.data(), artwork_.size());
    }
    return content;
}

ProtocolMessage FakeMedia::full_state() const {
    ProtocolMessage message = mrp::make_message(ProtocolMessage::SET_STATE_MESSAGE);
    auto* state = message.MutableExtension(proto::setStateMessage);
    state->set_displayid(app_);
    state->set_displayname(app_name_);
    state->set_playbackstate(item_ ? item_->state : proto::PlaybackState::Stopped);
    for (mrp::Command command : commands_) {
        auto* info = state->mutable_supportedcommands()->add_supportedcommands();
        info->set_command(command);
        info->set_enabled(true);
        if (command == proto::Command::SkipForward || command == proto::Command::SkipBackward) {
            info->add_preferredintervals(15.0);
        } else if (command == proto::Command::ChangeShuffleMode) {
            info->set_shufflemode(shuffle_);
        } else if (command == proto::Command::ChangeRepeatMode) {
            info->set_repeatmode(repeat_);
        }
    }
    auto* queue = state->mutable_playbackqueue();
    queue->set_location(0);
    if (item_) {
        *queue->add_contentitems() = content_item(false);
    }
    *state->mutable_playerpath() = player_path();
    return message;
}

bool FakeMedia::supports(mrp::Command command) const {
    return !app_.empty() && item_ &&
           std::find(commands_.begin(), commands_.end(), command) != commands_.end();
}

bool FakeMedia::handle(const ProtocolMessage& message, std::vector<ProtocolMessage>& replies) {
    switch (message.type()) {
        case ProtocolMessage::SEND_COMMAND_MESSAGE: {
            const auto error = run_command(message.GetExtension(proto::sendCommandMessage));
            replies.push_back(command_result(message, error));
            return true;
        }
        case ProtocolMessage::SEND_HID_EVENT_MESSAGE:
            handle_hid(message.GetExtension(proto::sendHIDEventMessage));
            return true;
        case ProtocolMessage::PLAYBACK_QUEUE_REQUEST_MESSAGE:
            replies.push_back(playback_queue(message));
            return true;
        case ProtocolMessage::SET_VOLUME_MESSAGE:
            handle_set_volume(message.GetExtension(proto::setVolumeMessage));
            return true;
        case ProtocolMessage::ADJUST_VOLUME_MESSAGE: {
            const auto& adjust = message.GetExtension(proto::adjustVolumeMessage);
            if (!adjust.has_adjustment() || !volume_available_) {
                record("REFUSED AdjustVolume");
                return true;
            }
            record("ADJUST " + proto::AdjustVolumeMessage::Adjustment_Name(adjust.adjustment()));
            const double steps[] = {0.05, 0.1, 0.2};
            const int index = static_cast<int>(adjust.adjustment()) - 1;
            step_volume(index < 3 ? steps[index] : -steps[index - 3]);
            return true;
        }
        default:
            return false;
    }
}

ProtocolMessage FakeMedia::command_result(const ProtocolMessage& request,
                                          proto::SendError::Enum error) const {
    ProtocolMessage reply = mrp::reply_to(request, ProtocolMessage::SEND_COMMAND_RESULT_MESSAGE);
    auto* result = reply.MutableExtension(proto::sendCommandResultMessage);
    result->set_senderror(error);
    result->set_handlerreturnstatus(error == proto::SendError::NoError
                                        ? proto::HandlerReturnStatus::Success
                                        : proto::HandlerReturnStatus::CommandFailed);
    if (!app_.empty()) {
        *result->mutable_playerpath() = player_path();
    }
    return reply;
}

proto::SendError::Enum FakeMedia::run_command(const proto::SendCommandMessage& command) {
    if (!command.has_command()) {
        record("REFUSED Unknown NotSupported");
        return proto::SendError::NotSupported;
    }
    const mrp::Command which = command.command();
    const std::string name = mrp::command_name(which);
    const proto::CommandOptions& options = command.options();
    if (!supports(which)) {
        record("REFUSED " + name + " NoCommandHandlers");
        return proto::SendError::NoCommandHandlers;
    }
    std::string detail;
    const auto refuse = [&] {
        record("REFUSED " + name + " InvalidOptions");
        return proto::SendError::InvalidOptions;
    };
    switch (which) {
        case proto::Command::SkipForward:
        case proto::Command::SkipBackward:
            if (!options.has_skipinterval() || !(options.skipinterval() > 0)) {
                return refuse();
            }
            detail = fmt::format(" interval={:g}", options.skipinterval());
            break;
        case proto::Command::SeekToPlaybackPosition:
            if (!options.has_playbackposition() || !(options.playbackposition() >= 0) ||
                (item_->duration && options.playbackposition() > *item_->duration)) {
                return refuse();
            }
            detail = fmt::format(" position={:g}", options.playbackposition());
            break;
        case proto::Command::ChangeShuffleMode:
            if (!options.has_shufflemode() ||
                options.shufflemode() == proto::ShuffleMode::Unknown) {
                return refuse();
            }
            detail = " shuffle=" + proto::ShuffleMode::Enum_Name(options.shufflemode());
            break;
        case proto::Command::ChangeRepeatMode:
            if (!options.has_repeatmode() || options.repeatmode() == proto::RepeatMode::Unknown) {
                return refuse();
            }
            detail = " repeat=" + proto::RepeatMode::Enum_Name(options.repeatmode());
            break;
        default:
            break;
    }
    record("COMMAND " + name + detail);
    switch (which) {
        case proto::Command::Play:
            set_state(proto::PlaybackState::Playing);
            break;
        case proto::Command::Pause:
            set_state(proto::PlaybackState::Paused);
            break;
        case proto::Command::TogglePlayPause:
            set_state(item_->state == proto::PlaybackState::Playing
                          ? proto::PlaybackState::Paused
                          : proto::PlaybackState::Playing);
            break;
        case proto::Command::Stop:
            set_state(proto::PlaybackState::Stopped);
            break;
        case proto::Command::SkipForward:
            seek(position() + options.skipinterval());
            break;
        case proto::Command::SkipBackward:
            seek(position() - options.skipinterval());
            break;
        case proto::Command::SeekToPlaybackPosition:
            seek(options.playbackposition());
            break;
        case proto::Command::ChangeShuffleMode:
            set_shuffle(options.shufflemode());
            break;
        case proto::Command::ChangeRepeatMode:
            set_repeat(options.repeatmode());
            break;
        default:
            break;  // next and previous only show in the log
    }
    return proto::SendError::NoError;
}

void FakeMedia::handle_hid(const proto::SendHIDEventMessage& message) {
    const auto event = mrp::read_hid_event(message);
    if (!event) {
        record("HID invalid");
        return;
    }
    record(fmt::format("HID {} 0x{:02x} {} t={}", event->key.page, event->key.usage,
                       event->down ? "down" : "up", monotonic_ms()));
    // The volume keys step the volume when pressed.
    constexpr mrp::HidKey volume_up{12, 0xe9};
    constexpr mrp::HidKey volume_down{12, 0xea};
    if (event->down && volume_available_ &&
        (event->key == volume_up || event->key == volume_down)) {
        step_volume(event->key == volume_up ? volume_key_step : -volume_key_step);
    }
}

void FakeMedia::step_volume(double delta) {
    // Rounded to whole percent, so that steps add up exactly.
    set_volume(std::round((volume_ + delta) * 100.0) / 100.0);
}

ProtocolMessage FakeMedia::playback_queue(const ProtocolMessage& request) {
    const auto& asked = request.GetExtension(proto::playbackQueueRequestMessage);
    const auto width = static_cast<std::int64_t>(std::llround(asked.artworkwidth()));
    const auto height = static_cast<std::int64_t>(std::llround(asked.artworkheight()));
    record(fmt::format("ARTWORK {}x{}", width, height));
    ProtocolMessage reply = mrp::reply_to(request, ProtocolMessage::SET_STATE_MESSAGE);
    auto* state = reply.MutableExtension(proto::setStateMessage);
    auto* queue = state->mutable_playbackqueue();
    queue->set_location(0);
    if (item_ && asked.location() == 0) {
        proto::ContentItem content = content_item(true);
        if (!artwork_.empty()) {
            // The size asked, or the artwork's own where -1 (keeping its aspect ratio).
            std::int64_t out_width = width > 0 ? width : artwork_width_;
            std::int64_t out_height = height > 0 ? height : artwork_height_;
            if (width > 0 && height <= 0) {
                out_height = width * artwork_height_ / std::max<std::uint32_t>(artwork_width_, 1);
            } else if (height > 0 && width <= 0) {
                out_width = height * artwork_width_ / std::max<std::uint32_t>(artwork_height_, 1);
            }
            content.set_artworkdatawidth(static_cast<std::int32_t>(out_width));
            content.set_artworkdataheight(static_cast<std::int32_t>(out_height));
        }
        *queue->add_contentitems() = std::move(content);
    }
    if (!app_.empty()) {
        *state->mutable_playerpath() = player_path();
    }
    return reply;
}

void FakeMedia::handle_set_volume(const proto::SetVolumeMessage& message) {
    if (!volume_available_ || !message.has_volume() || !(message.volume() >= 0.0f) ||
        message.volume() > 1.0f || message.outputdeviceuid() != output_device_uid_) {
        record("REFUSED SetVolume");
        return;
    }
    record(fmt::format("VOLUME {:g}", message.volume()));
    set_volume(message.volume());
}

}  // namespace atv::fakes
