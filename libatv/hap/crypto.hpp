// The primitives of HAP: HKDF-SHA512, ChaCha20-Poly1305 (IETF), Ed25519 and X25519.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "support/bytes.hpp"

namespace atv::hap {

// HKDF with SHA-512 (RFC 5869); salt and info are ASCII labels in HAP.
Bytes hkdf_sha512(ByteView secret, std::string_view salt, std::string_view info,
                  std::size_t length = 32);

// HKDF over any digest OpenSSL knows by name ("SHA256", "SHA512"); used for published vectors.
Bytes hkdf(std::string_view digest, ByteView secret, ByteView salt, ByteView info,
           std::size_t length);

// 12-byte handshake nonce: four zero bytes then an 8-character label such as "PS-Msg05".
Bytes label_nonce(std::string_view label);

struct ChaCha20Poly1305 {
    static constexpr std::size_t key_size = 32;
    static constexpr std::size_t nonce_size = 12;
    static constexpr std::size_t tag_size = 16;

    // Ciphertext with the 16-byte tag appended.
    static Bytes seal(ByteView key, ByteView nonce12, ByteView plaintext, ByteView aad = {});
    // nullopt when the tag does not match (tampered data or the wrong key).
    static std::optional<Bytes> open(ByteView key, ByteView nonce12, ByteView ciphertext_and_tag,
                                     ByteView aad = {});
};

struct Ed25519KeyPair {
    static Ed25519KeyPair from_seed(ByteView seed32);
    static Ed25519KeyPair generate();

    Bytes public_key;
    SecretBytes seed;

    // 64-byte detached signature.
    [[nodiscard]] Bytes sign(ByteView message) const;
};

bool ed25519_verify(ByteView public_key, ByteView message, ByteView signature);

struct X25519KeyPair {
    static X25519KeyPair generate();
    static X25519KeyPair from_private_key(ByteView private_key32);

    Bytes public_key;
    SecretBytes private_key;

    // Throws atv::Error(authentication_failed) when the peer key yields the all-zero secret.
    [[nodiscard]] SecretBytes shared_secret(ByteView peer_public) const;
};

}  // namespace atv::hap
