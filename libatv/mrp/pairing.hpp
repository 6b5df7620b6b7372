// Pairing with an Apple TV over MRP: HAP pair-setup carried in CRYPTO_PAIRING_MESSAGE, the PIN
// shown on the TV, then a pair-verify on the same connection to prove the new credentials.
#pragma once

#include <asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "mrp/channel.hpp"
#include "pairing/pin_on_screen.hpp"

namespace atv::mrp {

class MrpPairingHandler : public HapPinOnScreenPairing {
  public:
    MrpPairingHandler(asio::any_io_executor executor, std::string address, std::uint16_t port,
                      hap::ClientIdentity identity, PairingOptions options);
    ~MrpPairingHandler() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::mrp; }

  private:
    asio::awaitable<void> connect() override;
    // Introduces this client (DEVICE_INFO, which carries our name), then pair-setup M1 -> M2.
    asio::awaitable<void> request_pin() override;
    asio::awaitable<Bytes> exchange(Bytes message, bool first) override;
    asio::awaitable<void> close_connection() override;

    asio::any_io_executor executor_;
    std::uint16_t port_;
    PairingOptions options_;
    std::shared_ptr<MrpChannel> channel_;
};

}  // namespace atv::mrp
