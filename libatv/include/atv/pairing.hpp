// Pairing with one service of a device, as a handler driven step by step.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "atv/types.hpp"

namespace atv {

struct PairingOptions {
    std::string name = "atvd";  // how this client appears on the device
    std::string pairing_guid;   // DMAP only: "0x" + 16 hex digits; random when empty
    // How long the handler may wait for the device (DMAP: finish() waits for the device to call).
    std::chrono::milliseconds timeout{300000};
};

// begin() -> pin() -> finish() -> credentials() -> close(). Every step throws atv::Error
// (pairing_failed, back_off, timeout, connection_failed, invalid_state) on failure.
class PairingHandler {
  public:
    virtual ~PairingHandler() = default;

    [[nodiscard]] virtual Protocol protocol() const = 0;
    // True when the device shows the PIN; false when the user types ours on the device.
    [[nodiscard]] virtual bool device_provides_pin() const = 0;
    [[nodiscard]] virtual bool has_paired() const = 0;

    virtual asio::awaitable<void> begin() = 0;
    // Digits only; leading zeros are kept.
    virtual void pin(const std::string& pin) = 0;
    virtual asio::awaitable<void> finish() = 0;
    // Aborts an unfinished pairing on the device and releases every resource. Idempotent.
    virtual asio::awaitable<void> close() = 0;

    // The credentials string for the secrets store; valid once has_paired().
    [[nodiscard]] virtual std::string credentials() const = 0;
};

}  // namespace atv
