#include "hap/tlv8.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"
#include "test_helpers.hpp"

namespace atv::hap {
namespace {

using test::hex;

TEST(Tlv8, EncodesItemsInOrder) {
    Tlv8 tlv;
    tlv.add(TlvType::method, std::uint8_t{0});
    tlv.add(TlvType::seq_no, std::uint8_t{1});
    tlv.add(TlvType::identifier, to_bytes("ab"));
    EXPECT_EQ(to_hex(tlv.encode()),
              "000100060101010261"
              "62");
}

TEST(Tlv8, LongValuesFragmentAndMergeBack) {
    Bytes value(600);
    for (std::size_t i = 0; i < value.size(); ++i) {
        value[i] = static_cast<std::uint8_t>(i);
    }
    Tlv8 tlv;
    tlv.add(TlvType::public_key, value);
    tlv.add(TlvType::seq_no, std::uint8_t{2});
    const Bytes encoded = tlv.encode();
    ASSERT_EQ(encoded.size(), 600U + 3 * 2 + 3);
    EXPECT_EQ(encoded[0], 0x03);
    EXPECT_EQ(encoded[1], 255);
    EXPECT_EQ(encoded[2 + 255], 0x03);
    EXPECT_EQ(encoded[2 + 255 + 1], 255);
    EXPECT_EQ(encoded[2 * 257], 0x03);
    EXPECT_EQ(encoded[2 * 257 + 1], 90);

    const Tlv8 decoded = Tlv8::decode(encoded);
    ASSERT_TRUE(decoded.get(TlvType::public_key).has_value());
    const auto merged = *decoded.get(TlvType::public_key);
    EXPECT_EQ(Bytes(merged.begin(), merged.end()), value);
    EXPECT_EQ(decoded.get_byte(TlvType::seq_no), 2);
}

TEST(Tlv8, ExactMultipleOf255KeepsOneItemPerChunk) {
    Tlv8 tlv;
    tlv.add(TlvType::salt, Bytes(255, 0xaa));
    EXPECT_EQ(tlv.encode().size(), 257U);
    Tlv8 empty;
    empty.add(TlvType::salt, Bytes{});
    EXPECT_EQ(to_hex(empty.encode()), "0200");
}

TEST(Tlv8, ConsecutiveSameTypeItemsMergeOnRead) {
    const Tlv8 decoded = Tlv8::decode(hex("0102aabb0101cc060104"));
    EXPECT_EQ(to_hex(*decoded.get(TlvType::identifier)), "aabbcc");
    EXPECT_EQ(decoded.get_byte(TlvType::seq_no), 4);
    EXPECT_FALSE(decoded.get(TlvType::proof).has_value());
}

TEST(Tlv8, LittleEndianIntegers) {
    const Tlv8 decoded = Tlv8::decode(hex("07010308022c01"));
    EXPECT_EQ(decoded.get_byte(TlvType::error), 3);
    EXPECT_EQ(decoded.get_uint(TlvType::back_off), 300U);
    EXPECT_FALSE(decoded.get_byte(TlvType::back_off).has_value());
}

TEST(Tlv8, TruncatedInputThrowsAClearError) {
    for (const auto* input : {"06", "0605010203", "0601020105aabb"}) {
        try {
            (void)Tlv8::decode(hex(input));
            FAIL() << "accepted truncated input " << input;
        } catch (const Error& error) {
            EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
            EXPECT_NE(std::string(error.what()).find("TLV8"), std::string::npos);
        }
    }
}

TEST(Tlv8, EmptyInputIsAnEmptyMessage) {
    EXPECT_TRUE(Tlv8::decode({}).empty());
}

}  // namespace
}  // namespace atv::hap
