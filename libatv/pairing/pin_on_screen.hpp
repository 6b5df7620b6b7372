// What every pairing with a PIN shown on the device's screen has in common (MRP, Companion,
// AirPlay 2, legacy AirPlay): begin() connects and makes the device show a PIN, pin() takes it,
// finish() pairs with it and proves the new credentials on the same connection. Any failure
// closes the connection, and close() may come at any moment, even while begin() connects.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "atv/pairing.hpp"
#include "hap/identity.hpp"
#include "hap/pair_setup.hpp"
#include "support/bytes.hpp"

namespace atv {

class PinOnScreenPairing : public PairingHandler {
  public:
    [[nodiscard]] bool device_provides_pin() const final { return true; }
    [[nodiscard]] bool has_paired() const final { return credentials_.has_value(); }
    asio::awaitable<void> begin() final;
    void pin(const std::string& pin) final;
    asio::awaitable<void> finish() final;
    asio::awaitable<void> close() final;
    [[nodiscard]] std::string credentials() const final;

    // How long each step waits for the device (5 s unless a test shortens it).
    void set_step_timeout(std::chrono::milliseconds timeout) { step_timeout_ = timeout; }

  protected:
    // subject names the pairing in errors: "pairing <subject> failed: ...", e.g. "AirPlay with
    // the device".
    PinOnScreenPairing(std::string address, std::string subject);

    // Opens the connection. begin() drops it again when close() came meanwhile.
    virtual asio::awaitable<void> connect() = 0;
    // Makes the device show a PIN; a refusal (back-off, busy) throws here, before any PIN.
    virtual asio::awaitable<void> request_pin() = 0;
    // Pairs with the PIN and returns the new credentials, once prove() has verified them.
    virtual asio::awaitable<std::string> pair_with_pin(std::string pin) = 0;
    // Closes the connection: a device forgets an unfinished pairing with it.
    virtual asio::awaitable<void> disconnect() = 0;

    // Awaits a verify of credentials the device has just issued; a refusal fails the pairing.
    asio::awaitable<void> prove(asio::awaitable<void> verifying) const;

    [[nodiscard]] const std::string& address() const { return address_; }
    [[nodiscard]] std::chrono::milliseconds step_timeout() const { return step_timeout_; }

  private:
    asio::awaitable<void> show_pin();
    asio::awaitable<void> complete();
    // Awaits a step; on failure releases everything and rethrows, a wrong PIN said plainly.
    asio::awaitable<void> guarded(asio::awaitable<void> step, bool release_on_success);
    asio::awaitable<void> release();

    std::string address_;
    std::string subject_;
    std::chrono::milliseconds step_timeout_{5000};
    bool begun_ = false;
    bool pin_shown_ = false;
    std::optional<std::string> pin_;
    std::uint64_t attempt_ = 0;  // bumped by begin() and close(), to notice a close mid-connect
    std::optional<std::string> credentials_;
};

// HAP pair-setup (M1..M6) with the PIN shown on the device, over the transport a subclass gives,
// then a pair-verify with the new credentials.
class HapPinOnScreenPairing : public PinOnScreenPairing {
  protected:
    // display_name: sent in pair-setup M5, where the protocol carries one.
    HapPinOnScreenPairing(std::string address, std::string subject, hap::ClientIdentity identity,
                          std::optional<std::string> display_name);

    // Sends one pairing message (a TLV8, pair-setup or pair-verify) and returns the answer; first
    // is true for the message that starts a pair-setup.
    virtual asio::awaitable<Bytes> exchange(Bytes message, bool first) = 0;
    // Proves credentials with a pair-verify: by default its messages go through exchange(), none
    // once close() has ended the pairing.
    virtual asio::awaitable<void> verify(const hap::HapCredentials& credentials);
    // Closes the transport.
    virtual asio::awaitable<void> close_connection() = 0;

    // M1 -> M2. Subclasses that must first ask for a PIN override this and then call it.
    asio::awaitable<void> request_pin() override;

    [[nodiscard]] const hap::ClientIdentity& identity() const { return identity_; }

  private:
    asio::awaitable<std::string> pair_with_pin(std::string pin) final;
    asio::awaitable<void> disconnect() final;
    // The pair-setup in progress; throws once close() has ended it during an exchange.
    hap::PairSetupController& setup();
    // exchange(), unless close() has ended the pairing while the last answer was on its way.
    asio::awaitable<Bytes> send(Bytes message, bool first);

    hap::ClientIdentity identity_;
    std::optional<std::string> display_name_;
    std::optional<hap::PairSetupController> setup_;
    Bytes m2_;
};

}  // namespace atv
