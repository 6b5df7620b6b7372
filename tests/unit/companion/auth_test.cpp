#include "companion/auth.hpp"

#include <gtest/gtest.h>

#include "atv/error.hpp"
#include "companion/opack.hpp"

namespace atv::companion {
namespace {

TEST(CompanionAuth, SetupPayloadsCarryThePinPasswordType) {
    const OpackValue payload =
        opack_decode(encode_auth_payload(Bytes{0x06, 0x01, 0x01}, AuthExchange::setup, true, 0));
    EXPECT_EQ(payload.bytes_at("_pd"), (Bytes{0x06, 0x01, 0x01}));
    EXPECT_EQ(payload.int_at("_pwTy"), 1);
    EXPECT_EQ(payload.int_at("_x"), 0);
    EXPECT_EQ(payload.find("_auTy"), nullptr);
}

TEST(CompanionAuth, OnlyTheFirstVerifyPayloadCarriesTheAuthType) {
    const OpackValue first =
        opack_decode(encode_auth_payload(Bytes{1}, AuthExchange::verify, true, 0));
    EXPECT_EQ(first.int_at("_auTy"), 4);
    EXPECT_EQ(first.find("_pwTy"), nullptr);
    const OpackValue next =
        opack_decode(encode_auth_payload(Bytes{1}, AuthExchange::verify, false, 1));
    EXPECT_EQ(next.find("_auTy"), nullptr);
    EXPECT_EQ(next.int_at("_x"), 1);
}

TEST(CompanionAuth, FrameTypes) {
    EXPECT_EQ(auth_frame_type(AuthExchange::setup, true), FrameType::ps_start);
    EXPECT_EQ(auth_frame_type(AuthExchange::setup, false), FrameType::ps_next);
    EXPECT_EQ(auth_frame_type(AuthExchange::verify, true), FrameType::pv_start);
    EXPECT_EQ(auth_frame_type(AuthExchange::verify, false), FrameType::pv_next);
}

TEST(CompanionAuth, ReplyWithoutPairingDataIsRefused) {
    EXPECT_EQ(decode_auth_payload(opack_encode(OpackDict{{"_pd", Bytes{7}}})), Bytes{7});
    try {
        decode_auth_payload(opack_encode(OpackDict{{"_x", 1}}));
        ADD_FAILURE() << "a reply without _pd was accepted";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::connection_failed);
    }
}

}  // namespace
}  // namespace atv::companion
