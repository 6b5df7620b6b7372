// The media side of the fake Apple TV: what plays (title, artist, ..., app, state, position),
// which commands the app supports, artwork and volume. Tests script it (as C++ calls or as
// text lines, see README.md); it answers commands, HID events, playback queue and volume
// requests as a device does, pushes SET_STATE and the other update messages to every
// subscribed client when something changes, and logs each command and key it receives.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mrp/control_messages.hpp"
#include "support/bytes.hpp"

namespace atv::fakes {

// One item as a test describes it.
struct FakeItem {
    std::string title;
    std::string artist;
    std::string album;
    std::string genre;
    std::string series_name;
    std::optional<std::uint32_t> season_number;
    std::optional<std::uint32_t> episode_number;
    std::optional<double> duration;  // seconds
    double position = 0;             // seconds, at the time the item was set
    double rate = 1;                 // 0 when paused
    mrp::proto::PlaybackState::Enum state = mrp::proto::PlaybackState::Playing;
    mrp::proto::ContentItemMetadata::MediaType media_type =
        mrp::proto::ContentItemMetadata::UnknownMediaType;
    std::string content_identifier;
};

class FakeMedia {
  public:
    using Push = std::function<void(const mrp::ProtocolMessage&)>;
    using Clock = std::chrono::system_clock;

    explicit FakeMedia(std::string output_device_uid);

    // ---- scripting ----
    // A new item of `app` (a bundle id; the current app when empty) starts.
    void play(FakeItem item, std::string app = {}, std::string app_name = {});
    // The current item's metadata changes (pushed as UPDATE_CONTENT_ITEM).
    void update(const std::function<void(FakeItem&)>& change);
    void set_state(mrp::proto::PlaybackState::Enum state);
    void seek(double seconds);
    // The app goes away (REMOVE_CLIENT): nothing plays.
    void clear();
    void set_commands(std::vector<mrp::Command> commands);
    void set_shuffle(mrp::proto::ShuffleMode::Enum mode);
    void set_repeat(mrp::proto::RepeatMode::Enum mode);
    // New artwork (a new artwork identifier); empty bytes: none.
    void set_artwork(Bytes data, std::string mime_type = "image/png", std::uint32_t width = 600,
                     std::uint32_t height = 600);
    // 0.0-1.0.
    void set_volume(double level);
    void set_volume_available(bool available);
    // `count` SET_STATE messages, each with a later position, as a busy device sends them.
    void flood(std::size_t count);
    // One line of the text script; returns an error message when it is not understood.
    std::optional<std::string> script(std::string_view line);
    // A `hostile ...` line (see README.md): what a broken or malicious device sends.
    std::optional<std::string> hostile(const std::vector<std::string>& arguments);

    // ---- what it is ----
    [[nodiscard]] const std::optional<FakeItem>& item() const { return item_; }
    [[nodiscard]] const std::string& app() const { return app_; }
    // The position now, advanced at the item's rate.
    [[nodiscard]] double position() const;
    [[nodiscard]] double volume() const { return volume_; }
    [[nodiscard]] const std::vector<mrp::Command>& commands() const { return commands_; }
    [[nodiscard]] mrp::proto::ShuffleMode::Enum shuffle() const { return shuffle_; }
    [[nodiscard]] mrp::proto::RepeatMode::Enum repeat() const { return repeat_; }
    // Every line logged so far ("COMMAND Play", "HID 1 0x89 down t=...", ...).
    [[nodiscard]] const std::vector<std::string>& log() const { return log_; }
    void on_log(std::function<void(const std::string&)> handler) {
        log_handler_ = std::move(handler);
    }

    // ---- the device side ----
    // Answers a request of the media side (commands, HID, playback queue, volume); replies in
    // `replies`. Returns false when the message is not one of the media side's.
    bool handle(const mrp::ProtocolMessage& message, std::vector<mrp::ProtocolMessage>& replies);
    // What a client that subscribes to updates is sent first.
    [[nodiscard]] std::vector<mrp::ProtocolMessage> snapshot() const;

    // Pushes go to every subscriber until it unsubscribes.
    int subscribe(Push push);
    void unsubscribe(int id);
    [[nodiscard]] std::size_t subscribers() const { return subscribers_.size(); }

  private:
    void record(std::string line);
    void push(const mrp::ProtocolMessage& message);
    void push_now_playing(bool announce_client);
    void push_volume();
    mrp::ProtocolMessage command_result(const mrp::ProtocolMessage& request,
                                        mrp::proto::SendError::Enum error) const;
    mrp::proto::SendError::Enum run_command(const mrp::proto::SendCommandMessage& command);
    void handle_hid(const mrp::proto::SendHIDEventMessage& message);
    mrp::ProtocolMessage playback_queue(const mrp::ProtocolMessage& request);
    void handle_set_volume(const mrp::proto::SetVolumeMessage& message);
    void step_volume(double delta);
    void settle_position();
    // An UPDATE_CONTENT_ITEM of the current item carrying only what `fill` sets.
    void push_raw_update(const std::function<void(mrp::proto::ContentItemMetadata&)>& fill);
    // A SET_STATE of a player that is not the one the fake announced as playing.
    void push_foreign_state(const std::string& bundle, const std::string& player,
                            const std::string& title);

    [[nodiscard]] mrp::proto::PlayerPath player_path() const;
    [[nodiscard]] mrp::proto::ContentItem content_item(bool with_artwork) const;
    [[nodiscard]] mrp::ProtocolMessage full_state() const;
    [[nodiscard]] bool supports(mrp::Command command) const;

    std::string output_device_uid_;
    std::optional<FakeItem> item_;
    std::string item_identifier_;
    Clock::time_point item_since_;  // when item_->position was the position
    std::string app_;
    std::string app_name_;
    std::vector<mrp::Command> commands_;
    mrp::proto::ShuffleMode::Enum shuffle_ = mrp::proto::ShuffleMode::Off;
    mrp::proto::RepeatMode::Enum repeat_ = mrp::proto::RepeatMode::Off;
    Bytes artwork_;
    std::string artwork_mime_type_;
    std::uint32_t artwork_width_ = 0;
    std::uint32_t artwork_height_ = 0;
    std::string artwork_identifier_;
    double volume_ = 0.5;
    bool volume_available_ = true;
    std::uint64_t serial_ = 0;  // makes item and artwork identifiers unique
    std::vector<std::string> log_;
    std::function<void(const std::string&)> log_handler_;
    std::map<int, Push> subscribers_;
    int next_subscriber_ = 0;
};

}  // namespace atv::fakes
