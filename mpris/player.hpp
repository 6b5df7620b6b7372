// One MPRIS player on the session bus for one device of atvd: its own connection (each player
// needs /org/mpris/MediaPlayer2 under its own name), org.mpris.MediaPlayer2 and
// org.mpris.MediaPlayer2.Player, mapped to atvd's Player1, RemoteControl1 and Audio1.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "atvd_link.hpp"
#include "bus_loop.hpp"
#include "device.hpp"

namespace atvd::mpris {

struct PlayerSettings {
    std::string session_address;  // empty: where sd-bus finds the session bus
    std::string artwork_dir;      // empty: no artwork files
    bool may_control = false;     // root, or a member of the group atvd
};

// The MPRIS view of a device: every property value the player publishes.
struct MprisView {
    std::string identity;
    std::string playback_status;
    std::string loop_status;
    double rate = 1.0;
    double minimum_rate = 1.0;
    double maximum_rate = 1.0;
    bool shuffle = false;
    double volume = 0.0;
    bool can_go_next = false;
    bool can_go_previous = false;
    bool can_play = false;
    bool can_pause = false;
    bool can_seek = false;
    // Metadata
    std::string track_id;
    std::string title;
    std::string artist;
    std::string album;
    std::string genre;
    std::int64_t length_us = 0;
    std::string art_url;
};

class Player {
  public:
    Player(asio::io_context& io, AtvdLink& atvd, const PlayerSettings& settings,
           const DeviceState& device);
    ~Player();
    Player(const Player&) = delete;
    Player& operator=(const Player&) = delete;

    static std::string bus_name_for(const std::string& id);
    // Called when the session bus connection fails.
    void on_disconnect(std::function<void()> callback) {
        loop_->on_disconnect(std::move(callback));
    }
    // The device changed: publishes what changed for MPRIS clients.
    void update(const DeviceState& device);

  private:
    void register_interfaces();
    void request_name();
    MprisView view_of(const DeviceState& device) const;
    std::map<std::string, sdbus::Variant> metadata() const;
    std::int64_t position_now() const;
    void control(sdbus::Result<>&& result, const std::string& key);
    void set_position(sdbus::Result<>&& result, std::int64_t position_us);
    void forward(sdbus::Result<>&& result, const std::string& interface, const std::string& method,
                 const std::function<void(sdbus::MethodCall&)>& fill);
    void send_setting(const std::string& interface, const std::string& method,
                      const std::function<void(sdbus::MethodCall&)>& fill);
    void require_control(const char* what) const;
    void fetch_artwork();
    void store_artwork(const std::string& identifier, const std::string& mime,
                       const std::vector<std::uint8_t>& bytes);
    void drop_artwork_file();
    void emit(const MprisView& before);

    asio::io_context& io_;
    AtvdLink& atvd_;
    PlayerSettings settings_;
    DeviceState device_;
    MprisView view_;
    std::uint64_t track_number_ = 0;
    std::string track_key_;
    std::string artwork_for_;  // the ArtworkIdentifier art_url shows (or was tried)
    std::string artwork_file_;
    bool artwork_pending_ = false;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<BusLoop> loop_;
    std::unique_ptr<sdbus::IObject> object_;
    std::unique_ptr<sdbus::IProxy> bus_driver_;
    // Replies from atvd and the bus may come after this player went: they check this first.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace atvd::mpris
