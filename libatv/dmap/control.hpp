// atv::Control over a DMAP session (protocols-control.md §5), as Apple's Remote app drives an
// Apple TV 2 or 3: playback keys as ctrl-int commands, the navigation keys as control prompt
// entries (the arrows as touch swipes), position, shuffle, repeat and volume as properties, what
// is playing from the play status long poll of the connection (and the volume read again at
// each of its revisions), artwork by size.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "atv/control.hpp"
#include "dmap/tags.hpp"
#include "http/message.hpp"

namespace atv::dmap {

class DmapConnection;

// What a play status (cmst) says is playing; the position as at `now`.
NowPlaying now_playing_from(const Tag& status, std::chrono::system_clock::time_point now);
// The features a play status makes available.
FeatureMap features_from(const Tag& status);

// A control prompt entry's body: the key or touch event (cmbe) and its kind (cmcc).
Bytes prompt_entry(std::string_view entry, std::uint8_t kind);

// How the skip keys move when no interval is given, as DMAP has no skip command of its own.
inline constexpr double default_dmap_skip_seconds = 10.0;

class DmapControl final : public atv::Control {
  public:
    // The connection owns the control and outlives it.
    DmapControl(DmapConnection& connection, asio::any_io_executor executor,
                std::chrono::milliseconds request_timeout = std::chrono::seconds(10));
    ~DmapControl() override;
    DmapControl(const DmapControl&) = delete;
    DmapControl& operator=(const DmapControl&) = delete;

    [[nodiscard]] FeatureMap features() const override { return features_; }
    [[nodiscard]] const NowPlaying& now_playing() const override { return now_playing_; }
    [[nodiscard]] std::optional<double> volume() const override;
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

    // One play status from the device; reports what changed.
    void update(const Tag& status);
    // Reads the volume when the device says it can be controlled; a failure leaves it unknown.
    asio::awaitable<void> refresh_volume();
    [[nodiscard]] std::uint32_t revision() const { return revision_; }

  private:
    asio::awaitable<http::Response> checked(asio::awaitable<http::Response> exchange,
                                            std::string_view what);
    asio::awaitable<void> command(std::string_view name);
    asio::awaitable<void> prompt(std::string_view entry, std::uint8_t kind);
    asio::awaitable<void> swipe(Key key);
    asio::awaitable<void> set_property(std::string_view property, std::int64_t value);
    asio::awaitable<void> press_once(Key key, std::optional<double> interval);
    asio::awaitable<void> skip(double seconds);
    asio::awaitable<double> fetch_volume();
    asio::awaitable<void> step_volume(std::string_view command_name);
    void ensure_volume() const;
    void report_volume(std::optional<double> level);
    // Reads the volume again after a new play status: the device tells a change of it only by a
    // new revision. One read at a time; statuses meanwhile make one more read.
    asio::awaitable<void> follow_volume();

    DmapConnection& connection_;
    asio::any_io_executor executor_;
    std::chrono::milliseconds timeout_;
    NowPlaying now_playing_;
    FeatureMap features_;
    bool volume_controllable_ = false;
    std::optional<double> volume_;
    bool volume_reading_ = false;
    bool volume_stale_ = false;
    std::uint32_t revision_ = 0;
    ControlEvents events_;
    // Expires with this object: posted events check it first.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace atv::dmap
