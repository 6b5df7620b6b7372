// libatv's entry points: what pyatv offers a Python program, for C++ on one asio loop.
//
//   scan     atv::Discovery (continuous, Avahi) and atv::unicast_scan  (atv/discovery.hpp)
//   pair     atv::pair(...) -> PairingHandler                          (this file)
//   connect  atv::connect(...) -> DeviceConnection                     (this file)
//   store    atv::SecretsStore                                         (atv/storage.hpp)
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atv/connection.hpp"
#include "atv/control.hpp"
#include "atv/device.hpp"
#include "atv/error.hpp"
#include "atv/pairing.hpp"
#include "support/bytes.hpp"

namespace atv {

// This installation as a controller: one client id and one Ed25519 seed, used for every
// pairing so that devices list one entry for it.
struct Identity {
    std::string client_id;
    SecretBytes seed;
};

using CredentialsMap = std::map<Protocol, std::string>;

// The protocols this build can pair and connect with.
std::vector<Protocol> supported_protocols();

// Throws Error(invalid_arguments) when `credentials` is not well-formed for `protocol`. The
// message never repeats the string.
void validate_credentials(Protocol protocol, std::string_view credentials);

// A pairing handler for one service of `device`. Throws no_service when the device lacks it,
// not_supported when its requirement is unsupported or disabled or this build cannot pair it.
std::unique_ptr<PairingHandler> pair(asio::any_io_executor executor, const DeviceConfig& device,
                                     Protocol protocol, const PairingOptions& options,
                                     const Identity& identity);

class ControlFacade;

// A protocol that a connect tried and could not connect, and why.
struct ConnectFailure {
    Protocol protocol;
    ErrorKind kind;
    std::string message;
    std::optional<std::chrono::seconds> retry_after{};  // for back_off, when the device said
};

// Every connection to one device, opened together and closed together. It holds what could be
// connected: a protocol that failed is in failures() and may be tried again with
// connect_missing().
class DeviceConnection {
  public:
    DeviceConnection(std::vector<std::unique_ptr<ProtocolConnection>> connections,
                     std::vector<ConnectFailure> failures);
    ~DeviceConnection();
    DeviceConnection(const DeviceConnection&) = delete;
    DeviceConnection& operator=(const DeviceConnection&) = delete;

    [[nodiscard]] std::vector<Protocol> protocols() const;
    // What the connection can control: per feature, the protocol that serves it best.
    [[nodiscard]] Control& control();
    // The protocols the last connect or retry_failed() could not connect.
    [[nodiscard]] const std::vector<ConnectFailure>& failures() const { return failures_; }
    // Called once when the last of the connections drops; not after close().
    void on_lost(std::function<void(const std::string& reason)> callback);
    // Called when one protocol's connection drops while others stay: it has left protocols()
    // and control(), and is in failures() to be tried again.
    void on_protocol_lost(std::function<void(const ConnectFailure& lost)> callback);
    // Takes over the connections of `more` (connect_missing's), and its failures as the ones
    // that count now.
    void absorb(DeviceConnection&& more);
    asio::awaitable<void> close();

  private:
    void watch(ProtocolConnection& connection);
    void connection_lost(ProtocolConnection& connection, const std::string& reason);

    std::vector<std::unique_ptr<ProtocolConnection>> connections_;
    // Connections lost while others stayed, closed with the rest.
    std::vector<std::unique_ptr<ProtocolConnection>> dropped_;
    std::vector<ConnectFailure> failures_;
    std::unique_ptr<ControlFacade> control_;
    std::function<void(const std::string&)> on_lost_;
    std::function<void(const ConnectFailure&)> on_protocol_lost_;
    bool closed_ = false;
};

// Wakes a device in deep sleep as the Remote app does: a TCP connection to each of the ports a
// Bonjour sleep proxy watches (3689, 7000, 49152, 32498) on the device's address, each given
// `timeout`. Returns at once; the device announces its services again once awake. Throws
// connection_failed when the device has no usable address.
asio::awaitable<void> wake(const DeviceConfig& device, std::chrono::milliseconds timeout);

// Connects every protocol the device offers and has what it needs for (MRP, or MRP through the
// AirPlay 2 tunnel; Companion; DMAP; RAOP on a speaker offering nothing else), all at once, and
// verifies the stored credentials. Succeeds when at least one protocol connected; the others
// are in the connection's failures(). When none did, throws the most telling of their errors
// (authentication_failed, then back_off, timeout, connection_failed, ...). Other errors:
// no_service, device_id_missing, authentication_failed (nothing paired), not_supported.
asio::awaitable<std::unique_ptr<DeviceConnection>> connect(const DeviceConfig& device,
                                                           const CredentialsMap& credentials,
                                                           const Identity& identity,
                                                           std::chrono::milliseconds timeout);

// Connects, as connect() does, the protocols that `connected` lacks, for a connection whose
// failures() are to be tried again. Fails for no protocol: what connected, if anything, and
// what failed are in the result, for DeviceConnection::absorb().
asio::awaitable<std::unique_ptr<DeviceConnection>> connect_missing(
    const DeviceConfig& device, const CredentialsMap& credentials, const Identity& identity,
    std::chrono::milliseconds timeout, const std::vector<Protocol>& connected);

}  // namespace atv
