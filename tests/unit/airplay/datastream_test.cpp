#include "airplay/datastream.hpp"

#include <gtest/gtest.h>

#include "airplay/plist.hpp"
#include "atv/error.hpp"
#include "hap/session.hpp"
#include "mrp/framing.hpp"

namespace atv::airplay {
namespace {

TEST(AirPlayDataStream, HeaderLayout) {
    const DataMessage message{"sync", "comm", 0x1'2345'6789ULL, Bytes{0xAA, 0xBB}};
    const Bytes wire = encode_data_message(message);
    ASSERT_EQ(wire.size(), 34u);
    EXPECT_EQ(to_hex(ByteView(wire).first(4)), "00000022");  // size includes the header
    EXPECT_EQ(to_hex(ByteView(wire).subspan(4, 12)), "73796e630000000000000000");
    EXPECT_EQ(to_hex(ByteView(wire).subspan(16, 4)), "636f6d6d");
    EXPECT_EQ(to_hex(ByteView(wire).subspan(20, 8)), "0000000123456789");
    EXPECT_EQ(to_hex(ByteView(wire).subspan(28, 4)), "00000000");
    EXPECT_EQ(to_hex(ByteView(wire).subspan(32)), "aabb");

    DataMessageReader reader;
    for (const std::uint8_t byte : wire) {
        EXPECT_FALSE(reader.next());
        reader.feed(ByteView(&byte, 1));
    }
    const auto read = reader.next();
    ASSERT_TRUE(read);
    EXPECT_EQ(read->type, "sync");
    EXPECT_EQ(read->command, "comm");
    EXPECT_EQ(read->seqno, 0x1'2345'6789ULL);
    EXPECT_EQ(read->payload, message.payload);
}

TEST(AirPlayDataStream, RefusesImpossibleSizes) {
    for (const char* header : {"0000001f", "00100001"}) {
        DataMessageReader reader;
        reader.feed(from_hex(header).value());
        EXPECT_THROW(reader.next(), Error) << header;
    }
}

TEST(AirPlayDataStream, MessagesWithAndWithoutTheirVarintPrefix) {
    Bytes framed = mrp::encode_frame(Bytes{0x08, 0x01});
    const Bytes second = mrp::encode_frame(Bytes{0x08, 0x02, 0x10});
    framed.insert(framed.end(), second.begin(), second.end());
    const auto messages = mrp_messages(mrp_payload(framed));
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[1], (Bytes{0x08, 0x02, 0x10}));
    // CONFIGURE_CONNECTION has been seen bare: a leading 0x08 is a message, not a length.
    const auto bare = mrp_messages(mrp_payload(Bytes{0x08, 0x27, 0x10}));
    ASSERT_EQ(bare.size(), 1u);
    EXPECT_EQ(bare[0], (Bytes{0x08, 0x27, 0x10}));
    // A request without params.data carries no MRP message.
    EXPECT_TRUE(mrp_messages(plist_encode(PlistDict{{"params", PlistDict{}}})).empty());
    EXPECT_THROW(mrp_messages(mrp_payload(Bytes{0x05, 0x08})), Error);  // cut short
}

TEST(AirPlayDataStream, BothSidesExchangeMessagesAndAcknowledgeEverySync) {
    const hap::SessionKeys keys = hap::airplay_datastream_keys(Bytes(32, 7), 1234567890123ULL);
    DataStreamFraming client(keys, 0x1'0000'0001ULL, "comm");
    DataStreamFraming device(hap::reversed(keys), 0x1'0000'0002ULL, "cmnd");

    std::vector<Bytes> received;
    Bytes ack;
    device.unframe(client.frame(Bytes{0x08, 0x0f}), received, ack);
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(received[0], (Bytes{0x08, 0x0f}));
    ASSERT_FALSE(ack.empty());

    // The acknowledgement reaches the client as no message at all.
    std::vector<Bytes> at_client;
    Bytes client_ack;
    client.unframe(ack, at_client, client_ack);
    EXPECT_TRUE(at_client.empty());
    EXPECT_TRUE(client_ack.empty());

    client.unframe(device.frame(Bytes{0x08, 0x10}), at_client, client_ack);
    ASSERT_EQ(at_client.size(), 1u);
    EXPECT_FALSE(client_ack.empty());

    // Bytes sealed with other keys break the channel.
    DataStreamFraming stranger(hap::airplay_datastream_keys(Bytes(32, 8), 1), 1, "comm");
    EXPECT_THROW(device.unframe(stranger.frame(Bytes{0x08, 0x01}), received, ack), Error);
}

}  // namespace
}  // namespace atv::airplay
