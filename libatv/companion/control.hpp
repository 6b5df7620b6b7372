// atv::Control over the Companion link: power (the device's attention state, pushed as
// SystemStatus), the app list and launching, user accounts, keys as HID buttons, media control
// commands as the device's `_iMC` flags allow them, and the focused text field through the
// text-input session (protocols-control.md §4). The device is not trusted: what it sends is
// bounded, its names made valid UTF-8, and its events coalesced.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atv/control.hpp"
#include "atv/error.hpp"
#include "companion/channel.hpp"
#include "companion/opack.hpp"
#include "companion/text_input.hpp"

namespace atv::companion {

// The device's attention state (FetchAttentionState and SystemStatus `state`).
enum class AttentionState : std::uint8_t { asleep = 1, screensaver = 2, awake = 3, idle = 4 };

// The attention state a `state` number names; nullopt for any other number.
std::optional<AttentionState> attention_state_from(std::int64_t state);
// Asleep is off; screensaver, awake and idle are on.
PowerState power_state_of(std::optional<AttentionState> attention);

// The bits of `_mcF` in the device's `_iMC` event: the media controls usable now.
namespace media_control_flag {
inline constexpr std::uint32_t play = 0x0001;
inline constexpr std::uint32_t pause = 0x0002;
inline constexpr std::uint32_t next_track = 0x0004;
inline constexpr std::uint32_t previous_track = 0x0008;
inline constexpr std::uint32_t fast_forward = 0x0010;
inline constexpr std::uint32_t rewind = 0x0020;
inline constexpr std::uint32_t volume = 0x0100;
inline constexpr std::uint32_t skip_forward = 0x0200;
inline constexpr std::uint32_t skip_backward = 0x0400;
}  // namespace media_control_flag

// The `_hidC` button codes.
enum class HidButton : std::uint8_t {
    up = 1,
    down = 2,
    left = 3,
    right = 4,
    menu = 5,
    select = 6,
    home = 7,
    volume_up = 8,
    volume_down = 9,
    siri = 10,
    screensaver = 11,
    sleep = 12,
    wake = 13,
    play_pause = 14,
    channel_up = 15,
    channel_down = 16,
};

// The `_mcc` media control commands.
enum class MediaCommand : std::uint8_t {
    play = 1,
    pause = 2,
    next_track = 3,
    previous_track = 4,
    get_volume = 5,
    set_volume = 6,
    skip_by = 7,
};

// What the device pushes in events of its own accord, kept as the latest value of each. The
// channel's event handler fills it from the introduction on, before the control exists.
struct CompanionPushedState {
    std::optional<std::uint32_t> media_control_flags;  // `_mcF` of the last `_iMC` event
    std::optional<AttentionState> system_status;       // `state` of the last SystemStatus
    // Focused while the device has a text field in a text-input session: told by the `_tiStart`
    // reply, then by `_tiStarted` and `_tiStopped` events.
    FocusState text_focus = FocusState::unknown;
};

// Focused when a `_tiStart` reply or `_tiStarted` event's content carries a session (`_tiD`).
FocusState text_focus_of(const OpackValue* content);

// Folds one event of the device into `pushed`; returns whether it was one it keeps.
bool keep_pushed_event(const OpackValue& message, CompanionPushedState& pushed);

struct CompanionControlOptions {
    std::chrono::milliseconds request_timeout = default_request_timeout;
    // How long a held key stays down.
    std::chrono::milliseconds hold_time{1000};
    // A device's app or account list beyond this many entries is cut.
    std::size_t max_items = 10000;
    // Names and identifiers from the device are cut to this many bytes.
    std::size_t max_name_bytes = 256;
    // Power changes not yet told to the listener; more coalesce into the latest.
    std::size_t max_pending_power_events = 8;
    // The text-input archives the device sends, and the text of its field atvd reads.
    TextInputLimits text_input;
};

class CompanionControl final : public atv::Control {
  public:
    // Takes over the channel's event handler and keeps `pushed` up to date from then on;
    // `attention` is what FetchAttentionState answered at connect (nullopt: no answer).
    CompanionControl(std::shared_ptr<CompanionChannel> channel,
                     std::shared_ptr<CompanionPushedState> pushed,
                     std::optional<AttentionState> attention, CompanionControlOptions options = {});
    ~CompanionControl() override;
    CompanionControl(const CompanionControl&) = delete;
    CompanionControl& operator=(const CompanionControl&) = delete;

