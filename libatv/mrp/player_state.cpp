#include "mrp/player_state.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace atv::mrp {

namespace {

constexpr std::string_view default_player_id = "MediaRemote-DefaultPlayer";
constexpr std::int64_t cocoa_epoch_unix_seconds = 978307200;
// Bounds of what a device may sensibly say; anything outside is dropped.
constexpr double max_media_seconds = 1e7;  // about 115 days
constexpr double max_cocoa_seconds = 3e9;  // about the year 2096
constexpr double max_playback_rate = 64.0;
constexpr double max_skip_interval = 3600.0;
constexpr std::int32_t max_episode_number = 1000000;

std::optional<double> within(double value, double low, double high) {
    if (!std::isfinite(value) || value < low || value > high) {
        return std::nullopt;
    }
    return value;
}

std::optional<std::uint32_t> counted(std::int32_t value) {
    if (value < 0 || value > max_episode_number) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(value);
}

bool near(double value, double target) {
    return std::fabs(value - target) < 1e-6;
}

std::optional<ShuffleMode> shuffle_of(proto::ShuffleMode::Enum mode) {
    switch (mode) {
        case proto::ShuffleMode::Off:
            return ShuffleMode::off;
        case proto::ShuffleMode::Albums:
            return ShuffleMode::albums;
        case proto::ShuffleMode::Songs:
            return ShuffleMode::songs;
        default:
            return std::nullopt;
    }
}

std::optional<RepeatMode> repeat_of(proto::RepeatMode::Enum mode) {
    switch (mode) {
        case proto::RepeatMode::Off:
            return RepeatMode::off;
        case proto::RepeatMode::One:
            return RepeatMode::track;
        case proto::RepeatMode::All:
            return RepeatMode::all;
        default:
            return std::nullopt;
    }
}

std::chrono::microseconds seconds_to_micros(double seconds) {
    return std::chrono::microseconds(static_cast<std::int64_t>(std::llround(seconds * 1e6)));
}

// The length of the UTF-8 sequence starting at `text[at]`, or 0 when it is not valid
// (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t utf8_sequence(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t index) { return static_cast<std::uint8_t>(text[index]); };
    const std::uint8_t lead = byte(at);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
        code = lead & 0x1fU;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        code = lead & 0x0fU;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        code = lead & 0x07U;
    } else {
        return 0;
    }
    if (at + length > text.size()) {
        return 0;
    }
    for (std::size_t index = 1; index < length; ++index) {
        if ((byte(at + index) & 0xc0U) != 0x80) {
            return 0;
        }
        code = (code << 6) | (byte(at + index) & 0x3fU);
    }
    const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    const bool surrogate = code >= 0xd800 && code <= 0xdfff;
    if (overlong || surrogate || code > 0x10ffff) {
        return 0;
    }
    return length;
}

}  // namespace

std::chrono::system_clock::time_point from_cocoa_time(double seconds) {
    return std::chrono::system_clock::time_point(std::chrono::seconds(cocoa_epoch_unix_seconds) +
                                                 seconds_to_micros(seconds));
}

std::string PlayerState::sanitize(std::string_view text, std::size_t max_bytes) {
    static constexpr std::string_view replacement = "\xef\xbf\xbd";
    std::string clean;
    clean.reserve(std::min(text.size(), max_bytes));
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t length = utf8_sequence(text, at);
        std::string_view piece = length == 0 ? replacement : text.substr(at, length);
        at += std::max<std::size_t>(length, 1);
        if (piece.size() == 1 && (static_cast<std::uint8_t>(piece[0]) < 0x20 || piece[0] == 0x7f)) {
            piece = " ";  // control characters (new lines included) would break log lines
        }
        if (clean.size() + piece.size() > max_bytes) {
            break;
        }
        clean.append(piece);
    }
    return clean;
}

bool PlayerState::is_clean(std::string_view text, std::size_t max_bytes) {
    if (text.size() > max_bytes) {
        return false;
    }
    for (std::size_t at = 0; at < text.size();) {
        const auto byte = static_cast<std::uint8_t>(text[at]);
        if (byte < 0x80) {
            if (byte < 0x20 || byte == 0x7f) {
                return false;
            }
            ++at;
            continue;
        }
        const std::size_t length = utf8_sequence(text, at);
        if (length == 0) {
            return false;
        }
        at += length;
    }
    return true;
}

