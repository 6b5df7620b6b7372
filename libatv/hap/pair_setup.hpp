// Pair-setup (HAP M1..M6, or M1..M4 for transient pairing) as socket-free state machines: each
// call takes the TLV8 body of the peer's message and returns the TLV8 body to send.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "hap/credentials.hpp"
#include "hap/identity.hpp"
#include "hap/srp.hpp"
#include "hap/tlv8.hpp"
#include "support/bytes.hpp"

namespace atv::hap {

// The PIN as the SRP password: Apple devices' PINs left-padded with zeros to four digits; an
// eight-digit HomeKit setup code in its XXX-XX-XXX form (with or without the dashes typed).
// Throws atv::Error(invalid_arguments) on anything but 1..8 digits.
std::string normalise_pin(std::string_view pin);

// The controller's side. Every step throws atv::Error: invalid_state when called out of order,
// HapError (pairing_failed / back_off) when the device reports an error, pairing_failed when the
// device's answer is malformed or fails a check.
class PairSetupController {
  public:
    PairSetupController(ClientIdentity identity, std::optional<std::string> display_name,
                        bool transient = false,
                        SrpIntegerEncoding encoding = SrpIntegerEncoding::minimal);

    Bytes m1();
    void set_pin(std::string pin);
    Bytes m3(ByteView m2);
    // Verifies the device's SRP proof.
    Bytes m5(ByteView m4);
    // Verifies the device's signature.
    HapCredentials finish(ByteView m6);

    // Transient pairing ends after M4: verifies the proof; the SRP key then seeds the session.
    void finish_transient(ByteView m4);
    [[nodiscard]] const SecretBytes& srp_session_key() const;

  private:
    enum class State : std::uint8_t { start, sent_m1, sent_m3, sent_m5, done };

    void expect(State state, const char* step) const;
    void verify_device_proof(ByteView m4);

    ClientIdentity identity_;
    std::optional<std::string> display_name_;
    bool transient_;
    SrpGroup group_;
    State state_ = State::start;
    std::optional<std::string> password_;
    std::optional<SrpClient> srp_;
};

struct PairSetupAccessoryPolicy {
    std::uint32_t max_tries = 100;  // failed PIN attempts before MaxTries
    // When non-zero, the M1 after a failed attempt is answered with BackOff and this delay.
    std::chrono::seconds back_off_after_failure{0};
};

// The accessory's side (for tests, fakes and fuzzing). handle() never throws for bad input; it
// answers with an Error TLV as an accessory would.
class PairSetupAccessory {
  public:
    PairSetupAccessory(AccessoryIdentity identity, std::string pin,
                       PairSetupAccessoryPolicy policy = {},
                       SrpIntegerEncoding encoding = SrpIntegerEncoding::minimal);

    Bytes handle(ByteView request);
    [[nodiscard]] bool paired() const { return controller_.has_value(); }
    [[nodiscard]] std::optional<PairedController> controller() const { return controller_; }
    // After a transient M1..M4, the SRP key (empty otherwise).
    [[nodiscard]] const SecretBytes& srp_session_key() const;

  private:
    enum class State : std::uint8_t { idle, sent_m2, sent_m4 };

    Bytes on_m1(const Tlv8& request);
    Bytes on_m3(const Tlv8& request);
    Bytes on_m5(const Tlv8& request);
    Bytes fail(std::uint8_t seq_no, std::uint8_t code);

    AccessoryIdentity identity_;
    std::string pin_;
    PairSetupAccessoryPolicy policy_;
    SrpGroup group_;
    State state_ = State::idle;
    bool transient_ = false;
    bool back_off_pending_ = false;
    std::uint32_t failed_tries_ = 0;
    std::optional<SrpServer> srp_;
    SecretBytes transient_key_;
    std::optional<PairedController> controller_;
};

}  // namespace atv::hap
