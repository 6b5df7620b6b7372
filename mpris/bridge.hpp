// Watches atvd on the system bus (its name, ObjectManager and PropertiesChanged) and keeps one
// MPRIS player for every device that has org.atvd.Player1.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "atvd_link.hpp"
#include "bus_loop.hpp"
#include "device.hpp"
#include "player.hpp"

namespace atvd::mpris {

struct BridgeSettings {
    std::string system_address;  // empty: where sd-bus finds the system bus
    PlayerSettings player;
};

class Bridge final : public AtvdLink {
  public:
    Bridge(asio::io_context& io, BridgeSettings settings);
    ~Bridge() override;
    Bridge(const Bridge&) = delete;
    Bridge& operator=(const Bridge&) = delete;

    void start();
    // Called when a session bus connection fails: the session is over.
    void on_session_lost(std::function<void()> callback) { session_lost_ = std::move(callback); }
    [[nodiscard]] std::size_t player_count() const;

    void call(const std::string& path, const std::string& interface, const std::string& method,
              const std::function<void(sdbus::MethodCall&)>& fill, Done done) override;

  private:
    void connect();
    void disconnected();
    void retry_later();
    void ask_owner();
    void owner_changed(const std::string& owner);
    void synchronize();
    void on_managed_objects(sdbus::MethodReply& reply);
    void on_signal(sdbus::Message& message);
    void interfaces_added(sdbus::Message& message);
    void interfaces_removed(sdbus::Message& message);
    void properties_changed(sdbus::Message& message);
    void refresh(DeviceState& device);
    void drop_all();
    sdbus::IProxy& proxy(const std::string& path);

    struct Entry {
        DeviceState state;
        std::unique_ptr<Player> player;
    };

    asio::io_context& io_;
    BridgeSettings settings_;
    asio::steady_timer retry_;
    std::chrono::milliseconds backoff_{500};
    std::unique_ptr<sdbus::IConnection> system_;
    std::unique_ptr<BusLoop> loop_;
    sdbus::Slot owner_match_;
    sdbus::Slot signal_match_;
    std::unique_ptr<sdbus::IProxy> driver_;                          // org.freedesktop.DBus
    std::map<std::string, std::unique_ptr<sdbus::IProxy>> proxies_;  // atvd's objects by path
    std::string owner_;             // atvd's unique name; empty while it is not running
    std::uint64_t generation_ = 0;  // bumped on every change of owner or connection
    bool synchronizing_ = false;
    std::map<std::string, Entry> devices_;  // by object path
    std::function<void()> session_lost_;
};

}  // namespace atvd::mpris
