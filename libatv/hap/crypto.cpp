#include "hap/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "atv/error.hpp"

namespace atv::hap {

namespace {

void ensure_sodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) {
        throw std::runtime_error("libsodium failed to initialise");
    }
}

void require_size(ByteView value, std::size_t size, const char* what) {
    if (value.size() != size) {
        throw Error(ErrorKind::invalid_arguments,
                    std::string(what) + " must be " + std::to_string(size) + " bytes");
    }
}

struct KdfDeleter {
    void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
    void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

// OSSL_PARAM wants non-const pointers even for inputs it only reads.
void* mutable_data(ByteView bytes) {
    static std::uint8_t empty = 0;
    return bytes.empty() ? &empty : const_cast<std::uint8_t*>(bytes.data());
}

}  // namespace

Bytes hkdf(std::string_view digest, ByteView secret, ByteView salt, ByteView info,
           std::size_t length) {
    std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
    if (!kdf) {
        throw std::runtime_error("OpenSSL has no HKDF");
    }
    std::unique_ptr<EVP_KDF_CTX, KdfDeleter> ctx(EVP_KDF_CTX_new(kdf.get()));
    if (!ctx) {
        throw std::runtime_error("HKDF context allocation failed");
    }
    std::string digest_name(digest);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name.data(), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, mutable_data(secret), secret.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, mutable_data(salt), salt.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, mutable_data(info), info.size()),
        OSSL_PARAM_construct_end(),
    };
    Bytes output(length);
    if (EVP_KDF_derive(ctx.get(), output.data(), output.size(), params) != 1) {
        throw std::runtime_error("HKDF derivation failed");
    }
    return output;
}

Bytes hkdf_sha512(ByteView secret, std::string_view salt, std::string_view info,
                  std::size_t length) {
    const Bytes salt_bytes = to_bytes(salt);
    const Bytes info_bytes = to_bytes(info);
    return hkdf("SHA512", secret, salt_bytes, info_bytes, length);
}

Bytes label_nonce(std::string_view label) {
    Bytes nonce(ChaCha20Poly1305::nonce_size - label.size(), 0);
    nonce.insert(nonce.end(), label.begin(), label.end());
    if (nonce.size() != ChaCha20Poly1305::nonce_size) {
        throw std::logic_error("nonce label must be 8 characters");
    }
    return nonce;
}

Bytes ChaCha20Poly1305::seal(ByteView key, ByteView nonce12, ByteView plaintext, ByteView aad) {
    ensure_sodium();
    require_size(key, key_size, "ChaCha20-Poly1305 key");
    require_size(nonce12, nonce_size, "ChaCha20-Poly1305 nonce");
    Bytes output(plaintext.size() + tag_size);
    unsigned long long written = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(output.data(), &written, plaintext.data(),
                                              plaintext.size(), aad.data(), aad.size(), nullptr,
                                              nonce12.data(), key.data());
    output.resize(written);
    return output;
}

std::optional<Bytes> ChaCha20Poly1305::open(ByteView key, ByteView nonce12,
                                            ByteView ciphertext_and_tag, ByteView aad) {
    ensure_sodium();
    require_size(key, key_size, "ChaCha20-Poly1305 key");
    require_size(nonce12, nonce_size, "ChaCha20-Poly1305 nonce");
    if (ciphertext_and_tag.size() < tag_size) {
        return std::nullopt;
    }
    Bytes output(ciphertext_and_tag.size() - tag_size);
    unsigned long long written = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(
            output.data(), &written, nullptr, ciphertext_and_tag.data(), ciphertext_and_tag.size(),
            aad.data(), aad.size(), nonce12.data(), key.data()) != 0) {
        return std::nullopt;
    }
    output.resize(written);
    return output;
}

Ed25519KeyPair Ed25519KeyPair::from_seed(ByteView seed32) {
    ensure_sodium();
    require_size(seed32, crypto_sign_SEEDBYTES, "Ed25519 seed");
    Ed25519KeyPair pair;
    pair.public_key.resize(crypto_sign_PUBLICKEYBYTES);
    SecretBytes expanded(Bytes(crypto_sign_SECRETKEYBYTES));
    crypto_sign_seed_keypair(pair.public_key.data(), expanded.data(), seed32.data());
    pair.seed = SecretBytes(Bytes(seed32.begin(), seed32.end()));
    return pair;
}

Ed25519KeyPair Ed25519KeyPair::generate() {
    SecretBytes seed(random_bytes(crypto_sign_SEEDBYTES));
    return from_seed(seed.view());
}

Bytes Ed25519KeyPair::sign(ByteView message) const {
    ensure_sodium();
    // libsodium signs with the expanded secret key (seed ‖ public key).
    SecretBytes expanded(Bytes(crypto_sign_SECRETKEYBYTES));
    Bytes public_again(crypto_sign_PUBLICKEYBYTES);
    crypto_sign_seed_keypair(public_again.data(), expanded.data(), seed.data());
    Bytes signature(crypto_sign_BYTES);
    crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                         expanded.data());
    return signature;
}

bool ed25519_verify(ByteView public_key, ByteView message, ByteView signature) {
    ensure_sodium();
    if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) {
        return false;
    }
    return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                       public_key.data()) == 0;
}

X25519KeyPair X25519KeyPair::from_private_key(ByteView private_key32) {
    ensure_sodium();
    require_size(private_key32, crypto_scalarmult_SCALARBYTES, "X25519 private key");
    X25519KeyPair pair;
    pair.private_key = SecretBytes(Bytes(private_key32.begin(), private_key32.end()));
    pair.public_key.resize(crypto_scalarmult_BYTES);
    crypto_scalarmult_base(pair.public_key.data(), pair.private_key.data());
    return pair;
}

X25519KeyPair X25519KeyPair::generate() {
    SecretBytes private_key(random_bytes(crypto_scalarmult_SCALARBYTES));
    return from_private_key(private_key.view());
}

SecretBytes X25519KeyPair::shared_secret(ByteView peer_public) const {
    ensure_sodium();
    if (peer_public.size() != crypto_scalarmult_BYTES) {
        throw Error(ErrorKind::authentication_failed,
                    "the peer's X25519 public key has the wrong length");
    }
    SecretBytes shared(Bytes(crypto_scalarmult_BYTES));
    // libsodium refuses (returns -1) when the result is all zero: a low-order peer key.
    if (crypto_scalarmult(shared.data(), private_key.data(), peer_public.data()) != 0) {
        throw Error(ErrorKind::authentication_failed,
                    "the peer sent an invalid X25519 public key (low-order point)");
    }
    return shared;
}

}  // namespace atv::hap
