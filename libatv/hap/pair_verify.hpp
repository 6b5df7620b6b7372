// Pair-verify (HAP M1..M4) as socket-free state machines: proves both long-term identities and
// agrees on an X25519 shared secret from which the session keys are derived.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "hap/credentials.hpp"
#include "hap/crypto.hpp"
#include "hap/identity.hpp"
#include "hap/tlv8.hpp"
#include "support/bytes.hpp"

namespace atv::hap {

// The controller's side. Throws atv::Error: invalid_state when called out of order,
// authentication_failed (HapError for device-reported errors) when a check fails.
class PairVerifyController {
  public:
    explicit PairVerifyController(const HapCredentials& credentials);

    Bytes m1();
    // Checks the device id and signature against the stored credentials.
    Bytes m3(ByteView m2);
    void finish(ByteView m4);
    // Valid after finish().
    [[nodiscard]] const SecretBytes& shared_secret() const;

  private:
    enum class State : std::uint8_t { start, sent_m1, sent_m3, done };

    void expect(State state, const char* step) const;

    HapCredentials credentials_;
    State state_ = State::start;
    std::optional<X25519KeyPair> ephemeral_;
    SecretBytes shared_;
};

// The accessory's side (for tests, fakes and fuzzing). handle() answers bad input with an
// Error TLV and never throws for it.
class PairVerifyAccessory {
  public:
    using ControllerLookup = std::function<std::optional<Bytes>(std::string_view client_id)>;

    PairVerifyAccessory(AccessoryIdentity identity, ControllerLookup lookup_controller_ltpk);

    Bytes handle(ByteView request);
    [[nodiscard]] bool verified() const { return verified_; }
    // Valid once verified().
    [[nodiscard]] const SecretBytes& shared_secret() const;

  private:
    Bytes on_m1(const Tlv8& request);
    Bytes on_m3(const Tlv8& request);
    Bytes fail(std::uint8_t seq_no, std::uint8_t code);

    AccessoryIdentity identity_;
    ControllerLookup lookup_;
    bool sent_m2_ = false;
    bool verified_ = false;
    Bytes controller_ephemeral_;
    std::optional<X25519KeyPair> ephemeral_;
    SecretBytes shared_;
};

}  // namespace atv::hap
