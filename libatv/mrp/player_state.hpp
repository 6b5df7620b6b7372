// What plays on an MRP device, merged from the messages it pushes: one state per client (an
// app, by bundle id) and per player of that client; the active one is the one named by the
// latest SET_NOW_PLAYING_CLIENT and SET_NOW_PLAYING_PLAYER messages. Sans-I/O: messages in,
// the visible state out, and for each message whether the visible state changed.
//
// The device is not trusted: strings are made valid UTF-8 and cut to a bound, numbers outside
// sane ranges are dropped, and only a bounded number of clients and players is kept, so
// nothing a device sends makes the state grow without bound.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atv/control.hpp"
#include "mrp/control_messages.hpp"

namespace atv::mrp {

struct PlayerStateLimits {
    std::size_t max_string_bytes = 1024;     // titles, names and the like
    std::size_t max_identifier_bytes = 256;  // bundle ids, player and item identifiers
    std::size_t max_clients = 32;
    std::size_t max_players_per_client = 16;
    std::size_t max_commands = 64;
};

// What a command of the active player offers.
struct CommandState {
    Command command = Command::Command_Enum_Unknown;
    bool enabled = false;
    std::optional<double> preferred_interval;  // seconds; the first the device prefers
    std::optional<ShuffleMode> shuffle;
    std::optional<RepeatMode> repeat;
};

class PlayerState {
  public:
    explicit PlayerState(PlayerStateLimits limits = {}) : limits_(limits) {}

    // Which parts of the visible state one message changed.
    struct Changes {
        bool now_playing = false;
        bool features = false;
        bool volume = false;
        [[nodiscard]] bool any() const { return now_playing || features || volume; }
    };

    // Merges one message from the device; messages of other types change nothing.
    Changes handle(const ProtocolMessage& message);

    [[nodiscard]] const NowPlaying& now_playing() const { return now_playing_; }
    [[nodiscard]] const FeatureMap& features() const { return features_; }
    // One feature's state, without a look-up in the map.
    [[nodiscard]] FeatureState feature_state(Feature feature) const {
        const auto index = static_cast<std::size_t>(feature);
        return index < feature_states_.size() ? feature_states_[index] : FeatureState::unsupported;
    }
    // 0-100 while the device offers volume control.
    [[nodiscard]] std::optional<double> volume() const;
    [[nodiscard]] bool volume_available() const {
        return volume_available_ && output_device_uid_.has_value();
    }
    [[nodiscard]] const std::string& output_device_uid() const;

    // The active player's command, or nullopt when it does not list it.
    [[nodiscard]] std::optional<CommandState> command(Command command) const;
    // The device's playback state of the active player as pyatv reads it.
    [[nodiscard]] PlaybackState playback_state() const { return now_playing_.state; }
    // The queue location of the current item, for PLAYBACK_QUEUE_REQUEST_MESSAGE.
    [[nodiscard]] std::int32_t location() const;
    // The current item's identifier and artwork MIME type; empty when unknown.
    [[nodiscard]] std::string item_identifier() const;
    [[nodiscard]] std::string artwork_mime_type() const;

    [[nodiscard]] std::size_t client_count() const { return clients_.size(); }
    [[nodiscard]] std::size_t player_count() const;

    // A string from the device, valid UTF-8 (invalid bytes become U+FFFD), without control
    // characters, at most `max_bytes` long.
    static std::string sanitize(std::string_view text, std::size_t max_bytes);
    // True when sanitize would return the text unchanged.
    static bool is_clean(std::string_view text, std::size_t max_bytes);

  private:
    // A content item with only what atvd shows, each field present or not.
    struct Item {
        std::string identifier;
        std::optional<std::string> title, artist, album, genre, series_name;
        std::optional<std::string> content_identifier, artwork_identifier, artwork_mime_type;
        std::optional<std::int64_t> itunes_store_identifier;
        std::optional<std::uint32_t> season_number, episode_number;
        std::optional<double> duration, elapsed_time, elapsed_timestamp, playback_rate;
        std::optional<proto::ContentItemMetadata::MediaType> media_type;
        bool artwork_available = false;
    };

