#include "mrp/control.hpp"

#include <spdlog/spdlog.h>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cmath>
#include <utility>

#include "atv/error.hpp"

namespace atv::mrp {

namespace {

constexpr double default_skip_seconds = 15.0;
constexpr double max_skip_seconds = 3600.0;
constexpr std::size_t max_mime_type_bytes = 64;

// The navigation keys travel as HID events (usage page, usage), as a remote's buttons do.
std::optional<HidKey> hid_key(Key key) {
    switch (key) {
        case Key::up:
            return HidKey{1, 0x8c};
        case Key::down:
            return HidKey{1, 0x8d};
        case Key::left:
            return HidKey{1, 0x8b};
        case Key::right:
            return HidKey{1, 0x8a};
        case Key::select:
            return HidKey{1, 0x89};
        case Key::menu:
            return HidKey{1, 0x86};
        case Key::home:
            return HidKey{12, 0x40};
        case Key::top_menu:
            return HidKey{12, 0x60};
        case Key::volume_up:
            return HidKey{12, 0xe9};
        case Key::volume_down:
            return HidKey{12, 0xea};
        default:
            return std::nullopt;
    }
}

// The playback keys that are plain commands.
std::optional<Command> plain_command(Key key) {
    switch (key) {
        case Key::play:
            return proto::Command::Play;
        case Key::pause:
            return proto::Command::Pause;
        case Key::stop:
            return proto::Command::Stop;
        case Key::next:
            return proto::Command::NextTrack;
        case Key::previous:
            return proto::Command::PreviousTrack;
        default:
            return std::nullopt;
    }
}

// A broken channel is a lost connection to whoever controls the device.
[[noreturn]] void rethrow_as_control_error(const Error& error) {
    if (error.kind() == ErrorKind::connection_failed) {
        throw Error(ErrorKind::connection_lost, error.what());
    }
    throw error;
}

}  // namespace

MrpControl::MrpControl(std::shared_ptr<MrpChannel> channel, MrpControlOptions options)
    : channel_(std::move(channel)), options_(options), state_(options.limits) {
    channel_->on_message([this](const ProtocolMessage& message) { handle(message); });
    channel_->on_messages_read([this] { deliver_report(); });
}

MrpControl::~MrpControl() {
    *alive_ = false;
    channel_->on_message(nullptr);
    channel_->on_messages_read(nullptr);
    for (asio::steady_timer* waiter : volume_waiters_) {
        waiter->cancel();
    }
}

void MrpControl::handle(const ProtocolMessage& message) {
    const PlayerState::Changes changes = state_.handle(message);
    if (changes.volume) {
        for (asio::steady_timer* waiter : volume_waiters_) {
            waiter->cancel();
        }
    }
    unreported_.now_playing |= changes.now_playing;
    unreported_.features |= changes.features;
    unreported_.volume |= changes.volume;
}

// Listeners are told once the channel has handled all it read, never inside a caller's call:
// the messages of one read (a device's burst, or a flood) cost one event, of the state the last
// of them left, and each event leaves at once, without another turn of the loop.
void MrpControl::deliver_report() {
    const PlayerState::Changes changes = std::exchange(unreported_, {});
    // A listener may replace the events or end this control: each call checks again.
    const std::weak_ptr<bool> alive = alive_;
    if (changes.now_playing && events_.now_playing) {
        events_.now_playing(state_.now_playing());
    }
    if (!alive.expired() && changes.volume && events_.volume) {
        events_.volume(state_.volume());
    }
    if (!alive.expired() && changes.features && events_.features) {
        events_.features(state_.features());
    }
}

void MrpControl::send(const ProtocolMessage& message) {
    try {
        channel_->send(message);
    } catch (const Error& error) {
        rethrow_as_control_error(error);
    }
}

asio::awaitable<ProtocolMessage> MrpControl::request(ProtocolMessage message) {
    std::optional<Error> failure;
    ProtocolMessage reply;
    try {
        reply = co_await channel_->request(std::move(message), options_.request_timeout);
    } catch (const Error& error) {
        failure = error;
    }
    if (failure) {
        rethrow_as_control_error(*failure);
    }
    co_return reply;
}

asio::awaitable<void> MrpControl::command(Command which, proto::CommandOptions options) {
    const ProtocolMessage reply = co_await request(send_command(which, options));
    if (reply.type() != ProtocolMessage::SEND_COMMAND_RESULT_MESSAGE) {
        throw Error(ErrorKind::not_supported, "the Apple TV answered " + command_name(which) +
                                                  " with " + type_name(reply.type()));
    }
    const auto& result = reply.GetExtension(proto::sendCommandResultMessage);
    if (result.senderror() != proto::SendError::NoError ||
        result.handlerreturnstatus() != proto::HandlerReturnStatus::Success) {
        throw Error(ErrorKind::not_supported,
                    "the Apple TV refused " + command_name(which) + " (SendError " +
                        proto::SendError::Enum_Name(result.senderror()) + ", HandlerReturnStatus " +
                        proto::HandlerReturnStatus::Enum_Name(result.handlerreturnstatus()) + ")");
    }
}

asio::awaitable<void> MrpControl::press_hid(HidKey key, InputAction action, bool flush) {
    const int presses = action == InputAction::double_tap ? 2 : 1;
    for (int press = 0; press < presses; ++press) {
        send(send_hid_event(key, true));
        if (action == InputAction::hold) {
            asio::steady_timer held(channel_->executor(), options_.hold_time);
            std::error_code ec;
            co_await held.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        send(send_hid_event(key, false));
        // The reply to a generic message shows that the device has read the key events.
        if (flush) {
            co_await request(heartbeat());
        }
    }
}

asio::awaitable<void> MrpControl::press(Key key, InputAction action,
                                        std::optional<double> interval) {
    if (const auto hid = hid_key(key)) {
        co_await press_hid(*hid, action, true);
        co_return;
    }
    if (action != InputAction::single) {
        throw Error(ErrorKind::invalid_arguments, "the key " + std::string(to_string(key)) +
                                                      " takes only a single press, not " +
                                                      std::string(to_string(action)));
    }
    if (const auto plain = plain_command(key)) {
        co_await command(*plain);
    } else if (key == Key::play_pause) {
        co_await play_pause();
    } else if (key == Key::skip_forward) {
        co_await skip(proto::Command::SkipForward, interval);
    } else if (key == Key::skip_backward) {
        co_await skip(proto::Command::SkipBackward, interval);
    } else {
        throw Error(ErrorKind::not_supported, "MRP has no key " + std::string(to_string(key)));
    }
}

// Apps that do not offer TogglePlayPause get whichever of Play and Pause fits their state.
asio::awaitable<void> MrpControl::play_pause() {
    const auto toggle = state_.command(proto::Command::TogglePlayPause);
    const PlaybackState playback = state_.playback_state();
    if ((!toggle || !toggle->enabled) && playback == PlaybackState::playing) {
        co_await command(proto::Command::Pause);
    } else if ((!toggle || !toggle->enabled) && playback == PlaybackState::paused) {
        co_await command(proto::Command::Play);
    } else {
        co_await command(proto::Command::TogglePlayPause);
    }
}

asio::awaitable<void> MrpControl::skip(Command which, std::optional<double> interval) {
    if (interval && (!std::isfinite(*interval) || *interval <= 0 || *interval > max_skip_seconds)) {
        throw Error(ErrorKind::invalid_arguments,
                    "the skip interval must be more than 0 and at most 3600 seconds");
    }
    if (!interval) {
        const auto info = state_.command(which);
        interval =
            info && info->preferred_interval ? *info->preferred_interval : default_skip_seconds;
    }
    proto::CommandOptions options;
    options.set_skipinterval(static_cast<float>(*interval));
    co_await command(which, options);
}

asio::awaitable<void> MrpControl::set_position(std::chrono::microseconds position) {
    if (position.count() < 0) {
        throw Error(ErrorKind::invalid_arguments, "the position must not be negative");
    }
    proto::CommandOptions options;
    options.set_playbackposition(static_cast<double>(position.count()) / 1e6);
    co_await command(proto::Command::SeekToPlaybackPosition, options);
}

asio::awaitable<void> MrpControl::set_shuffle(ShuffleMode mode) {
    proto::CommandOptions options;
    switch (mode) {
        case ShuffleMode::off:
            options.set_shufflemode(proto::ShuffleMode::Off);
            break;
        case ShuffleMode::songs:
            options.set_shufflemode(proto::ShuffleMode::Songs);
            break;
        case ShuffleMode::albums:
            options.set_shufflemode(proto::ShuffleMode::Albums);
            break;
    }
    co_await command(proto::Command::ChangeShuffleMode, options);
}

asio::awaitable<void> MrpControl::set_repeat(RepeatMode mode) {
    proto::CommandOptions options;
    switch (mode) {
        case RepeatMode::off:
            options.set_repeatmode(proto::RepeatMode::Off);
            break;
        case RepeatMode::track:
            options.set_repeatmode(proto::RepeatMode::One);
            break;
        case RepeatMode::all:
            options.set_repeatmode(proto::RepeatMode::All);
            break;
    }
    co_await command(proto::Command::ChangeRepeatMode, options);
}

// ---- artwork ----

asio::awaitable<Artwork> MrpControl::artwork(std::uint32_t width, std::uint32_t height) {
    const std::string identifier = state_.now_playing().artwork_identifier;
    if (identifier.empty()) {
        throw Error(ErrorKind::not_found, "nothing with artwork is playing");
    }
    if (auto hit = cached(identifier, width, height)) {
        co_return std::move(*hit);
    }
    Artwork fetched = co_await fetch_artwork(width, height);
    cache(identifier, width, height, fetched);
    co_return fetched;
}

asio::awaitable<Artwork> MrpControl::fetch_artwork(std::uint32_t width, std::uint32_t height) {
    const std::string item_identifier = state_.item_identifier();
    const std::string fallback_mime = state_.artwork_mime_type();
    const ProtocolMessage reply =
        co_await request(playback_queue_request(state_.location(), width, height));
    const auto& items = reply.GetExtension(proto::setStateMessage).playbackqueue().contentitems();
    const proto::ContentItem* found = nullptr;
    for (const proto::ContentItem& item : items) {
        if (!item.artworkdata().empty() &&
            (found == nullptr || item.identifier() == item_identifier)) {
            found = &item;
        }
    }
    if (reply.type() != ProtocolMessage::SET_STATE_MESSAGE || found == nullptr) {
        throw Error(ErrorKind::not_found, "the Apple TV sent no artwork for what is playing");
    }
    if (found->artworkdata().size() > options_.max_artwork_bytes) {
        throw Error(ErrorKind::not_supported,
                    "the artwork is too large: the Apple TV sent " +
                        std::to_string(found->artworkdata().size()) + " bytes, more than the " +
                        std::to_string(options_.max_artwork_bytes) + " accepted");
    }
    Artwork artwork;
    const std::string& mime = found->metadata().artworkmimetype();
    artwork.mime_type =
        PlayerState::sanitize(mime.empty() ? fallback_mime : mime, max_mime_type_bytes);
    if (artwork.mime_type.empty()) {
        artwork.mime_type = "application/octet-stream";
    }
    artwork.data.assign(found->artworkdata().begin(), found->artworkdata().end());
    artwork.width = static_cast<std::uint32_t>(std::max(found->artworkdatawidth(), 0));
    artwork.height = static_cast<std::uint32_t>(std::max(found->artworkdataheight(), 0));
    co_return artwork;
}

std::optional<Artwork> MrpControl::cached(const std::string& identifier, std::uint32_t width,
                                          std::uint32_t height) {
    for (auto it = artwork_cache_.begin(); it != artwork_cache_.end(); ++it) {
        if (it->identifier == identifier && it->width == width && it->height == height) {
            artwork_cache_.splice(artwork_cache_.begin(), artwork_cache_, it);
            return artwork_cache_.front().artwork;
        }
    }
    return std::nullopt;
}

void MrpControl::cache(std::string identifier, std::uint32_t width, std::uint32_t height,
                       const Artwork& artwork) {
    const std::size_t size = artwork.data.size();
    if (size > options_.artwork_cache_bytes) {
        return;
    }
    while (artwork_cache_bytes_ + size > options_.artwork_cache_bytes) {
        artwork_cache_bytes_ -= artwork_cache_.back().artwork.data.size();
        artwork_cache_.pop_back();
    }
    artwork_cache_.push_front({std::move(identifier), width, height, artwork});
    artwork_cache_bytes_ += size;
}

// ---- volume ----

void MrpControl::ensure_volume() const {
    if (!state_.volume_available()) {
        throw Error(ErrorKind::not_supported, "the Apple TV offers no volume control now");
    }
}

asio::awaitable<void> MrpControl::set_volume(double level) {
    if (!std::isfinite(level) || level < 0.0 || level > 100.0) {
        throw Error(ErrorKind::invalid_arguments, "the volume must be from 0 to 100");
    }
    ensure_volume();
    const bool unchanged = std::fabs(*state_.volume() - level) < 0.05;
    send(mrp::set_volume(static_cast<float>(level / 100.0), state_.output_device_uid()));
    // The device does not answer; its VOLUME_DID_CHANGE shows that it took the level.
    if (!unchanged) {
        co_await volume_change();
    }
}

asio::awaitable<void> MrpControl::volume_up() {
    ensure_volume();
    co_await step_volume(*hid_key(Key::volume_up), *state_.volume() >= 100.0);
}

asio::awaitable<void> MrpControl::volume_down() {
    ensure_volume();
    co_await step_volume(*hid_key(Key::volume_down), *state_.volume() <= 0.0);
}

asio::awaitable<void> MrpControl::step_volume(HidKey key, bool at_limit) {
    if (at_limit) {
        co_return;
    }
    co_await press_hid(key, InputAction::single, false);
    co_await volume_change();
}

asio::awaitable<void> MrpControl::volume_change() {
    const std::weak_ptr<bool> alive = alive_;
    asio::steady_timer timer(channel_->executor(), options_.request_timeout);
    volume_waiters_.push_back(&timer);
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (alive.expired()) {
        throw Error(ErrorKind::connection_lost, "the connection was closed");
    }
    std::erase(volume_waiters_, &timer);
    if (!ec) {
        throw Error(ErrorKind::timeout, "the Apple TV did not report the new volume");
    }
}

}  // namespace atv::mrp