std::string_view PlayerState::identifier_view(const std::string& value,
                                              std::string& scratch) const {
    if (is_clean(value, limits_.max_identifier_bytes)) {
        return value;
    }
    scratch = identifier(value);
    return scratch;
}

void PlayerState::assign_text(std::string& into, const std::string& value,
                              std::size_t max_bytes) const {
    if (!is_clean(value, max_bytes)) {
        into = sanitize(value, max_bytes);
    } else if (into != value) {
        into.assign(value);
    }
}

PlayerState::Changes PlayerState::handle(const ProtocolMessage& message) {
    const bool volume_was_available = volume_available();
    const double volume_before = volume_;
    switch (message.type()) {
        case ProtocolMessage::SET_STATE_MESSAGE:
            handle_set_state(message.GetExtension(proto::setStateMessage));
            break;
        case ProtocolMessage::UPDATE_CONTENT_ITEM_MESSAGE:
            handle_content_item_update(message.GetExtension(proto::updateContentItemMessage));
            break;
        case ProtocolMessage::SET_NOW_PLAYING_CLIENT_MESSAGE:
            handle_set_now_playing_client(
                message.GetExtension(proto::setNowPlayingClientMessage).client());
            break;
        case ProtocolMessage::SET_NOW_PLAYING_PLAYER_MESSAGE:
            handle_set_now_playing_player(
                message.GetExtension(proto::setNowPlayingPlayerMessage).playerpath());
            break;
        case ProtocolMessage::REMOVE_CLIENT_MESSAGE:
            handle_remove_client(message.GetExtension(proto::removeClientMessage).client());
            break;
        case ProtocolMessage::REMOVE_PLAYER_MESSAGE:
            handle_remove_player(message.GetExtension(proto::removePlayerMessage).playerpath());
            break;
        case ProtocolMessage::VOLUME_CONTROL_AVAILABILITY_MESSAGE:
            handle_volume_availability(
                message.GetExtension(proto::volumeControlAvailabilityMessage));
            break;
        case ProtocolMessage::VOLUME_CONTROL_CAPABILITIES_DID_CHANGE_MESSAGE:
            handle_volume_capabilities(
                message.GetExtension(proto::volumeControlCapabilitiesDidChangeMessage));
            break;
        case ProtocolMessage::VOLUME_DID_CHANGE_MESSAGE:
            handle_volume_change(message.GetExtension(proto::volumeDidChangeMessage));
            break;
        default:
            return {};
    }
    Changes changes;
    const Player* active = active_player();
    build_now_playing(active, next_now_playing_);
    if (next_now_playing_ != now_playing_) {
        std::swap(next_now_playing_, now_playing_);
        changes.now_playing = true;
    }
    const FeatureStates states = build_features(active);
    if (states != feature_states_) {
        feature_states_ = states;
        features_ = to_map(states);
        changes.features = true;
    }
    changes.volume = volume_available() != volume_was_available ||
                     (volume_available() && volume_ != volume_before);
    return changes;
}

// ---- merging ----

void PlayerState::handle_set_state(const proto::SetStateMessage& message) {
    Player* target = player(message.playerpath());
    if (target == nullptr) {
        return;
    }
    if (message.has_playbackstate()) {
        target->playback_state = message.playbackstate();
    }
    if (message.has_supportedcommands()) {
        target->commands = read_commands(message.supportedcommands());
    }
    if (message.has_playbackqueue()) {
        const proto::PlaybackQueue& queue = message.playbackqueue();
        target->location = queue.location();
        target->item.reset();
        if (queue.location() >= 0 && queue.location() < queue.contentitems_size()) {
            target->item = read_item(queue.contentitems(queue.location()));
        }
    }
}

void PlayerState::handle_content_item_update(const proto::UpdateContentItemMessage& message) {
    Player* target = player(message.playerpath());
    if (target == nullptr || !target->item) {
        return;
    }
    std::string scratch;
    for (const proto::ContentItem& update : message.contentitems()) {
        if (update.has_metadata() &&
            identifier_view(update.identifier(), scratch) == target->item->identifier) {
            merge_metadata(*target->item, update.metadata());
        }
    }
}

void PlayerState::handle_set_now_playing_client(const proto::NowPlayingClient& now_playing) {
    if (client(now_playing) != nullptr) {
        active_client_ = identifier(now_playing.bundleidentifier());
    }
}

