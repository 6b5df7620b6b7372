// Pairing with an AirPlay 2 receiver (tvOS 15 and later Apple TVs): HAP pair-setup POSTed to
// /pair-setup on the AirPlay port after /pair-pin-start makes the device show a PIN, then a
// pair-verify on the same connection to prove the new credentials.
#pragma once

#include <asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "airplay/http_client.hpp"
#include "pairing/pin_on_screen.hpp"

namespace atv::airplay {

class AirPlayPairingHandler : public HapPinOnScreenPairing {
  public:
    AirPlayPairingHandler(asio::any_io_executor executor, std::string address, std::uint16_t port,
                          hap::ClientIdentity identity, const PairingOptions& options);
    ~AirPlayPairingHandler() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::airplay; }

  private:
    asio::awaitable<void> connect() override;
    // /pair-pin-start, then pair-setup M1 -> M2.
    asio::awaitable<void> request_pin() override;
    asio::awaitable<Bytes> exchange(Bytes message, bool first) override;
    // /pair-verify, which also leaves the connection encrypted.
    asio::awaitable<void> verify(const hap::HapCredentials& credentials) override;
    asio::awaitable<void> close_connection() override;
    // Our own reference: close() may drop client_ while a request is under way.
    [[nodiscard]] std::shared_ptr<HttpClient> client() const;

    asio::any_io_executor executor_;
    std::uint16_t port_;
    std::shared_ptr<HttpClient> client_;
};

}  // namespace atv::airplay
