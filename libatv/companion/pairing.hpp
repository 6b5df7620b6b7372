// Pairing with an Apple TV over the Companion link: HAP pair-setup in PS_Start/PS_Next frames,
// the PIN shown on the TV, then a pair-verify on the same connection to prove the credentials.
#pragma once

#include <asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "companion/auth.hpp"
#include "companion/channel.hpp"
#include "pairing/pin_on_screen.hpp"

namespace atv::companion {

class CompanionPairingHandler : public HapPinOnScreenPairing {
  public:
    CompanionPairingHandler(asio::any_io_executor executor, std::string address, std::uint16_t port,
                            hap::ClientIdentity identity, const PairingOptions& options);
    ~CompanionPairingHandler() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::companion; }

  private:
    asio::awaitable<void> connect() override;
    asio::awaitable<Bytes> exchange(Bytes message, bool first) override;
    // PV_Start/PV_Next, which also switches the channel to the session keys.
    asio::awaitable<void> verify(const hap::HapCredentials& credentials) override;
    asio::awaitable<void> close_connection() override;

    asio::any_io_executor executor_;
    std::uint16_t port_;
    std::shared_ptr<CompanionChannel> channel_;
    std::optional<AuthExchanger> setup_exchange_;
};

}  // namespace atv::companion