void PlayerState::handle_set_now_playing_player(const proto::PlayerPath& path) {
    Client* owner = client(path.client());
    if (owner != nullptr && player(path) != nullptr) {
        owner->active_player = identifier(path.player().identifier());
    }
}

void PlayerState::handle_remove_client(const proto::NowPlayingClient& removed) {
    const std::string bundle = identifier(removed.bundleidentifier());
    clients_.erase(bundle);
    if (active_client_ == bundle) {
        active_client_.reset();
    }
}

void PlayerState::handle_remove_player(const proto::PlayerPath& path) {
    Client* owner = client(path.client(), false);
    const std::string id = identifier(path.player().identifier());
    if (owner == nullptr || id.empty()) {
        return;
    }
    owner->players.erase(id);
    if (owner->active_player == id) {
        owner->active_player.reset();
    }
}

void PlayerState::handle_volume_availability(
    const proto::VolumeControlAvailabilityMessage& message) {
    volume_available_ = message.volumecontrolavailable();
}

void PlayerState::handle_volume_capabilities(
    const proto::VolumeControlCapabilitiesDidChangeMessage& message) {
    output_device_uid_ = identifier(message.outputdeviceuid());
    if (message.has_capabilities()) {
        volume_available_ = message.capabilities().volumecontrolavailable();
    }
}

void PlayerState::handle_volume_change(const proto::VolumeDidChangeMessage& message) {
    // Changes of another output device (a grouped speaker) are not this device's volume.
    if (!output_device_uid_ || identifier(message.outputdeviceuid()) != *output_device_uid_) {
        return;
    }
    if (const auto level = within(message.volume(), 0.0, 1.0)) {
        volume_ = std::round(*level * 1000.0) / 10.0;
    }
}

PlayerState::Client* PlayerState::client(const proto::NowPlayingClient& wanted, bool create) {
    std::string scratch;
    const std::string_view bundle = identifier_view(wanted.bundleidentifier(), scratch);
    auto found = clients_.find(bundle);
    if (found == clients_.end()) {
        if (!create) {
            return nullptr;
        }
        if (clients_.size() >= limits_.max_clients) {
            auto oldest = clients_.end();
            for (auto it = clients_.begin(); it != clients_.end(); ++it) {
                if (it->first != active_client_ &&
                    (oldest == clients_.end() || it->second.last_used < oldest->second.last_used)) {
                    oldest = it;
                }
            }
            if (oldest == clients_.end()) {
                return nullptr;
            }
            clients_.erase(oldest);
        }
        found = clients_.emplace(std::string(bundle), Client{}).first;
    }
    Client& entry = found->second;
    entry.last_used = ++clock_;
    if (!wanted.displayname().empty()) {
        assign_text(entry.display_name, wanted.displayname(), limits_.max_string_bytes);
    }
    return &entry;
}

PlayerState::Player* PlayerState::player(const proto::PlayerPath& path, bool create) {
    Client* owner = client(path.client(), create);
    if (owner == nullptr) {
        return nullptr;
    }
    std::string scratch;
    const std::string_view id = identifier_view(path.player().identifier(), scratch);
    auto found = owner->players.find(id);
    if (found == owner->players.end()) {
        if (!create) {
            return nullptr;
        }
        if (owner->players.size() >= limits_.max_players_per_client) {
            auto oldest = owner->players.end();
            for (auto it = owner->players.begin(); it != owner->players.end(); ++it) {
                if (it->first != owner->active_player &&
                    (oldest == owner->players.end() ||
                     it->second.last_used < oldest->second.last_used)) {
                    oldest = it;
                }
            }
            if (oldest == owner->players.end()) {
                return nullptr;
            }
            owner->players.erase(oldest);
        }
        found = owner->players.emplace(std::string(id), Player{}).first;
    }
    Player& entry = found->second;
    entry.last_used = ++clock_;
    if (!path.player().displayname().empty()) {
        assign_text(entry.display_name, path.player().displayname(), limits_.max_string_bytes);
    }
    return &entry;
}

const PlayerState::Client* PlayerState::active_client() const {
    if (!active_client_) {
        return nullptr;
    }
    const auto found = clients_.find(*active_client_);
    return found == clients_.end() ? nullptr : &found->second;
}

