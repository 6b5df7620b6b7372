#include "companion/frames.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"

namespace atv::companion {
namespace {

TEST(CompanionFrames, HeaderIsTypeAndBigEndianLength) {
    const Bytes frame = encode_frame(FrameType::e_opack, Bytes(0x010203, 0));
    EXPECT_EQ(to_hex(ByteView(frame).first(4)), "08010203");
    EXPECT_EQ(frame.size(), 4u + 0x010203u);
    EXPECT_EQ(to_hex(encode_frame(FrameType::ps_start, Bytes{0xAA})), "03000001aa");
    EXPECT_THROW(make_frame_header(FrameType::e_opack, 0x1000000), Error);
}

TEST(CompanionFrames, RoundTripsByteByByte) {
    Bytes stream = encode_frame(FrameType::pv_start, Bytes{1, 2, 3});
    const Bytes second = encode_frame(FrameType::no_op, {});
    stream.insert(stream.end(), second.begin(), second.end());
    FrameReader reader;
    std::vector<FrameReader::Complete> frames;
    for (std::uint8_t byte : stream) {
        reader.feed(ByteView(&byte, 1));
        while (auto complete = reader.next())
            frames.push_back(std::move(*complete));
    }
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].frame.type, FrameType::pv_start);
    EXPECT_EQ(frames[0].frame.payload, (Bytes{1, 2, 3}));
    EXPECT_EQ(to_hex(frames[0].header), "05000003");
    EXPECT_EQ(frames[1].frame.type, FrameType::no_op);
    EXPECT_TRUE(frames[1].frame.payload.empty());
    EXPECT_EQ(reader.buffered(), 0u);
}

TEST(CompanionFrames, TruncatedFrameWaits) {
    FrameReader reader;
    reader.feed(Bytes{0x08, 0x00, 0x00, 0x05, 1, 2});
    EXPECT_FALSE(reader.next());
    reader.feed(Bytes{3, 4});
    EXPECT_FALSE(reader.next());
    reader.feed(Bytes{5});
    const auto complete = reader.next();
    ASSERT_TRUE(complete);
    EXPECT_EQ(complete->frame.payload, (Bytes{1, 2, 3, 4, 5}));
}

TEST(CompanionFrames, RefusesOversizedLengthBeforeThePayload) {
    FrameReader reader(1000);
    EXPECT_THROW(reader.feed(Bytes{0x08, 0x00, 0x03, 0xE9}), Error);
    FrameReader defaults;
    try {
        defaults.feed(Bytes{0x08, 0xFF, 0xFF, 0xFF});
        ADD_FAILURE() << "a 2^24-1 length was accepted by default";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    }
    FrameReader permissive(max_frame_length);
    EXPECT_NO_THROW(permissive.feed(Bytes{0x08, 0xFF, 0xFF, 0xFF}));
    EXPECT_FALSE(permissive.next());
}

}  // namespace
}  // namespace atv::companion
