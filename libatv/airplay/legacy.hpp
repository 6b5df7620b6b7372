// Legacy AirPlay pairing ("device authentication", AirPlay 1 receivers and tvOS before AirPlay 2;
// protocols.md §5.2): /pair-pin-start, three /pair-setup-pin steps with binary plists (SRP
// 2048-bit/SHA-1 keyed by the PIN, then our Ed25519 key sealed with AES-128-GCM), and a
// /pair-verify of X25519 keys with AES-128-CTR. Credentials are ":SEED::CLIENT_ID".
#pragma once

#include <asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "airplay/http_client.hpp"
#include "hap/credentials.hpp"
#include "hap/crypto.hpp"
#include "hap/srp.hpp"
#include "pairing/pin_on_screen.hpp"
#include "support/bytes.hpp"

namespace atv::airplay::legacy {

// The SRP group of legacy pairing: RFC 5054 2048-bit, g = 2, SHA-1, K = SHA-1(S ‖ 0) ‖ SHA-1(S ‖
// 1).
hap::SrpGroup srp_group();
// The SRP user: the client id as 16 upper-case hex digits.
std::string srp_user(ByteView client_id);

struct SealedKey {
    Bytes epk;       // the ciphertext
    Bytes auth_tag;  // 16 bytes
};
// Step 3: our Ed25519 public key under AES-128-GCM keyed from the SRP key K.
SealedKey seal_public_key(ByteView session_key, ByteView ed25519_public);
// The receiver's side of step 3; nullopt when the tag does not verify.
std::optional<Bytes> open_public_key(ByteView session_key, const SealedKey& sealed);

// The AES-128-CTR keystream of pair-verify, from the X25519 shared secret.
class VerifyStream {
  public:
    explicit VerifyStream(ByteView shared);
    ~VerifyStream();
    VerifyStream(const VerifyStream&) = delete;
    VerifyStream& operator=(const VerifyStream&) = delete;
    // Encrypts or decrypts (the same in CTR), continuing the keystream.
    Bytes apply(ByteView data);

  private:
    void* context_;  // EVP_CIPHER_CTX
};

class LegacyPairingHandler : public PinOnScreenPairing {
  public:
    LegacyPairingHandler(asio::any_io_executor executor, std::string address, std::uint16_t port);
    ~LegacyPairingHandler() override;

    [[nodiscard]] Protocol protocol() const override { return Protocol::airplay; }

  private:
    asio::awaitable<void> connect() override;
    // /pair-pin-start.
    asio::awaitable<void> request_pin() override;
    // The three /pair-setup-pin steps, then a /pair-verify proving the new credentials.
    asio::awaitable<std::string> pair_with_pin(std::string pin) override;
    asio::awaitable<void> disconnect() override;
    // Our own reference: close() may drop client_ while a request is under way.
    [[nodiscard]] std::shared_ptr<HttpClient> client() const;

    asio::any_io_executor executor_;
    std::uint16_t port_;
    std::shared_ptr<HttpClient> client_;
};

// Pair-verify with legacy credentials on `client`. Throws atv::Error(authentication_failed)
// when the receiver refuses them.
asio::awaitable<void> verify(HttpClient& client, const hap::LegacyCredentials& credentials,
                             std::chrono::milliseconds timeout);

}  // namespace atv::airplay::legacy
