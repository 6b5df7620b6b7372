#include "dmap/tags.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"

namespace atv::dmap {
namespace {

Bytes hex(std::string_view text) {
    return from_hex(text).value();
}

void expect_malformed(std::string_view input_hex, const DecodeLimits& limits = {}) {
    try {
        decode(hex(input_hex), limits);
        ADD_FAILURE() << "accepted " << input_hex;
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed) << input_hex;
        EXPECT_NE(std::string(error.what()).find("DMAP"), std::string::npos);
    }
}

TEST(DmapTags, EncodesEachType) {
    EXPECT_EQ(to_hex(encode_uint("mstt", 200, 4)),
              "6d737474"
              "00000004"
              "000000c8");
    EXPECT_EQ(to_hex(encode_uint("cmpg", 0x0123456789ABCDEF, 8)),
              "636d7067"
              "00000008"
              "0123456789abcdef");
    EXPECT_EQ(to_hex(encode_uint("caps", 3, 1)),
              "63617073"
              "00000001"
              "03");
    EXPECT_EQ(to_hex(encode_bool("caia", true)),
              "63616961"
              "00000001"
              "01");
    EXPECT_EQ(to_hex(encode_string("cmty", "iPhone")),
              "636d7479"
              "00000006"
              "6950686f6e65");
    EXPECT_EQ(to_hex(encode_container("cmpa", {encode_string("cmnm", "")})),
              "636d7061"
              "00000008"
              "636d6e6d"
              "00000000");
}

TEST(DmapTags, RefusesBadEncoderArguments) {
    EXPECT_THROW(encode_uint("mstt", 1, 3), Error);
    EXPECT_THROW(encode_string("toolong", "x"), Error);
    EXPECT_THROW(encode_bool("abc", true), Error);
}

TEST(DmapTags, DecodesNestedContainers) {
    const Bytes login =
        encode_container("mlog", {encode_uint("mstt", 200, 4), encode_uint("mlid", 0x1234, 4),
                                  encode_container("mdcl", {encode_string("minm", "Kitchen")})});
    const Tag tag = decode_one(login, "mlog");
    EXPECT_EQ(tag.type, TagType::container);
    ASSERT_EQ(tag.children.size(), 3u);
    EXPECT_EQ(tag.find("mstt")->as_uint(), 200u);
    EXPECT_EQ(tag.find("mlid")->as_uint(), 0x1234u);
    EXPECT_EQ(tag.find("mdcl")->find("minm")->as_string(), "Kitchen");
    EXPECT_EQ(tag.find("nope"), nullptr);
    EXPECT_EQ(encode(tag), login);
}

TEST(DmapTags, UnknownTagsStayRaw) {
    const auto tags =
        decode(hex("7a7a7a7a"
                   "00000003"
                   "010203"
                   "63616961"
                   "00000001"
                   "00"));
    ASSERT_EQ(tags.size(), 2u);
    EXPECT_EQ(tags[0].type, TagType::raw);
    EXPECT_EQ(tags[0].value, (Bytes{1, 2, 3}));
    EXPECT_FALSE(tags[1].as_bool());
    EXPECT_THROW((void)tags[0].as_uint(), Error);
    EXPECT_THROW((void)tags[1].as_string(), Error);
}

TEST(DmapTags, EmptyInputIsNoTags) {
    EXPECT_TRUE(decode({}).empty());
}

TEST(DmapTags, RefusesTruncationAndOverlongLengths) {
    expect_malformed("6d7374");  // header cut short
    expect_malformed(
        "6d737474"
        "00000004"
        "0000");  // value cut short
    expect_malformed(
        "6d737474"
        "ffffffff"
        "00");  // claims 4 GiB
    expect_malformed(
        "6d6c6f67"
        "00000009"
        "6d737474"
        "00000004"
        "000000c8");  // child overruns
    expect_malformed(
        "6d6c6f67"
        "00000004"
        "6d737474");  // child header inside is short
}

TEST(DmapTags, RefusesBadWidthsAndNames) {
    expect_malformed(
        "6d737474"
        "00000003"
        "000000");  // 3-byte integer
    expect_malformed(
        "63616961"
        "00000002"
        "0000");  // 2-byte bool
    expect_malformed(
        "00737474"
        "00000000");  // unprintable name
}

TEST(DmapTags, EnforcesLimits) {
    // 20 nested mlog containers, each empty but for the next.
    Bytes nested = encode_container("mlog", {});
    for (int i = 0; i < 20; ++i)
        nested = encode_container("mlog", {nested});
    DecodeLimits limits;
    EXPECT_THROW(decode(nested, limits), Error);
    limits.max_depth = 32;
    EXPECT_NO_THROW(decode(nested, limits));
    limits.max_tags = 5;
    EXPECT_THROW(decode(nested, limits), Error);
    limits = {};
    limits.max_input = 4;
    EXPECT_THROW(decode(nested, limits), Error);
}

TEST(DmapTags, DecodeOneWantsExactlyThatTag) {
    EXPECT_THROW(decode_one(encode_uint("mstt", 1, 4), "mlog"), Error);
    Bytes two = encode_container("mlog", {});
    const Bytes more = encode_container("mlog", {});
    two.insert(two.end(), more.begin(), more.end());
    EXPECT_THROW(decode_one(two, "mlog"), Error);
}

}  // namespace
}  // namespace atv::dmap
