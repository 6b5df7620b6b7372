#include "companion/opack.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"

namespace atv::companion {
namespace {

Bytes hex(std::string_view text) {
    return from_hex(text).value();
}

void expect_encodes(const OpackValue& value, std::string_view expected_hex) {
    EXPECT_EQ(to_hex(opack_encode(value)), expected_hex);
    EXPECT_EQ(opack_decode(hex(expected_hex)), value);
}

void expect_malformed(std::string_view input_hex) {
    try {
        opack_decode(hex(input_hex));
        ADD_FAILURE() << "accepted " << input_hex;
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed) << input_hex;
        EXPECT_NE(std::string(error.what()).find("OPACK"), std::string::npos);
    }
}

TEST(Opack, Scalars) {
    expect_encodes(true, "01");
    expect_encodes(false, "02");
    expect_encodes(nullptr, "04");
    expect_encodes(-1, "07");
    expect_encodes(0, "08");
    expect_encodes(39, "2f");
    expect_encodes(40, "3028");
    expect_encodes(0xFF, "30ff");
    expect_encodes(0x100, "310001");
    expect_encodes(0x10000, "3200000100");
    expect_encodes(std::int64_t{0x100000000}, "330000000001000000");
    expect_encodes(std::int64_t{-2}, "33feffffffffffffff");
    expect_encodes(1.0, "36000000000000f03f");
}

TEST(Opack, DecodesFloat32AndSizedForms) {
    EXPECT_EQ(opack_decode(hex("350000803f")), OpackValue(1.0));
    EXPECT_EQ(opack_decode(hex("3005")), OpackValue(5));
    EXPECT_EQ(opack_decode(hex("610161")), OpackValue("a"));
    EXPECT_EQ(opack_decode(hex("62010061")), OpackValue("a"));
    EXPECT_EQ(opack_decode(hex("6301000061")), OpackValue("a"));
    EXPECT_EQ(opack_decode(hex("640100000061")), OpackValue("a"));
    EXPECT_EQ(opack_decode(hex("9101ac")), OpackValue(Bytes{0xAC}));
    EXPECT_EQ(opack_decode(hex("940100000000000000ac")), OpackValue(Bytes{0xAC}));
}

TEST(Opack, StringsAndData) {
    expect_encodes("", "40");
    expect_encodes("a", "4161");
    expect_encodes(std::string(32, 'x'), "60" + to_hex(to_bytes(std::string(32, 'x'))));
    expect_encodes(std::string(33, 'x'), "6121" + to_hex(to_bytes(std::string(33, 'x'))));
    expect_encodes(std::string(300, 'y'), "622c01" + to_hex(to_bytes(std::string(300, 'y'))));
    expect_encodes(Bytes{}, "70");
    expect_encodes(Bytes{0xAC}, "71ac");
    expect_encodes(Bytes(33, 0x01), "9121" + to_hex(Bytes(33, 0x01)));
    expect_encodes(Bytes(0x10000, 0x02), "9300000100" + to_hex(Bytes(0x10000, 0x02)));
}

TEST(Opack, UuidAndDate) {
    OpackUuid uuid;
    for (std::size_t i = 0; i < 16; ++i)
        uuid.bytes[i] = static_cast<std::uint8_t>(i);
    expect_encodes(uuid, "05000102030405060708090a0b0c0d0e0f");
    expect_encodes(OpackDate{0x0102030405060708}, "060807060504030201");
}

TEST(Opack, Collections) {
    expect_encodes(OpackArray{}, "d0");
    expect_encodes(OpackArray{1, 2, 3}, "d3090a0b");
    expect_encodes(OpackDict{{"a", false}}, "e1416102");
    expect_encodes(OpackDict{{"_pd", Bytes{0x06, 0x01, 0x01}}, {"_pwTy", 1}},
                   "e2435f706473060101455f7077547909");
    OpackArray fifteen(15, OpackValue(true));
    expect_encodes(fifteen,
                   "df010101010101010101010101010101"
                   "03");
    OpackDict many;
    std::string many_hex = "ef";
    for (int i = 0; i < 15; ++i) {
        many.emplace_back(std::string(1, static_cast<char>('a' + i)), i);
        many_hex += "41" + to_hex(Bytes{static_cast<std::uint8_t>('a' + i)}) +
                    to_hex(Bytes{static_cast<std::uint8_t>(0x08 + i)});
    }
    expect_encodes(many, many_hex + "03");
}

TEST(Opack, NestedRoundTrip) {
    const OpackValue message = OpackDict{
        {"_i", "_systemInfo"},
        {"_t", 2},
        {"_x", 12345},
        {"_c", OpackDict{{"_idsID", Bytes{1, 2, 3}},
                         {"_sv", "170.18"},
                         {"list", OpackArray{nullptr, 2.5, OpackArray{}, OpackDict{}}}}},
    };
    EXPECT_EQ(opack_decode(opack_encode(message)), message);
    EXPECT_EQ(message.string_at("_i"), "_systemInfo");
    EXPECT_EQ(message.int_at("_x"), 12345);
    EXPECT_EQ(message.find("_c")->bytes_at("_idsID"), (Bytes{1, 2, 3}));
    EXPECT_EQ(message.find("missing"), nullptr);
}

TEST(Opack, ResolvesReferences) {
    // ["abc", "abc"] with the second item as reference 0; small ints are never referable.
    EXPECT_EQ(opack_decode(hex("d243616263a0")), OpackValue(OpackArray{"abc", "abc"}));
    // {"_x": 1000, "b": 1000}: "_x" is object 0, 1000 object 1, "l" object 2.
    EXPECT_EQ(opack_decode(hex("e2425f7831e803416ca1")),
              OpackValue(OpackDict{{"_x", 1000}, {"l", 1000}}));
    // Wide index form.
    EXPECT_EQ(opack_decode(hex("d24161c100")), OpackValue(OpackArray{"a", "a"}));
}

TEST(Opack, RejectsMalformedInput) {
    expect_malformed("");
    expect_malformed("00");
    expect_malformed("03");
    expect_malformed("0101");
    expect_malformed("30");
    expect_malformed("4261");
    expect_malformed("64ffffffff61");
    expect_malformed("94ffffffffffffffff");
    expect_malformed("d3090a");
    expect_malformed("df0909");
    expect_malformed("e141");
    expect_malformed("a0");
    expect_malformed("d24161a1");
    expect_malformed("0500");
}

TEST(Opack, BoundsDepthAndAmplification) {
    std::string deep;
    for (int i = 0; i < 100; ++i)
        deep += "d1";
    expect_malformed(deep + "08");
    // One 1 KiB string referenced many times must hit the output budget.
    Bytes input{0xDF, 0x62, 0x00, 0x04};
    input.insert(input.end(), 1024, 0x41);
    for (int i = 0; i < 100; ++i)
        input.push_back(0xA0);
    input.push_back(0x03);
    OpackLimits limits;
    limits.max_input = 64 * 1024;
    EXPECT_THROW(opack_decode(input, limits), Error);
    limits.max_input = 1024 * 1024;
    EXPECT_EQ(opack_decode(input, limits).get_if<OpackArray>()->size(), 101u);
}

}  // namespace
}  // namespace atv::companion
