// Pairing with an AirPlay 2 receiver (tvOS 15 and later Apple TVs): HAP pair-setup POSTed to
// /pair-setup on the AirPlay port after /pair-pin-start makes the device show a PIN, then a
// pair-verify on the same connection to prove the new credentials.
#pragma once

#include <asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "airplay/http_client.hpp"
#include "atv/pairing.hpp"
#include "hap/identity.hpp"
#include "hap/pair_setup.hpp"

namespace atv::airplay {

class AirPlayPairingHandler : public atv::PairingHandler {
  public:
    AirPlayPairingHandler(asio::any_io_executor executor, std::string address, std::uint16_t port,
                          hap::ClientIdentity identity, PairingOptions options);
    ~AirPlayPairingHandler() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::airplay; }
    [[nodiscard]] bool device_provides_pin() const override { return true; }
    [[nodiscard]] bool has_paired() const override { return credentials_.has_value(); }
    // Connects and asks the device to show a PIN (M1 -> M2).
    asio::awaitable<void> begin() override;
    void pin(const std::string& pin) override;
    // Completes pair-setup (M3..M6, sending our name) and proves the result with a pair-verify.
    asio::awaitable<void> finish() override;
    asio::awaitable<void> close() override;
    [[nodiscard]] std::string credentials() const override;

    void set_step_timeout(std::chrono::milliseconds timeout) { step_timeout_ = timeout; }

  private:
    asio::awaitable<void> start_pair_setup();
    asio::awaitable<void> complete_pair_setup();
    asio::awaitable<Bytes> post(std::string path, Bytes body);
    void release();

    asio::any_io_executor executor_;
    std::string address_;
    std::uint16_t port_;
    hap::ClientIdentity identity_;
    PairingOptions options_;
    std::chrono::milliseconds step_timeout_ = default_request_timeout;
    std::shared_ptr<HttpClient> client_;
    std::optional<hap::PairSetupController> setup_;
    Bytes m2_;
    bool pin_entered_ = false;
    std::uint64_t attempt_ = 0;  // bumped by begin() and close(), to notice a close mid-connect
    std::optional<std::string> credentials_;
};

}  // namespace atv::airplay
