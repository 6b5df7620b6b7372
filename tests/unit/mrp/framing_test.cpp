#include "mrp/framing.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"

namespace atv::mrp {
namespace {

Bytes varint(std::uint64_t value) {
    Bytes out;
    append_varint(out, value);
    return out;
}

TEST(MrpFraming, VarintEncodingMatchesLeb128) {
    EXPECT_EQ(varint(0), (Bytes{0x00}));
    EXPECT_EQ(varint(127), (Bytes{0x7f}));
    EXPECT_EQ(varint(128), (Bytes{0x80, 0x01}));
    EXPECT_EQ(varint(300), (Bytes{0xac, 0x02}));
    EXPECT_EQ(varint(1ULL << 31), (Bytes{0x80, 0x80, 0x80, 0x80, 0x08}));
    EXPECT_EQ(varint(UINT64_MAX).size(), 10U);
}

TEST(MrpFraming, VarintRoundTrips) {
    for (std::uint64_t value :
         std::initializer_list<std::uint64_t>{0ULL, 1ULL, 127ULL, 128ULL, 16383ULL, 16384ULL,
                                              1ULL << 31, (1ULL << 63) + 5, UINT64_MAX}) {
        const Bytes encoded = varint(value);
        const VarintRead read = read_varint(encoded);
        EXPECT_EQ(read.value, value);
        EXPECT_EQ(read.length, encoded.size());
    }
}

TEST(MrpFraming, TruncatedVarintWaitsForMoreBytes) {
    const Bytes truncated{0x80, 0x80};
    EXPECT_EQ(read_varint(truncated).length, 0U);
    FrameReader reader;
    reader.feed(truncated);
    EXPECT_FALSE(reader.next().has_value());
    EXPECT_EQ(reader.buffered(), 2U);
}

TEST(MrpFraming, OverlongVarintIsAnError) {
    const Bytes eleven(11, 0x80);
    EXPECT_THROW(read_varint(eleven), Error);
    const Bytes too_big{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    EXPECT_THROW(read_varint(too_big), Error);
}

TEST(MrpFraming, FramesRoundTripInPieces) {
    const Bytes first{1, 2, 3};
    const Bytes second(300, 0xab);
    Bytes stream = encode_frame(first);
    const Bytes second_frame = encode_frame(second);
    stream.insert(stream.end(), second_frame.begin(), second_frame.end());
    const Bytes empty_frame = encode_frame({});
    stream.insert(stream.end(), empty_frame.begin(), empty_frame.end());

    FrameReader reader;
    std::vector<Bytes> frames;
    for (std::uint8_t byte : stream) {
        reader.feed(ByteView(&byte, 1));
        while (auto frame = reader.next()) {
            frames.push_back(*frame);
        }
    }
    ASSERT_EQ(frames.size(), 3U);
    EXPECT_EQ(frames[0], first);
    EXPECT_EQ(frames[1], second);
    EXPECT_TRUE(frames[2].empty());
    EXPECT_EQ(reader.buffered(), 0U);
}

TEST(MrpFraming, LengthOfTwoToThe31IsRefusedWithoutAllocating) {
    FrameReader reader;
    reader.feed(varint(1ULL << 31));
    try {
        (void)reader.next();
        FAIL() << "a 2 GiB frame was accepted";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
        EXPECT_NE(std::string(error.what()).find("exceeds the limit"), std::string::npos);
    }
}

TEST(MrpFraming, LimitIsInclusive) {
    FrameReader reader(4);
    reader.feed(encode_frame(Bytes{1, 2, 3, 4}));
    EXPECT_EQ(reader.next(), (Bytes{1, 2, 3, 4}));
    reader.feed(encode_frame(Bytes{1, 2, 3, 4, 5}));
    EXPECT_THROW((void)reader.next(), Error);
}

TEST(MrpFraming, PartialPayloadWaits) {
    FrameReader reader;
    Bytes frame = encode_frame(Bytes{9, 8, 7});
    reader.feed(ByteView(frame).first(3));
    EXPECT_FALSE(reader.next().has_value());
    reader.feed(ByteView(frame).subspan(3));
    EXPECT_EQ(reader.next(), (Bytes{9, 8, 7}));
}

// The view is the frame inside the reader, as next() would copy it; frames fed together come
// out one after the other.
TEST(MrpFraming, NextViewHandsOutFramesWithoutCopies) {
    FrameReader reader;
    Bytes wire = encode_frame(Bytes{1, 2});
    const Bytes second = encode_frame(Bytes{3, 4, 5});
    wire.insert(wire.end(), second.begin(), second.end());
    reader.feed(ByteView(wire).first(wire.size() - 1));
    auto frame = reader.next_view();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(Bytes(frame->begin(), frame->end()), (Bytes{1, 2}));
    EXPECT_FALSE(reader.next_view().has_value());  // the second is not whole yet
    reader.feed(ByteView(wire).last(1));
    frame = reader.next_view();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(Bytes(frame->begin(), frame->end()), (Bytes{3, 4, 5}));
    EXPECT_EQ(reader.buffered(), 0U);
    EXPECT_FALSE(reader.next_view().has_value());
}

}  // namespace
}  // namespace atv::mrp
