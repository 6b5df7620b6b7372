// atvd's devices on the broker: a mirror of atvd's objects (from D-Bus signals), published as
// retained state, artwork, availability and Home Assistant discovery; commands from the broker
// carried out as D-Bus calls, each answered on the device's result topic.
#pragma once

#include <mosquitto.h>
#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker.hpp"
#include "options.hpp"

namespace atvd::mqtt {

class Bridge {
  public:
    Bridge(const Options& options, sdbus::IConnection& bus);
    Bridge(const Bridge&) = delete;
    Bridge& operator=(const Bridge&) = delete;

    Broker& broker() { return broker_; }

    // Subscribes to atvd's signals, asks for its objects and starts connecting to the broker.
    void start();
    // Publishes what changed since the last call (state, availability, discovery); the loop
    // calls it after each round of D-Bus and broker events, so a burst becomes one message.
    void flush();
    // Marks everything offline on the broker and disconnects.
    void shutdown();
    // When flush() must run again for a timed step (a device's removal).
    [[nodiscard]] std::chrono::steady_clock::time_point deadline() const;

  private:
    using Properties = std::map<std::string, sdbus::Variant>;

    struct Device {
        std::string path;
        std::string id;  // the last level of the path, used in topics
        std::map<std::string, Properties> interfaces;
        std::vector<std::pair<std::string, std::string>> apps;  // (bundle id, name)
        std::string artwork_id;    // the identifier whose artwork was asked for or published
        std::string artwork_type;  // MIME type of the published artwork
        bool dirty = true;
        // atvd withdrew it: gone unless atvd itself leaves the bus meanwhile (a stop of atvd
        // withdraws every device, and they come back with it).
        std::optional<std::chrono::steady_clock::time_point> remove_at;
    };

    struct Command;

    // D-Bus side
    void on_owner(const std::string& owner);
    void fetch_objects();
    void on_objects(sdbus::MethodReply& reply);
    void on_interfaces_added(sdbus::Message& message);
    void on_interfaces_removed(sdbus::Message& message);
    void on_properties_changed(sdbus::Message& message);
    bool from_atvd(const sdbus::Message& message) const;
    Device* device_at(const std::string& path);
    void add_interfaces(const std::string& path, std::map<std::string, Properties> interfaces);
    void remove_device(const std::string& path);
    void interfaces_changed(Device& device, const std::set<std::string>& names);
    void fetch_apps(Device& device);
    void fetch_artwork(Device& device);
    template <typename Reply>
    void call(const std::string& path, const std::string& interface, const std::string& method,
              const std::function<void(sdbus::MethodCall&)>& arguments, Reply reply,
              std::chrono::seconds timeout = std::chrono::seconds(30));

    // Broker side
    void on_connected();
    void on_message(const mosquitto_message& message);
    void on_command(const std::string& device_id, const std::string& command,
                    const std::string& payload, const std::string& reply_topic);
    void answer(const std::string& topic, const std::string& command, const std::string& id_json,
                const std::string& error = {}, const std::string& message = {});
    void publish_retained(const std::string& topic, std::string payload);
    void publish_retained_bytes(const std::string& topic, std::vector<std::uint8_t> bytes);
    void clear_retained(const std::string& topic);
    void clear_config(const std::string& topic);
    void publish_device(Device& device);
    void publish_discovery(const Device& device, bool force);
    void clear_device(const Device& device);
    [[nodiscard]] std::string device_topic(const std::string& id) const;
    [[nodiscard]] std::string discovery_topic(const std::string& component, const Device& device,
                                              const std::string& object) const;
    [[nodiscard]] std::string state_json(const Device& device) const;

    const Options& options_;
    sdbus::IConnection& bus_;
    Broker broker_;
    std::string base_;  // <prefix>/<node>
    std::string bridge_availability_;
    std::vector<sdbus::Slot> matches_;
    std::unique_ptr<sdbus::IProxy> manager_;
    std::string owner_;                      // atvd's unique name; empty while it is not on the bus
    std::uint64_t generation_ = 0;           // counts atvd's appearances, to drop stale replies
    std::map<std::string, Device> devices_;  // by object path
    // What is on the broker, retained, by topic: published again after a reconnect.
    std::map<std::string, std::string> retained_;
    std::map<std::string, std::vector<std::uint8_t>> retained_bytes_;
    // Discovery configs on the broker: only a hash of each, as they are made again at will.
    std::map<std::string, std::size_t> configs_;
    std::set<std::string> cleared_;                           // emptied while the broker was away
    std::deque<std::pair<std::string, std::string>> outbox_;  // results waiting for the broker
    std::map<std::uint64_t, std::unique_ptr<sdbus::IProxy>> calls_;
    std::vector<std::unique_ptr<sdbus::IProxy>> finished_calls_;
    std::uint64_t next_call_ = 0;
    bool discovery_due_ = false;
};

}  // namespace atvd::mqtt
