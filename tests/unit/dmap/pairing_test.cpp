#include "dmap/pairing.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"
#include "dmap/connection.hpp"
#include "dmap/tags.hpp"

namespace atv::dmap {
namespace {

TEST(DmapPairing, CodeIsMd5OfGuidAndPinDigitsWithNuls) {
    // Reference values computed with Python's hashlib over the bytes protocols.md §7.2 names.
    EXPECT_EQ(pairing_code("0000000000000001", "1234"), "690e6ff61e0d7c747654a42aed17047d");
    EXPECT_EQ(pairing_code("0123456789abcdef", "0077"), "ec0b749a0fb3a79f4a4f878066d4f9d2");
}

TEST(DmapPairing, GuidsAreZeroPaddedAndUpperCase) {
    EXPECT_EQ(normalize_guid("0x1"), "0000000000000001");
    EXPECT_EQ(normalize_guid("0xabcdef0123456789"), "ABCDEF0123456789");
    EXPECT_THROW(normalize_guid("abcdef"), Error);
    EXPECT_THROW(normalize_guid("0x"), Error);
    EXPECT_THROW(normalize_guid("0x0123456789ABCDEF0"), Error);
    EXPECT_THROW(normalize_guid("0xXYZ"), Error);
    const std::string guid = random_guid();
    EXPECT_EQ(guid.size(), 16u);
    EXPECT_EQ(normalize_guid("0x" + guid), guid);
}

TEST(DmapPairing, CredentialsFormat) {
    EXPECT_NO_THROW(validate_credentials("0x0123456789ABCDEF"));
    EXPECT_NO_THROW(validate_credentials("12345678-90ab-CDEF-1234-567890abcdef"));
    for (const char* bad : {"", "0x123", "0x0123456789ABCDEFG", "0123456789ABCDEF",
                            "12345678-90ab-cdef-1234-567890abcde"}) {
        try {
            validate_credentials(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const Error& error) {
            EXPECT_EQ(error.kind(), ErrorKind::invalid_arguments);
            if (*bad != '\0') {
                EXPECT_EQ(std::string(error.what()).find(bad), std::string::npos);
            }
        }
    }
}

TEST(DmapPairing, ReplyCarriesGuidNameAndType) {
    const Tag reply = decode_one(pairing_reply("0123456789ABCDEF", "atvd test"), "cmpa");
    EXPECT_EQ(reply.find("cmpg")->as_uint(), 0x0123456789ABCDEFu);
    EXPECT_EQ(reply.find("cmnm")->as_string(), "atvd test");
    EXPECT_EQ(reply.find("cmty")->as_string(), "iPhone");
}

TEST(DmapPairing, PinsHaveUpToFourDigits) {
    asio::io_context io;
    DmapPairingHandler handler(io, PairingOptions{}, std::chrono::seconds(1));
    EXPECT_FALSE(handler.device_provides_pin());
    EXPECT_NO_THROW(handler.pin("7"));
    EXPECT_THROW(handler.pin("12345"), Error);
    EXPECT_THROW(handler.pin("12a4"), Error);
    EXPECT_FALSE(handler.has_paired());
    EXPECT_THROW((void)handler.credentials(), Error);
}

TEST(DmapPairing, BadGuidOptionIsRefusedAtOnce) {
    asio::io_context io;
    PairingOptions options;
    options.pairing_guid = "not-a-guid";
    EXPECT_THROW(DmapPairingHandler(io, options, std::chrono::seconds(1)), Error);
}

TEST(DmapLogin, TargetFollowsTheCredentialsForm) {
    EXPECT_EQ(login_target("0x0123456789ABCDEF"), "/login?pairing-guid=0x0123456789ABCDEF&hasFP=1");
    EXPECT_EQ(login_target("12345678-90ab-cdef-1234-567890abcdef"),
              "/login?hsgid=12345678-90ab-cdef-1234-567890abcdef&hasFP=1");
}

TEST(DmapLogin, ReplyGivesTheSessionId) {
    EXPECT_EQ(parse_login_reply(encode_container(
                  "mlog", {encode_uint("mstt", 200, 4), encode_uint("mlid", 77, 4)})),
              77u);
    EXPECT_THROW(parse_login_reply(encode_container("mlog", {encode_uint("mstt", 200, 4)})), Error);
    EXPECT_THROW(parse_login_reply(encode_uint("mlid", 77, 4)), Error);
}

}  // namespace
}  // namespace atv::dmap