const PlayerState::Player* PlayerState::active_player() const {
    const Client* owner = active_client();
    if (owner == nullptr) {
        return nullptr;
    }
    const std::string_view id =
        owner->active_player ? std::string_view(*owner->active_player) : default_player_id;
    const auto found = owner->players.find(id);
    return found == owner->players.end() ? nullptr : &found->second;
}

PlayerState::Item PlayerState::read_item(const proto::ContentItem& item) const {
    Item read;
    read.identifier = identifier(item.identifier());
    if (item.has_metadata()) {
        merge_metadata(read, item.metadata());
    }
    return read;
}

void PlayerState::merge_metadata(Item& item, const proto::ContentItemMetadata& metadata) const {
    const auto string_field = [this](bool present, const std::string& value,
                                     std::optional<std::string>& into) {
        if (present) {
            if (!into) {
                into.emplace();
            }
            assign_text(*into, value, limits_.max_string_bytes);
        }
    };
    string_field(metadata.has_title(), metadata.title(), item.title);
    string_field(metadata.has_trackartistname(), metadata.trackartistname(), item.artist);
    string_field(metadata.has_albumname(), metadata.albumname(), item.album);
    string_field(metadata.has_genre(), metadata.genre(), item.genre);
    string_field(metadata.has_seriesname(), metadata.seriesname(), item.series_name);
    string_field(metadata.has_contentidentifier(), metadata.contentidentifier(),
                 item.content_identifier);
    string_field(metadata.has_artworkidentifier(), metadata.artworkidentifier(),
                 item.artwork_identifier);
    string_field(metadata.has_artworkmimetype(), metadata.artworkmimetype(),
                 item.artwork_mime_type);
    if (metadata.has_itunesstoreidentifier()) {
        item.itunes_store_identifier = metadata.itunesstoreidentifier();
    }
    if (metadata.has_seasonnumber()) {
        item.season_number = counted(metadata.seasonnumber());
    }
    if (metadata.has_episodenumber()) {
        item.episode_number = counted(metadata.episodenumber());
    }
    if (metadata.has_duration()) {
        item.duration = within(metadata.duration(), 0.0, max_media_seconds);
    }
    if (metadata.has_elapsedtime()) {
        item.elapsed_time = within(metadata.elapsedtime(), 0.0, max_media_seconds);
    }
    if (metadata.has_elapsedtimetimestamp()) {
        item.elapsed_timestamp = within(metadata.elapsedtimetimestamp(), 0.0, max_cocoa_seconds);
    }
    if (metadata.has_playbackrate()) {
        item.playback_rate = within(metadata.playbackrate(), -max_playback_rate, max_playback_rate);
    }
    if (metadata.has_mediatype()) {
        item.media_type = metadata.mediatype();
    }
    if (metadata.has_artworkavailable()) {
        item.artwork_available = metadata.artworkavailable();
    }
}

std::vector<CommandState> PlayerState::read_commands(
    const proto::SupportedCommands& commands) const {
    std::vector<CommandState> read;
    for (const proto::CommandInfo& info : commands.supportedcommands()) {
        if (read.size() >= limits_.max_commands) {
            break;
        }
        if (!info.has_command()) {
            continue;
        }
        CommandState state;
        state.command = info.command();
        state.enabled = info.enabled();
        if (info.preferredintervals_size() > 0) {
            state.preferred_interval = within(info.preferredintervals(0), 1e-3, max_skip_interval);
        }
        if (info.has_shufflemode()) {
            state.shuffle = shuffle_of(info.shufflemode());
        }
        if (info.has_repeatmode()) {
            state.repeat = repeat_of(info.repeatmode());
        }
        read.push_back(state);
    }
    return read;
}

// ---- what is shown ----

std::optional<double> PlayerState::volume() const {
    if (!volume_available()) {
        return std::nullopt;
    }
    return volume_;
}

const std::string& PlayerState::output_device_uid() const {
    static const std::string none;
    return output_device_uid_ ? *output_device_uid_ : none;
}

std::optional<CommandState> PlayerState::command(Command wanted) const {
    const CommandState* found = find_command(active_player(), wanted);
    return found != nullptr ? std::optional<CommandState>(*found) : std::nullopt;
}

