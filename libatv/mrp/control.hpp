// atv::Control over an MRP channel, direct or inside the AirPlay tunnel: keys as commands or
// HID events, the now-playing state merged from what the device pushes, artwork and volume.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atv/control.hpp"
#include "mrp/channel.hpp"
#include "mrp/framing.hpp"
#include "mrp/player_state.hpp"

namespace atv::mrp {

struct MrpControlOptions {
    // How long a held key stays down.
    std::chrono::milliseconds hold_time{1000};
    std::chrono::milliseconds request_timeout = default_request_timeout;
    // Artwork kept for reuse, by identifier and size, at most this many bytes in all.
    std::size_t artwork_cache_bytes = 4 * 1024 * 1024;
    // Larger artwork from the device is refused. Kept below the frame limit, with room for the
    // rest of the message, so that such artwork arrives and is refused with a clear error
    // rather than closing the connection as an oversized frame.
    std::size_t max_artwork_bytes = default_max_frame_size - 64 * 1024;
    PlayerStateLimits limits;
};

class MrpControl final : public atv::Control {
  public:
    // Takes over the channel's on_message. Create it before the session starts, so that the
    // state the device sends when the client subscribes to updates is not missed.
    explicit MrpControl(std::shared_ptr<MrpChannel> channel, MrpControlOptions options = {});
    ~MrpControl() override;
    MrpControl(const MrpControl&) = delete;
    MrpControl& operator=(const MrpControl&) = delete;

    [[nodiscard]] FeatureMap features() const override { return state_.features(); }
    [[nodiscard]] FeatureState feature_state(Feature feature) const override {
        return state_.feature_state(feature);
    }
    [[nodiscard]] const NowPlaying& now_playing() const override { return state_.now_playing(); }
    [[nodiscard]] std::optional<double> volume() const override { return state_.volume(); }
    void set_events(ControlEvents events) override { events_ = std::move(events); }

    asio::awaitable<void> press(Key key, InputAction action,
                                std::optional<double> interval) override;
    asio::awaitable<void> set_position(std::chrono::microseconds position) override;
    asio::awaitable<void> set_shuffle(ShuffleMode mode) override;
    asio::awaitable<void> set_repeat(RepeatMode mode) override;
    asio::awaitable<Artwork> artwork(std::uint32_t width, std::uint32_t height) override;
    asio::awaitable<void> set_volume(double volume) override;
    asio::awaitable<void> volume_up() override;
    asio::awaitable<void> volume_down() override;

    [[nodiscard]] const PlayerState& state() const { return state_; }
    [[nodiscard]] std::size_t cached_artwork_bytes() const { return artwork_cache_bytes_; }

  private:
    struct CachedArtwork {
        std::string identifier;
        std::uint32_t width;
        std::uint32_t height;
        Artwork artwork;
    };

    asio::awaitable<ProtocolMessage> request(ProtocolMessage message);
    asio::awaitable<void> command(Command command, proto::CommandOptions options = {});
    asio::awaitable<void> press_hid(HidKey key, InputAction action, bool flush);
    asio::awaitable<void> play_pause();
    asio::awaitable<void> skip(Command command, std::optional<double> interval);
    asio::awaitable<Artwork> fetch_artwork(std::uint32_t width, std::uint32_t height);
    // Returns once the device reports a new volume; throws timeout otherwise.
    asio::awaitable<void> volume_change();
    asio::awaitable<void> step_volume(HidKey key, bool at_limit);
    void send(const ProtocolMessage& message);
    void ensure_volume() const;

    std::optional<Artwork> cached(const std::string& identifier, std::uint32_t width,
                                  std::uint32_t height);
    void cache(std::string identifier, std::uint32_t width, std::uint32_t height,
               const Artwork& artwork);
    // One message from the device, as the channel hands it over.
    void handle(const ProtocolMessage& message);
    void deliver_report();

    std::shared_ptr<MrpChannel> channel_;
    MrpControlOptions options_;
    PlayerState state_;
    ControlEvents events_;
    std::list<CachedArtwork> artwork_cache_;  // most recently used first
    std::size_t artwork_cache_bytes_ = 0;
    std::vector<asio::steady_timer*> volume_waiters_;
    // What the messages of the read under way changed; reported once they are all handled.
    PlayerState::Changes unreported_;
    // Expires with this object: listeners and resumed waits check it first.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace atv::mrp
