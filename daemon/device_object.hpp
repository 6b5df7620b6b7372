// org.atvd.Device1 at /org/atvd/devices/<ID>: one device, its services, its pairings and its
// connection.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "atv/atv.hpp"
#include "bus_presence.hpp"
#include "context.hpp"
#include "control_objects.hpp"
#include "org.atvd.Device1.adaptor.h"
#include "pairing_object.hpp"
#include "reconnect_delay.hpp"
#include "service_object.hpp"

namespace atvd {

class DeviceObject;

// What a device needs from whoever keeps the set of devices.
class DeviceOwner {
  public:
    virtual ~DeviceOwner() = default;
    // The device left the network, is unpaired and its grace period is over.
    virtual void device_expired(DeviceObject& device) = 0;
};

class DeviceObject final
    : public sdbus::AdaptorInterfaces<org::atvd::Device1_adaptor, sdbus::ManagedObject_adaptor,
                                      sdbus::Properties_adaptor>,
      public std::enable_shared_from_this<DeviceObject> {
  public:
    enum class Origin { discovered, manual, stored };

    DeviceObject(Context& context, DeviceOwner& owner, std::string path, std::string device_id,
                 Origin origin);
    ~DeviceObject();
    DeviceObject(const DeviceObject&) = delete;
    DeviceObject& operator=(const DeviceObject&) = delete;

    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] const std::string& device_id() const { return device_id_; }
    [[nodiscard]] const atv::DeviceConfig& config() const { return config_; }
    [[nodiscard]] const std::vector<std::string>& identifiers() const { return identifiers_; }
    [[nodiscard]] bool answers_to(const std::vector<std::string>& identifiers) const;
    [[nodiscard]] bool present() const { return present_; }
    [[nodiscard]] bool paired() const { return !credentials_.empty(); }
    [[nodiscard]] bool offers_any(const std::set<atv::Protocol>& protocols) const;

    // A snapshot of the device from discovery (key) or a unicast scan (no key).
    void seen(const atv::DeviceConfig& config, std::optional<std::uint64_t> discovery_key);
    // Discovery lost the services it knew under `key`.
    void lost(std::uint64_t discovery_key);
    // Every discovery key is gone (Avahi went away).
    void lost_all();
    // Credentials loaded from the secrets store at start-up.
    void restore(const atv::StoredDevice& stored);
    // A manual configuration (AddDevice): presence comes from Connect or discovery.
    void configure(const atv::DeviceConfig& config);
    // Stores credentials for one protocol durably and marks its service paired.
    asio::awaitable<void> store_credentials(atv::Protocol protocol, std::string credentials);
    // Writes the record as it is now: credentials, AutoConnect and, for a device added by
    // hand, its address and services.
    asio::awaitable<void> save_record();
    // Closes pairings and connections before the object goes away.
    asio::awaitable<void> shut_down();
    // Withdraws the object (InterfacesRemoved) even if coroutines still hold it; it leaves the
    // bus once it owes no reply.
    void retire();

  private:
    // What a deferred reply of this object holds until it is sent.
    ReplyOwner reply_owner();
    // Calls that reach a removed object while it still owes replies are refused.
    void require_listed() const;
    void Pair(sdbus::Result<sdbus::ObjectPath>&& result, std::string protocol,
              std::map<std::string, sdbus::Variant> options) override;
    void Connect(sdbus::Result<>&& result) override;
    void Close(sdbus::Result<>&& result) override;
    void SetCredentials(sdbus::Result<bool>&& result, std::string protocol,
                        std::string credentials) override;
    void SetAutoConnect(sdbus::Result<>&& result, bool enable) override;

    std::string Identifier() override { return device_id_; }
    std::vector<std::string> Identifiers() override { return identifiers_; }
    std::string Name() override { return config_.name; }
    std::string Address() override { return config_.address; }
    std::string MacAddress() override { return config_.info.mac_address; }
    std::string Model() override;
    std::string ModelIdentifier() override { return config_.info.model_identifier; }
    std::string OperatingSystem() override;
    std::string Version() override { return config_.info.version; }
    std::string BuildNumber() override { return config_.info.build_number; }
    bool DeepSleep() override { return config_.deep_sleep; }
    bool Present() override { return present_; }
    uint64_t LastSeen() override { return last_seen_us_; }
    bool Connected() override { return connection_ != nullptr; }
    std::vector<std::string> ConnectedProtocols() override;
    bool Manual() override { return origin_ == Origin::manual; }
    std::map<std::string, std::string> Features() override {
        return control_ ? control_->features() : std::map<std::string, std::string>{};
    }
    std::string ConnectionState() override;
    bool AutoConnect() override { return auto_connect_; }
    std::string ConnectionError() override { return connection_error_; }