const CommandState* PlayerState::find_command(const Player* player, Command wanted) {
    if (player == nullptr) {
        return nullptr;
    }
    for (const CommandState& state : player->commands) {
        if (state.command == wanted) {
            return &state;
        }
    }
    return nullptr;
}

std::int32_t PlayerState::location() const {
    const Player* active = active_player();
    return active == nullptr ? 0 : active->location;
}

std::string PlayerState::item_identifier() const {
    const Player* active = active_player();
    return active != nullptr && active->item ? active->item->identifier : std::string();
}

std::string PlayerState::artwork_mime_type() const {
    const Player* active = active_player();
    return active != nullptr && active->item ? active->item->artwork_mime_type.value_or("")
                                             : std::string();
}

std::size_t PlayerState::player_count() const {
    std::size_t count = 0;
    for (const auto& [bundle, entry] : clients_) {
        count += entry.players.size();
    }
    return count;
}

namespace {

// pyatv's reading of a player's state: paused without an item is idle, and playing at a rate
// of 0 is paused, at another rate than 1 seeking.
PlaybackState shown_state(std::optional<proto::PlaybackState::Enum> state, bool has_item,
                          std::optional<double> rate) {
    if (!state) {
        return PlaybackState::idle;
    }
    switch (*state) {
        case proto::PlaybackState::Playing:
            if (!rate || near(*rate, 1.0)) {
                return PlaybackState::playing;
            }
            return near(*rate, 0.0) ? PlaybackState::paused : PlaybackState::seeking;
        case proto::PlaybackState::Paused:
            return has_item ? PlaybackState::paused : PlaybackState::idle;
        case proto::PlaybackState::Stopped:
            return PlaybackState::stopped;
        case proto::PlaybackState::Interrupted:
            return PlaybackState::loading;
        case proto::PlaybackState::Seeking:
            return PlaybackState::seeking;
        default:
            return PlaybackState::paused;
    }
}

}  // namespace

void PlayerState::build_now_playing(const Player* active, NowPlaying& playing) const {
    // Every field is set, as a default NowPlaying has it unless the state says otherwise.
    playing.state = PlaybackState::idle;
    playing.media_type = MediaType::unknown;
    playing.season_number = 0;
    playing.episode_number = 0;
    playing.duration = {};
    playing.position = {};
    playing.position_timestamp = {};
    playing.rate = 0.0;
    playing.shuffle = ShuffleMode::off;
    playing.repeat = RepeatMode::off;
    playing.itunes_store_identifier.clear();
    playing.artwork_identifier.clear();
    const Client* owner = active_client();
    playing.app.assign(owner != nullptr ? owner->display_name : std::string_view());
    playing.app_identifier.assign(owner != nullptr ? std::string_view(*active_client_)
                                                   : std::string_view());
    const Item* item = active != nullptr && active->item ? &*active->item : nullptr;
    const auto text_of = [item](const std::optional<std::string> Item::*field) {
        return item != nullptr && (item->*field) ? std::string_view(*(item->*field))
                                                 : std::string_view();
    };
    playing.title.assign(text_of(&Item::title));
    playing.artist.assign(text_of(&Item::artist));
    playing.album.assign(text_of(&Item::album));
    playing.genre.assign(text_of(&Item::genre));
    playing.series_name.assign(text_of(&Item::series_name));
    playing.content_identifier.assign(text_of(&Item::content_identifier));
    if (active == nullptr) {
        return;
    }
    playing.state = shown_state(active->playback_state, item != nullptr,
                                item != nullptr ? item->playback_rate : std::nullopt);
    if (const CommandState* shuffle =
            find_command(active, Command::Command_Enum_ChangeShuffleMode)) {
        playing.shuffle = shuffle->shuffle.value_or(ShuffleMode::off);
    }
    if (const CommandState* repeat = find_command(active, Command::Command_Enum_ChangeRepeatMode)) {
        playing.repeat = repeat->repeat.value_or(RepeatMode::off);
    }
    if (item == nullptr) {
        return;
    }
    if (item->media_type == proto::ContentItemMetadata::Audio) {
        playing.media_type = MediaType::music;
    } else if (item->media_type == proto::ContentItemMetadata::Video) {
        playing.media_type = MediaType::video;
    }
    playing.season_number = item->season_number.value_or(0);
    playing.episode_number = item->episode_number.value_or(0);
    if (item->itunes_store_identifier) {
        const auto digits = std::to_string(*item->itunes_store_identifier);
        playing.itunes_store_identifier.assign(digits);
    }
    playing.duration = seconds_to_micros(item->duration.value_or(0.0));
    playing.position = seconds_to_micros(item->elapsed_time.value_or(0.0));
    if (item->elapsed_timestamp) {
        playing.position_timestamp = from_cocoa_time(*item->elapsed_timestamp);
    }
    if (playing.state == PlaybackState::playing) {
        playing.rate = item->playback_rate.value_or(1.0);
    }
    if (item->artwork_available) {
        playing.artwork_identifier.assign(
            item->artwork_identifier   ? std::string_view(*item->artwork_identifier)
            : item->content_identifier ? std::string_view(*item->content_identifier)
                                       : std::string_view(item->identifier));
    }
}

