// The primitives against their published vectors.
#include "hap/crypto.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"
#include "test_helpers.hpp"

namespace atv::hap {
namespace {

using test::hex;

// RFC 5869 A.1 (SHA-256, basic case).
TEST(Hkdf, Rfc5869Case1Sha256) {
    const Bytes okm = hkdf("SHA256", hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
                           hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
    EXPECT_EQ(
        to_hex(okm),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// RFC 5869 A.3 (SHA-256, empty salt and info).
TEST(Hkdf, Rfc5869Case3EmptySaltAndInfo) {
    const Bytes okm =
        hkdf("SHA256", hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), {}, {}, 42);
    EXPECT_EQ(
        to_hex(okm),
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

// SHA-512 with ASCII labels as HAP uses it; expected value computed independently with
// Python's hmac module following RFC 5869.
TEST(Hkdf, Sha512WithHapLabels) {
    const Bytes okm = hkdf_sha512(hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
                                  "Pair-Verify-Encrypt-Salt", "Pair-Verify-Encrypt-Info");
    EXPECT_EQ(to_hex(okm), "3be6f1f6e86f9c508b32421c407fb52493fe16be6324f1ad425217cef7d72cfe");
    EXPECT_EQ(hkdf_sha512(hex("00"), "salt", "info", 64).size(), 64U);
}

// RFC 8439 §2.8.2.
class Rfc8439 : public ::testing::Test {
  protected:
    const Bytes key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    const Bytes nonce = hex("070000004041424344454647");
    const Bytes aad = hex("50515253c0c1c2c3c4c5c6c7");
    const Bytes plaintext = to_bytes(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
        "future, sunscreen would be it.");
    const Bytes expected = hex(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69"
        "da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad67594"
        "5585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"
        "1ae10b594f09e26a7e902ecbd0600691");
};

TEST_F(Rfc8439, SealMatchesVector) {
    EXPECT_EQ(to_hex(ChaCha20Poly1305::seal(key, nonce, plaintext, aad)), to_hex(expected));
}

TEST_F(Rfc8439, OpenRecoversPlaintext) {
    const auto opened = ChaCha20Poly1305::open(key, nonce, expected, aad);
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(*opened, plaintext);
}

TEST_F(Rfc8439, OpenRejectsTamperingAndWrongAad) {
    Bytes tampered = expected;
    tampered[5] ^= 0x01;
    EXPECT_FALSE(ChaCha20Poly1305::open(key, nonce, tampered, aad).has_value());
    EXPECT_FALSE(ChaCha20Poly1305::open(key, nonce, expected, {}).has_value());
    EXPECT_FALSE(ChaCha20Poly1305::open(key, nonce, hex("0102"), aad).has_value());
}

TEST(ChaCha20Poly1305Sizes, WrongKeyOrNonceLengthIsRejected) {
    EXPECT_THROW(ChaCha20Poly1305::seal(Bytes(31), Bytes(12), {}), Error);
    EXPECT_THROW(ChaCha20Poly1305::seal(Bytes(32), Bytes(8), {}), Error);
}

TEST(LabelNonce, FourZeroBytesThenLabel) {
    EXPECT_EQ(to_hex(label_nonce("PS-Msg05")), "00000000" + to_hex(to_bytes("PS-Msg05")));
}

// RFC 8032 §7.1 tests 1-3.
struct Ed25519Vector {
    const char* secret;
    const char* public_key;
    const char* message;
    const char* signature;
};

class Rfc8032 : public ::testing::TestWithParam<Ed25519Vector> {};

TEST_P(Rfc8032, KeySignatureAndVerification) {
    const auto& vector = GetParam();
    const auto pair = Ed25519KeyPair::from_seed(hex(vector.secret));
    EXPECT_EQ(to_hex(pair.public_key), vector.public_key);
    const Bytes message = hex(vector.message);
    const Bytes signature = pair.sign(message);
    EXPECT_EQ(to_hex(signature), vector.signature);
    EXPECT_TRUE(ed25519_verify(pair.public_key, message, signature));
    Bytes other = message;
    other.push_back(0x00);
    EXPECT_FALSE(ed25519_verify(pair.public_key, other, signature));
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, Rfc8032,
    ::testing::Values(
        Ed25519Vector{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
                      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590"
                      "a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        Ed25519Vector{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
                      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e"
                      "15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
        Ed25519Vector{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
                      "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
                      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d"
                      "16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"}));

TEST(Ed25519, GeneratedKeysSignAndVerify) {
    const auto pair = Ed25519KeyPair::generate();
    EXPECT_EQ(pair.public_key.size(), 32U);
    EXPECT_EQ(pair.seed.size(), 32U);
    const Bytes message = to_bytes("hello");
    EXPECT_TRUE(ed25519_verify(pair.public_key, message, pair.sign(message)));
    EXPECT_FALSE(ed25519_verify(pair.public_key, message, Bytes(63)));
}

// RFC 7748 §6.1.
TEST(X25519, Rfc7748DiffieHellman) {
    const auto alice = X25519KeyPair::from_private_key(
        hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    const auto bob = X25519KeyPair::from_private_key(
        hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
    EXPECT_EQ(to_hex(alice.public_key),
              "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    EXPECT_EQ(to_hex(bob.public_key),
              "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    const auto expected = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    EXPECT_EQ(to_hex(alice.shared_secret(bob.public_key).view()), expected);
    EXPECT_EQ(to_hex(bob.shared_secret(alice.public_key).view()), expected);
}

TEST(X25519, AllZeroResultIsRejected) {
    const auto pair = X25519KeyPair::generate();
    try {
        (void)pair.shared_secret(Bytes(32, 0));
        FAIL() << "a low-order peer key must be refused";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::authentication_failed);
    }
    EXPECT_THROW((void)pair.shared_secret(Bytes(31, 1)), Error);
}

}  // namespace
}  // namespace atv::hap
