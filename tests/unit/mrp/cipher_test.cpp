// The MRP session cipher as the channel uses it: MediaRemote keys from the pair-verify secret,
// one sealed unit per message, a counter per direction.
#include <gtest/gtest.h>

#include "hap/crypto.hpp"
#include "mrp/framing.hpp"
#include "mrp/handshake.hpp"
#include "mrp/messages.hpp"

namespace atv::mrp {
namespace {

constexpr std::size_t tag_size = 16;

TEST(MrpCipher, ClientAndDeviceUnderstandEachOther) {
    const Bytes shared = random_bytes(32);
    auto client = client_session_cipher(shared);
    auto device = device_session_cipher(shared);

    const Bytes request = serialize(heartbeat());
    const Bytes sealed = client->seal(request);
    EXPECT_EQ(sealed.size(), request.size() + tag_size);
    EXPECT_EQ(device->open(sealed), request);

    const Bytes reply = serialize(client_updates_config());
    EXPECT_EQ(client->open(device->seal(reply)), reply);
}

TEST(MrpCipher, EachMessageUsesTheNextNonce) {
    const Bytes shared = random_bytes(32);
    auto client = client_session_cipher(shared);
    auto device = device_session_cipher(shared);
    const Bytes payload = serialize(heartbeat());
    const Bytes first = client->seal(payload);
    const Bytes second = client->seal(payload);
    EXPECT_NE(first, second);
    // Out of order fails: the device expects counter 0 first.
    EXPECT_FALSE(device->open(second).has_value());
    EXPECT_EQ(device->open(first), payload);
    EXPECT_EQ(device->open(second), payload);
}

TEST(MrpCipher, NonceIsFourZerosAndALittleEndianCounter) {
    const Bytes shared = random_bytes(32);
    auto client = client_session_cipher(shared);
    const hap::SessionKeys keys = hap::mrp_session_keys(shared);
    const Bytes payload{1, 2, 3};
    (void)client->seal(payload);
    const Bytes second = client->seal(payload);
    Bytes nonce(12, 0);
    nonce[4] = 1;
    EXPECT_EQ(hap::ChaCha20Poly1305::open(keys.output_key.view(), nonce, second), payload);
}

TEST(MrpCipher, TamperingAndWrongKeysAreDetected) {
    const Bytes shared = random_bytes(32);
    auto client = client_session_cipher(shared);
    auto device = device_session_cipher(shared);
    auto stranger = device_session_cipher(random_bytes(32));
    Bytes sealed = client->seal(serialize(heartbeat()));
    EXPECT_FALSE(stranger->open(sealed).has_value());
    sealed[0] ^= 0x80;
    EXPECT_FALSE(device->open(sealed).has_value());
    // Both directions use different keys: a client cannot open its own messages.
    auto echo = client_session_cipher(shared);
    EXPECT_FALSE(echo->open(client_session_cipher(shared)->seal(Bytes{1})).has_value());
}

TEST(MrpCipher, FramedCiphertextRoundTrips) {
    const Bytes shared = random_bytes(32);
    auto client = client_session_cipher(shared);
    auto device = device_session_cipher(shared);
    const ProtocolMessage message = device_information({"client-id", "atvd", "18G82"});
    FrameReader reader;
    reader.feed(encode_frame(client->seal(serialize(message))));
    const auto frame = reader.next();
    ASSERT_TRUE(frame.has_value());
    const auto opened = device->open(*frame);
    ASSERT_TRUE(opened.has_value());
    const auto parsed = parse(*opened);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->identifier(), message.identifier());
    EXPECT_EQ(parsed->GetExtension(proto::deviceInfoMessage).name(), "atvd");
}

}  // namespace
}  // namespace atv::mrp
