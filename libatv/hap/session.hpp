// Session keys after pair-verify (or transient pair-setup) and the three ways the protocols
// encrypt traffic with them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "support/bytes.hpp"

namespace atv::hap {

// output_key encrypts what we send, input_key decrypts what we receive.
struct SessionKeys {
    SecretBytes output_key;
    SecretBytes input_key;
};

SessionKeys derive_session_keys(ByteView shared, std::string_view salt,
                                std::string_view output_info, std::string_view input_info);

// The derivations of protocols.md §3.6, seen from the controller.
SessionKeys mrp_session_keys(ByteView shared);
SessionKeys companion_session_keys(ByteView shared);
// Also the keys of a HAP accessory's HTTP connection after pair-verify.
SessionKeys airplay_control_keys(ByteView shared);
SessionKeys airplay_event_keys(ByteView shared);
SessionKeys airplay_datastream_keys(ByteView shared, std::uint64_t seed);

// The same keys seen from the accessory (output and input swapped).
SessionKeys reversed(const SessionKeys& keys);

// HAP over HTTP/RTSP and AirPlay channels: plaintext in blocks of at most 1024 bytes, each sent
// as 2-byte LE length ‖ ciphertext ‖ tag, the length bytes as AAD, nonce = 4 zero bytes ‖ 8-byte
// LE counter (one counter per direction).
class HapFrameCipher {
  public:
    static constexpr std::size_t max_block = 1024;

    explicit HapFrameCipher(const SessionKeys& keys);

    Bytes encrypt(ByteView plaintext);
    // Buffers partial blocks; returns the plaintext of every complete block received so far, or
    // nullopt when no block is complete yet. Throws atv::Error(connection_failed) on a bad tag.
    std::optional<Bytes> decrypt(ByteView incoming);
    [[nodiscard]] std::size_t buffered() const { return pending_.size(); }

  private:
    SecretBytes output_key_;
    SecretBytes input_key_;
    std::uint64_t output_counter_ = 0;
    std::uint64_t input_counter_ = 0;
    Bytes pending_;
};

// MRP: one sealed unit per message, nonce = 4 zero bytes ‖ 8-byte LE counter, no AAD.
class MrpCipher {
  public:
    explicit MrpCipher(const SessionKeys& keys);

    Bytes encrypt(ByteView plaintext);
    // nullopt on a bad tag (the counter does not advance then).
    std::optional<Bytes> decrypt(ByteView ciphertext_and_tag);

  private:
    SecretBytes output_key_;
    SecretBytes input_key_;
    std::uint64_t output_counter_ = 0;
    std::uint64_t input_counter_ = 0;
};

// Companion: nonce = 12-byte LE counter, AAD = the frame header the caller passes.
class CompanionCipher {
  public:
    explicit CompanionCipher(const SessionKeys& keys);

    Bytes encrypt(ByteView plaintext, ByteView aad);
    std::optional<Bytes> decrypt(ByteView ciphertext_and_tag, ByteView aad);

  private:
    SecretBytes output_key_;
    SecretBytes input_key_;
    std::uint64_t output_counter_ = 0;
    std::uint64_t input_counter_ = 0;
};

// 12-byte nonces from a counter.
Bytes counter_nonce_hap(std::uint64_t counter);        // 4 zero bytes ‖ 8-byte LE
Bytes counter_nonce_companion(std::uint64_t counter);  // 12-byte LE

}  // namespace atv::hap