    struct Player {
        std::string display_name;
        std::optional<proto::PlaybackState::Enum> playback_state;
        std::vector<CommandState> commands;
        std::optional<Item> item;  // the item at `location` of the queue, if the queue has one
        std::int32_t location = 0;
        std::uint64_t last_used = 0;
    };

    struct Client {
        std::string display_name;
        // Transparent: looked up by a view of the message's bytes, without a copy.
        std::map<std::string, Player, std::less<>> players;
        std::optional<std::string> active_player;
        std::uint64_t last_used = 0;
    };

    void handle_set_state(const proto::SetStateMessage& message);
    void handle_content_item_update(const proto::UpdateContentItemMessage& message);
    void handle_set_now_playing_client(const proto::NowPlayingClient& client);
    void handle_set_now_playing_player(const proto::PlayerPath& path);
    void handle_remove_client(const proto::NowPlayingClient& client);
    void handle_remove_player(const proto::PlayerPath& path);
    void handle_volume_availability(const proto::VolumeControlAvailabilityMessage& message);
    void handle_volume_capabilities(const proto::VolumeControlCapabilitiesDidChangeMessage& m);
    void handle_volume_change(const proto::VolumeDidChangeMessage& message);

    // The client of a bundle id, created (evicting the least recently used inactive client
    // when full) unless `create` is false; nullptr when it cannot be kept.
    Client* client(const proto::NowPlayingClient& client, bool create = true);
    Player* player(const proto::PlayerPath& path, bool create = true);
    [[nodiscard]] const Client* active_client() const;
    [[nodiscard]] const Player* active_player() const;

    // `player`'s entry for the command, or nullptr.
    [[nodiscard]] static const CommandState* find_command(const Player* player, Command command);
    Item read_item(const proto::ContentItem& item) const;
    void merge_metadata(Item& item, const proto::ContentItemMetadata& metadata) const;
    std::vector<CommandState> read_commands(const proto::SupportedCommands& commands) const;
    [[nodiscard]] std::string identifier(const std::string& value) const {
        return sanitize(value, limits_.max_identifier_bytes);
    }
    // The sanitized text as a view: of `value` itself when it is clean already (the usual
    // case, without a copy), else of `scratch`, which holds the sanitized copy.
    [[nodiscard]] std::string_view identifier_view(const std::string& value,
                                                   std::string& scratch) const;
    // `into` = text(value), reusing into's storage.
    void assign_text(std::string& into, const std::string& value, std::size_t max_bytes) const;

    // Recomputes what is shown from the merged state into `playing`, every field of it,
    // reusing its strings' storage.
    void build_now_playing(const Player* active, NowPlaying& playing) const;
    // Each feature's state, by index: built on every message without allocating, turned into
    // a FeatureMap only when it differs from the last.
    using FeatureStates = std::array<FeatureState, feature_count>;
    FeatureStates build_features(const Player* active) const;
    static FeatureMap to_map(const FeatureStates& states);

    PlayerStateLimits limits_;
    std::map<std::string, Client, std::less<>> clients_;
    std::optional<std::string> active_client_;
    std::uint64_t clock_ = 0;  // orders uses, for eviction
    bool volume_available_ = false;
    std::optional<std::string> output_device_uid_;
    double volume_ = 0.0;  // 0-100
    NowPlaying now_playing_;
    NowPlaying next_now_playing_;  // built on each message, swapped in when it differs
    FeatureStates feature_states_ = build_features(nullptr);
    FeatureMap features_ = to_map(feature_states_);
};

// Seconds since 2001-01-01 (Cocoa's reference date) as a point in time.
std::chrono::system_clock::time_point from_cocoa_time(double seconds);

}  // namespace atv::mrp
