// SRP-6a as HAP pair-setup and legacy AirPlay pairing use it (RFC 5054 groups).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "support/bytes.hpp"

namespace atv::hap {

enum class SrpHash : std::uint8_t { sha1, sha512 };

// How the session key K is made from the premaster secret S.
enum class SrpSessionKey : std::uint8_t {
    hash_of_s,        // K = H(S): HAP
    sha1_interleaved  // K = SHA-1(S ‖ 00000000) ‖ SHA-1(S ‖ 00000001): legacy AirPlay
};

// How the integers A, B, S, H(N) xor H(g) and H(user) enter M1, M2 and K. k and u always pad
// A, B and g to the length of N.
enum class SrpIntegerEncoding : std::uint8_t {
    minimal,  // leading zero bytes dropped (srptools, pyatv); the default for HAP
    padded    // padded to the length of N (fast-srp-hap, which hap-nodejs uses)
};

struct SrpGroup {
    Bytes prime_N;  // big-endian
    Bytes generator_g;
    SrpHash hash = SrpHash::sha512;
    SrpSessionKey session_key = SrpSessionKey::hash_of_s;
    SrpIntegerEncoding encoding = SrpIntegerEncoding::minimal;

    static SrpGroup rfc5054_1024_sha1();
    static SrpGroup rfc5054_2048_sha1();    // legacy AirPlay uses sha1_interleaved K with it
    static SrpGroup rfc5054_3072_sha512();  // HAP

    [[nodiscard]] SrpGroup with_encoding(SrpIntegerEncoding value) const;
    [[nodiscard]] SrpGroup with_session_key(SrpSessionKey value) const;
};

// The intermediate values, exposed for the published test vectors.
Bytes srp_multiplier_k(const SrpGroup& group);
Bytes srp_scrambler_u(const SrpGroup& group, ByteView A, ByteView B);
Bytes srp_private_x(const SrpGroup& group, ByteView salt, std::string_view username,
                    std::string_view password);
Bytes srp_verifier_v(const SrpGroup& group, ByteView salt, std::string_view username,
                     std::string_view password);

// The controller's side. Throws atv::Error(pairing_failed) on a B that is 0 mod N.
class SrpClient {
  public:
    SrpClient(const SrpGroup& group, std::string username, std::string password, ByteView salt,
              ByteView server_public_B, ByteView private_a = {});

    [[nodiscard]] Bytes public_A() const { return public_A_; }
    [[nodiscard]] Bytes proof_M1() const { return proof_M1_; }
    // Constant-time comparison with the M2 the server should send.
    [[nodiscard]] bool verify_server_proof(ByteView M2) const;
    [[nodiscard]] const SecretBytes& session_key_K() const { return session_key_K_; }
    [[nodiscard]] const SecretBytes& premaster_secret_S() const { return premaster_S_; }

  private:
    Bytes public_A_;
    Bytes proof_M1_;
    Bytes expected_M2_;
    SecretBytes premaster_S_;
    SecretBytes session_key_K_;
};

// The accessory's side.
class SrpServer {
  public:
    SrpServer(const SrpGroup& group, std::string username, std::string password, ByteView salt = {},
              ByteView private_b = {});

    [[nodiscard]] Bytes salt() const { return salt_; }
    [[nodiscard]] Bytes public_B() const { return public_B_; }
    // M2 when the client's proof is right, nullopt otherwise (also for A ≡ 0 mod N).
    std::optional<Bytes> verify_client(ByteView A, ByteView M1);
    // Valid after a successful verify_client().
    [[nodiscard]] const SecretBytes& session_key_K() const { return session_key_K_; }
    [[nodiscard]] const SecretBytes& premaster_secret_S() const { return premaster_S_; }

  private:
    SrpGroup group_;
    std::string username_;
    Bytes salt_;
    Bytes verifier_v_;
    SecretBytes private_b_;
    Bytes public_B_;
    SecretBytes premaster_S_;
    SecretBytes session_key_K_;
};

}  // namespace atv::hap