FeatureMap PlayerState::to_map(const FeatureStates& states) {
    FeatureMap features;
    for (std::size_t index = 0; index < feature_count; ++index) {
        features.emplace_hint(features.end(), static_cast<Feature>(index), states[index]);
    }
    return features;
}

PlayerState::FeatureStates PlayerState::build_features(const Player* active) const {
    FeatureStates states;
    states.fill(FeatureState::unsupported);
    const auto at = [&states](Feature feature) -> FeatureState& {
        return states[static_cast<std::size_t>(feature)];
    };
    const auto set = [&](Feature feature, bool available) {
        at(feature) = available ? FeatureState::available : FeatureState::unavailable;
    };
    for (Feature always :
         {Feature::up, Feature::down, Feature::left, Feature::right, Feature::select, Feature::menu,
          Feature::home, Feature::home_hold, Feature::top_menu, Feature::push_updates}) {
        at(always) = FeatureState::available;
    }
    const Item* item = active != nullptr && active->item ? &*active->item : nullptr;
    const auto has = [item](auto field) { return item != nullptr && (item->*field).has_value(); };
    set(Feature::artwork, item != nullptr && item->artwork_available);
    set(Feature::title, has(&Item::title));
    set(Feature::artist, has(&Item::artist));
    set(Feature::album, has(&Item::album));
    set(Feature::genre, has(&Item::genre));
    set(Feature::total_time, has(&Item::duration));
    set(Feature::series_name, has(&Item::series_name));
    set(Feature::position, has(&Item::elapsed_timestamp));
    set(Feature::season_number, has(&Item::season_number));
    set(Feature::episode_number, has(&Item::episode_number));
    set(Feature::content_identifier, has(&Item::content_identifier));
    set(Feature::itunes_store_identifier, has(&Item::itunes_store_identifier));

    const auto enabled = [active](Command wanted) {
        const CommandState* state = find_command(active, wanted);
        return state != nullptr && state->enabled;
    };
    using C = proto::Command;
    const std::pair<Feature, Command> commands[] = {
        {Feature::next, C::NextTrack},
        {Feature::pause, C::Pause},
        {Feature::play, C::Play},
        {Feature::play_pause, C::TogglePlayPause},
        {Feature::previous, C::PreviousTrack},
        {Feature::stop, C::Stop},
        {Feature::set_position, C::SeekToPlaybackPosition},
        {Feature::set_repeat, C::ChangeRepeatMode},
        {Feature::set_shuffle, C::ChangeShuffleMode},
        {Feature::shuffle, C::ChangeShuffleMode},
        {Feature::repeat, C::ChangeRepeatMode},
        {Feature::skip_forward, C::SkipForward},
        {Feature::skip_backward, C::SkipBackward},
    };
    for (const auto& [feature, wanted] : commands) {
        set(feature, enabled(wanted));
    }
    // Without TogglePlayPause, PlayPause is emulated with whichever of Play and Pause applies
    // (now_playing_ is already the new state when this runs).
    const PlaybackState state = now_playing_.state;
    if ((state == PlaybackState::playing && enabled(C::Pause)) ||
        (state == PlaybackState::paused && enabled(C::Play))) {
        at(Feature::play_pause) = FeatureState::available;
    }
    set(Feature::app, active_client() != nullptr);
    for (Feature volume_feature :
         {Feature::volume, Feature::set_volume, Feature::volume_up, Feature::volume_down}) {
        set(volume_feature, volume_available());
    }
    return states;
}

}  // namespace atv::mrp