    // Connects (Connect and AutoConnect alike); a failure updates ConnectionState and is
    // rethrown.
    asio::awaitable<void> connect();
    asio::awaitable<void> open_connection();
    // Knocks on a device in deep sleep and waits for discovery to see it awake.
    asio::awaitable<void> wake_up();
    void connect_failed(const atv::Error& error);

    // AutoConnect.
    enum class LinkState { disconnected, connecting, connected, reconnecting };
    void set_link_state(LinkState state);
    void set_connection_error(std::string error);
    [[nodiscard]] bool keeps_connected() const;
    [[nodiscard]] bool can_connect() const;
    // Connects now if AutoConnect wants a connection the device lacks.
    void connect_if_wanted();
    void schedule_reconnect(std::optional<std::chrono::seconds> at_least = std::nullopt);
    asio::awaitable<void> reconnect();
    asio::awaitable<void> recover_from_loss();
    // Discovery saw the device come back, move or wake: what waits for that goes now.
    void device_reappeared();
    asio::awaitable<void> set_auto_connect(bool enable);
    [[nodiscard]] atv::StoredDevice stored_record() const;
    // Connects what the last Connect could not, beside what is connected.
    asio::awaitable<void> retry_failed_protocols();
    void log_connect_failures() const;
    asio::awaitable<void> close_connection();
    asio::awaitable<bool> set_credentials(atv::Protocol protocol, std::string credentials);
    void connection_lost(const std::string& reason);
    // One protocol dropped while others stay connected.
    void protocol_lost(const atv::ConnectFailure& lost);

    void apply(const atv::DeviceConfig& config);
    void sync_services();
    void set_present(bool present);
    [[nodiscard]] std::vector<std::string_view> offered_protocols() const;
    void log_listing(char sign) const;
    void add_identifiers(const std::vector<std::string>& identifiers);
    void schedule_expiry();
    atv::Protocol parse_protocol(const std::string& name) const;

    Context& context_;
    DeviceOwner& owner_;
    std::string path_;
    std::string device_id_;
    Origin origin_;
    atv::DeviceConfig config_;
    std::vector<std::string> identifiers_;
    std::set<std::uint64_t> discovery_keys_;
    bool present_ = false;
    std::uint64_t last_seen_us_ = 0;
    atv::CredentialsMap credentials_;
    std::map<atv::Protocol, std::unique_ptr<ServiceObject>> services_;
    std::map<atv::Protocol, std::shared_ptr<PairingObject>> pairings_;
    std::unique_ptr<atv::DeviceConnection> connection_;
    // The control interfaces of connection_; declared after it, so that they go first.
    std::unique_ptr<ControlObjects> control_;
    bool connecting_ = false;
    LinkState link_state_ = LinkState::disconnected;
    bool auto_connect_ = false;
    bool auto_suspended_ = false;  // by Close, until Connect or SetAutoConnect(true)
    bool auto_stopped_ = false;  // credentials rejected, until a pairing, Connect or SetAutoConnect
    bool stopping_ = false;      // atvd shuts down
    std::uint64_t closes_ = 0;   // Close calls, so that a connect overtaken by one gives up
    std::string connection_error_;
    ReconnectDelay reconnect_delay_;
    asio::steady_timer reconnect_timer_;
    // Until then the device asked (BackOff) not to be tried again; its timer is set for it.
    std::chrono::steady_clock::time_point backed_off_until_{};
    asio::steady_timer wake_timer_;
    // Set while a close tears the connection down, so that another close (shutting down) can
    // wait for it rather than leave it behind.
    bool closing_ = false;
    asio::steady_timer closed_;
    std::chrono::steady_clock::time_point connected_at_;
    asio::steady_timer expiry_timer_;
    bool registered_ = true;
    BusPresence presence_;
};

}  // namespace atvd