    [[nodiscard]] FeatureMap features() const override;
    [[nodiscard]] const NowPlaying& now_playing() const override { return nothing_playing_; }
    [[nodiscard]] std::optional<double> volume() const override;
    // A listener of the volume has it fetched (and fetched again as the flags change).
    void set_events(ControlEvents events) override;

    asio::awaitable<void> press(Key key, InputAction action,
                                std::optional<double> interval) override;
    asio::awaitable<void> set_position(std::chrono::microseconds position) override;
    asio::awaitable<void> set_shuffle(ShuffleMode mode) override;
    asio::awaitable<void> set_repeat(RepeatMode mode) override;
    asio::awaitable<Artwork> artwork(std::uint32_t width, std::uint32_t height) override;
    asio::awaitable<void> set_volume(double volume) override;
    asio::awaitable<void> volume_up() override;
    asio::awaitable<void> volume_down() override;

    [[nodiscard]] PowerState power_state() const override { return power_; }
    asio::awaitable<void> turn_on() override;
    asio::awaitable<void> turn_off() override;
    asio::awaitable<std::vector<NamedItem>> apps() override;
    asio::awaitable<void> launch(std::string app) override;
    asio::awaitable<std::vector<NamedItem>> accounts() override;
    asio::awaitable<void> switch_account(std::string identifier) override;
    [[nodiscard]] FocusState focus_state() const override { return pushed_->text_focus; }
    asio::awaitable<std::string> text() override;
    asio::awaitable<void> set_text(std::string text) override;
    asio::awaitable<void> append_text(std::string text) override;
    asio::awaitable<void> clear_text() override;

    // One event from the device, as the channel hands it over.
    void handle(const OpackValue& message);

  private:
    // Sends a request; throws the device's refusal (`_em`) as `refusal_kind` with its reason.
    asio::awaitable<OpackValue> request(std::string identifier, OpackValue content,
                                        ErrorKind refusal_kind = ErrorKind::not_supported);
    asio::awaitable<void> press_button(HidButton button, InputAction action);
    asio::awaitable<void> media_command(MediaCommand command, Feature feature,
                                        OpackDict arguments = {});
    asio::awaitable<void> refresh_volume();
    asio::awaitable<std::vector<NamedItem>> fetch_list(std::string identifier, const char* what);
    // A fresh text-input session (_tiStop, then _tiStart), so that it describes the field as it
    // is now; throws not_supported when no field is focused.
    asio::awaitable<TextInputSession> text_session();
    void send_text_edit(Bytes archive);
    void set_focus(FocusState focus);
    [[nodiscard]] bool flag_set(std::uint32_t flag) const;
    void set_power(PowerState state);
    void flush_power_events();
    void report_features();
    void report_volume();

    std::shared_ptr<CompanionChannel> channel_;
    std::shared_ptr<CompanionPushedState> pushed_;
    CompanionControlOptions options_;
    ControlEvents events_;
    NowPlaying nothing_playing_;
    PowerState power_ = PowerState::unknown;
    // Power states not yet told, oldest first; a post to tell them is out when not empty.
    std::deque<PowerState> pending_power_;
    PowerState last_told_power_ = PowerState::unknown;
    FocusState last_told_focus_ = FocusState::unknown;
    std::optional<double> volume_;
    bool volume_fetching_ = false;
    // Expires with this object: posted events and resumed coroutines check it first.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace atv::companion
