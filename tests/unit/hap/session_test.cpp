#include "hap/session.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"
#include "hap/crypto.hpp"
#include "test_helpers.hpp"

namespace atv::hap {
namespace {

using test::hex;

Bytes counting_secret() {
    Bytes secret(32);
    for (std::size_t i = 0; i < secret.size(); ++i) {
        secret[i] = static_cast<std::uint8_t>(i);
    }
    return secret;
}

// Expected values computed independently (Python hmac, RFC 5869 HKDF with SHA-512).
TEST(SessionKeys, DerivationsMatchTheTable) {
    const Bytes shared = counting_secret();
    const auto mrp = mrp_session_keys(shared);
    EXPECT_EQ(to_hex(mrp.output_key.view()),
              "e6e2dcf8283a5c51a12284e90dff6073226384331dbf87dfc0e2959fdeee31dc");
    EXPECT_EQ(to_hex(mrp.input_key.view()),
              "161e528ba653c40613ea45986dc5f5d5a749db85f1b811bab0407c53b2a0447b");
    EXPECT_EQ(to_hex(companion_session_keys(shared).output_key.view()),
              "9f8aa265911271e6d6e90daf564d82b5913d4b760373afbd6c03e675af681f8d");
    EXPECT_EQ(to_hex(airplay_datastream_keys(shared, 12345).output_key.view()),
              "7a0a0ebaa095ab14b9366e179f7e3e2eda27ea6f2bf930198acdca4c79d62d9d");
    const auto control = airplay_control_keys(shared);
    EXPECT_EQ(to_hex(control.output_key.view()),
              to_hex(hkdf_sha512(shared, "Control-Salt", "Control-Write-Encryption-Key")));
    const auto events = airplay_event_keys(shared);
    EXPECT_EQ(to_hex(events.output_key.view()),
              to_hex(hkdf_sha512(shared, "Events-Salt", "Events-Read-Encryption-Key")));
    EXPECT_EQ(to_hex(events.input_key.view()),
              to_hex(hkdf_sha512(shared, "Events-Salt", "Events-Write-Encryption-Key")));
}

TEST(Nonces, Layouts) {
    EXPECT_EQ(to_hex(counter_nonce_hap(0x0102)), "000000000201000000000000");
    EXPECT_EQ(to_hex(counter_nonce_companion(0x0102)), "020100000000000000000000");
}

class Framing : public ::testing::Test {
  protected:
    SessionKeys keys{SecretBytes(Bytes(32, 1)), SecretBytes(Bytes(32, 2))};
    HapFrameCipher sender{keys};
    HapFrameCipher receiver{reversed(keys)};
};

TEST_F(Framing, BlocksOfAtMost1024BytesWithLengthAsAad) {
    Bytes plaintext(2500, 0x41);
    const Bytes wire = sender.encrypt(plaintext);
    ASSERT_EQ(wire.size(), 2500U + 3 * (2 + 16));
    EXPECT_EQ(wire[0], 0x00);
    EXPECT_EQ(wire[1], 0x04);
    // First block decrypts by hand with counter 0 and the two length bytes as AAD.
    const auto first =
        ChaCha20Poly1305::open(keys.output_key.view(), counter_nonce_hap(0),
                               ByteView(wire).subspan(2, 1024 + 16), ByteView(wire).first(2));
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->size(), 1024U);
    const auto all = receiver.decrypt(wire);
    ASSERT_TRUE(all.has_value());
    EXPECT_EQ(*all, plaintext);
}

TEST_F(Framing, PartialBlocksAreBuffered) {
    const Bytes wire = sender.encrypt(to_bytes("hello, accessory"));
    for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
        EXPECT_FALSE(receiver.decrypt(ByteView(wire).subspan(i, 1)).has_value());
    }
    const auto last = receiver.decrypt(ByteView(wire).last(1));
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(to_string(*last), "hello, accessory");
    EXPECT_EQ(receiver.buffered(), 0U);
    // Counters advance: a second message still decrypts.
    const auto second = receiver.decrypt(sender.encrypt(to_bytes("again")));
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(to_string(*second), "again");
}

TEST_F(Framing, BadTagThrows) {
    Bytes wire = sender.encrypt(to_bytes("hello"));
    wire[4] ^= 0x10;
    try {
        (void)receiver.decrypt(wire);
        FAIL() << "accepted a forged block";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    }
}

TEST_F(Framing, OversizedLengthThrows) {
    EXPECT_THROW((void)receiver.decrypt(Bytes{0x01, 0x04, 0, 0}), Error);
}

TEST_F(Framing, EmptyPlaintextIsOneEmptyBlock) {
    const Bytes wire = sender.encrypt({});
    EXPECT_EQ(wire.size(), 18U);
    const auto plain = receiver.decrypt(wire);
    ASSERT_TRUE(plain.has_value());
    EXPECT_TRUE(plain->empty());
}

TEST(MrpCipherTest, CounterNoncesWithoutAad) {
    const SessionKeys keys{SecretBytes(Bytes(32, 3)), SecretBytes(Bytes(32, 4))};
    MrpCipher ours(keys);
    MrpCipher theirs(reversed(keys));
    const Bytes first = ours.encrypt(to_bytes("one"));
    const Bytes second = ours.encrypt(to_bytes("two"));
    EXPECT_EQ(to_hex(first), to_hex(ChaCha20Poly1305::seal(keys.output_key.view(),
                                                           counter_nonce_hap(0), to_bytes("one"))));
    EXPECT_FALSE(theirs.decrypt(second).has_value());  // out of order: counter 0 expected
    EXPECT_EQ(to_string(*theirs.decrypt(first)), "one");
    EXPECT_EQ(to_string(*theirs.decrypt(second)), "two");
}

TEST(CompanionCipherTest, TwelveByteCounterAndCallerAad) {
    const SessionKeys keys{SecretBytes(Bytes(32, 5)), SecretBytes(Bytes(32, 6))};
    CompanionCipher ours(keys);
    CompanionCipher theirs(reversed(keys));
    const Bytes header = hex("08000013");
    const Bytes sealed = ours.encrypt(to_bytes("payload"), header);
    EXPECT_EQ(to_hex(sealed),
              to_hex(ChaCha20Poly1305::seal(keys.output_key.view(), counter_nonce_companion(0),
                                            to_bytes("payload"), header)));
    EXPECT_FALSE(theirs.decrypt(sealed, hex("08000014")).has_value());
    EXPECT_EQ(to_string(*theirs.decrypt(sealed, header)), "payload");
}

}  // namespace
}  // namespace atv::hap
