#include "airplay/plist.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"

namespace atv::airplay {
namespace {

// {"eventPort": 51234, "ok": true} written by Python's plistlib.dumps(fmt=FMT_BINARY).
constexpr std::string_view python_setup_reply =
    "62706c6973743030d201020304596576656e74506f7274526f6b11c81e09080d171a1d0000000000000101000000"
    "00000000050000000000000000000000000000001e";

TEST(AirPlayPlist, ReadsWhatPythonWrites) {
    const auto bytes = from_hex(python_setup_reply);
    ASSERT_TRUE(bytes);
    const PlistValue value = plist_decode(*bytes);
    ASSERT_NE(value.find("eventPort"), nullptr);
    EXPECT_EQ(value.find("eventPort")->integer(), 51230u);
    EXPECT_EQ(*value.find("ok"), PlistValue(true));
    EXPECT_EQ(value.find("missing"), nullptr);
}

TEST(AirPlayPlist, RoundTripsEveryTypeAirPlayUses) {
    const PlistValue value = PlistDict{
        {"streams", PlistArray{PlistDict{{"type", 130},
                                         {"seed", std::uint64_t{0xFEDCBA9876543210}},
                                         {"wantsDedicatedSocket", true},
                                         {"clientUUID", "1910A70F-DBC0-4242-AF95-115DB30604E1"}}}},
        {"params", PlistDict{{"data", Bytes{0, 1, 2, 0xff}}}},
        {"latency", 0.25},
        {"empty", PlistArray{}},
    };
    const Bytes encoded = plist_encode(value);
    EXPECT_EQ(to_string(ByteView(encoded).first(8)), "bplist00");
    const PlistValue decoded = plist_decode(encoded);
    EXPECT_EQ(decoded, value);
    const auto* stream = decoded.find("streams")->array();
    ASSERT_TRUE(stream != nullptr && stream->size() == 1);
    EXPECT_EQ((*stream)[0].find("seed")->integer(), 0xFEDCBA9876543210u);
    EXPECT_EQ(decoded.find("params")->find("data")->data()->size(), 4u);
}

TEST(AirPlayPlist, RefusesWhatIsNoBinaryPlist) {
    EXPECT_THROW(plist_decode(to_bytes("")), Error);
    EXPECT_THROW(plist_decode(to_bytes("<?xml version=\"1.0\"?><plist/>")), Error);
    Bytes truncated = plist_encode(PlistDict{{"a", 1}});
    truncated.resize(truncated.size() - 5);
    EXPECT_THROW(plist_decode(truncated), Error);
    Bytes garbage = to_bytes("bplist00");
    garbage.resize(64, 0xff);
    EXPECT_THROW(plist_decode(garbage), Error);
}

TEST(AirPlayPlist, EnforcesLimits) {
    PlistValue deep = PlistArray{};
    for (int i = 0; i < 40; ++i)
        deep = PlistArray{deep};
    const Bytes encoded = plist_encode(deep);
    EXPECT_THROW(plist_decode(encoded), Error);  // deeper than 32
    PlistLimits limits;
    limits.max_depth = 64;
    EXPECT_NO_THROW(plist_decode(encoded, limits));
    limits.max_objects = 10;
    EXPECT_THROW(plist_decode(encoded, limits), Error);
    limits = PlistLimits{};
    limits.max_input = encoded.size() - 1;
    EXPECT_THROW(plist_decode(encoded, limits), Error);
}

TEST(AirPlayPlist, RefusesDates) {
    // plistlib.dumps({"d": datetime(2020, 1, 1)}, fmt=FMT_BINARY)
    const auto bytes = from_hex(
        "62706c6973743030d1010251643341c1de0c40000000080b0d0000000000000101000000000000000300000000"
        "000000000000000000000016");
    ASSERT_TRUE(bytes);
    EXPECT_THROW(plist_decode(*bytes), Error);
}

}  // namespace
}  // namespace atv::airplay

namespace atv::airplay {
namespace {

// {"k": "a\0b"} and {"a\0b": 1} written by Python's plistlib: libplist 2.2 aborts on a string
// or key with a NUL inside, so the reader refuses them before libplist sees them.
constexpr std::string_view python_with_nul[] = {
    "62706c6973743030d10102516b53610062080b0d0000000000000101000000000000000300000000000000000000"
    "000000000011",
    "62706c6973743030d10102536100621001080b0f0000000000000101000000000000000300000000000000000000"
    "000000000011",
};

TEST(AirPlayPlist, RefusesAStringOrKeyWithANulInside) {
    for (const std::string_view hex : python_with_nul) {
        const auto bytes = from_hex(hex);
        ASSERT_TRUE(bytes);
        try {
            plist_decode(*bytes);
            ADD_FAILURE() << "a NUL inside a string was accepted: " << hex;
        } catch (const Error& error) {
            EXPECT_NE(std::string(error.what()).find("NUL"), std::string::npos) << error.what();
        }
    }
}

TEST(AirPlayPlist, ReadsStringsWithEveryOtherCharacter) {
    const PlistValue value(PlistDict{{"name", std::string("Wohnzimmer \xc3\xa4\x01")}});
    EXPECT_EQ(plist_decode(plist_encode(value)), value);
}

}  // namespace
}  // namespace atv::airplay
