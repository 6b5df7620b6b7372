// The credentials string a pairing produces and later sessions use (pyatv's format):
// LTPK:LTSK:DEVICE_ID:CLIENT_ID, each field lower-case hex.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "support/bytes.hpp"

namespace atv::hap {

enum class CredentialsType : std::uint8_t {
    none,       // ":::" or empty: not paired
    transient,  // "7472616e7369656e74:::": pair-setup M1..M4 with PIN 3939 on every connect
    legacy,     // AirPlay legacy pairing: ":SEED::CLIENT_ID" or "CLIENT_ID:SEED"
    hap         // all four fields
};

// The text of transient credentials: "transient" in hex followed by three empty fields.
inline constexpr std::string_view transient_credentials_text = "7472616e7369656e74:::";

// Which kind of credentials the text holds. Throws atv::Error(invalid_arguments) for anything
// else, without repeating the text.
CredentialsType credentials_type(std::string_view text);

struct HapCredentials {
    Bytes ltpk;        // the device's long-term Ed25519 public key
    SecretBytes ltsk;  // our long-term Ed25519 seed
    Bytes device_id;   // the device's pairing identifier
    Bytes client_id;   // our pairing identifier (ASCII UUID)

    // Strict: exactly four non-empty hex fields, a 32-byte LTPK and LTSK. Throws
    // atv::Error(invalid_arguments) without echoing the input.
    static HapCredentials parse(std::string_view text);
    [[nodiscard]] std::string to_string() const;
};

// AirPlay legacy pairing ("device authentication"): a client id and an Ed25519 seed.
struct LegacyCredentials {
    Bytes client_id;
    SecretBytes seed;

    // Accepts ":SEED::CLIENT_ID" and "CLIENT_ID:SEED".
    static LegacyCredentials parse(std::string_view text);
    // Written as ":SEED::CLIENT_ID".
    [[nodiscard]] std::string to_string() const;
};

}  // namespace atv::hap
