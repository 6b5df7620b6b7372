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
#include <string>
#include <string_view>
#include <vector>

#include "atv/connection.hpp"
#include "atv/device.hpp"
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

// Every connection to one device, opened together and closed together.
class DeviceConnection {
  public:
    explicit DeviceConnection(std::vector<std::unique_ptr<ProtocolConnection>> connections);
    ~DeviceConnection();
    DeviceConnection(const DeviceConnection&) = delete;
    DeviceConnection& operator=(const DeviceConnection&) = delete;

    [[nodiscard]] std::vector<Protocol> protocols() const;
    // Called once when any of the connections drops; not after close().
    void on_lost(std::function<void(const std::string& reason)> callback);
    asio::awaitable<void> close();

  private:
    std::vector<std::unique_ptr<ProtocolConnection>> connections_;
    std::function<void(const std::string&)> on_lost_;
    bool closed_ = false;
};

// Connects, choosing the protocols from what the device offers and what is paired, and
// verifies the stored credentials. Errors: no_service, device_id_missing,
// authentication_failed, connection_failed, timeout.
asio::awaitable<std::unique_ptr<DeviceConnection>> connect(const DeviceConfig& device,
                                                           const CredentialsMap& credentials,
                                                           const Identity& identity,
                                                           std::chrono::milliseconds timeout);

}  // namespace atv
